import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageSize } from './image-size';

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(
    parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)),
  );
const be32 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const le16 = (v: number) => [v & 255, v >>> 8];
const le32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];

describe('imageSize', () => {
  it('reads the size from PNG, GIF, BMP, WebP (three kinds) and JPEG headers', () => {
    const png = bytes([0x89], 'PNG', [13, 10, 26, 10], be32(13), 'IHDR', be32(30000), be32(20000));
    expect(imageSize(png)).toEqual({ width: 30000, height: 20000 });
    expect(imageSize(bytes('GIF89a', le16(640), le16(480)))).toEqual({ width: 640, height: 480 });
    const bmp = bytes('BM', new Array(16).fill(0), le32(28), le32(-28 >>> 0), [0, 0]);
    expect(imageSize(bmp)).toEqual({ width: 28, height: 28 });
    const riff = (chunk: string, body: number[]) =>
      bytes('RIFF', le32(100), 'WEBP', chunk, le32(body.length), body);
    // VP8L: 14 bits width − 1, 14 bits height − 1 after the 0x2f signature.
    const vp8l = riff('VP8L', [
      0x2f,
      ...le32(((480 - 1) << 14) | (640 - 1)),
      ...new Array(8).fill(0),
    ]);
    expect(imageSize(vp8l)).toEqual({ width: 640, height: 480 });
    const vp8x = riff('VP8X', [0, 0, 0, 0, ...[99, 0, 0], ...[49, 0, 0], 0, 0]);
    expect(imageSize(vp8x)).toEqual({ width: 100, height: 50 });
    const vp8 = riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(320), ...le16(240), 0, 0]);
    expect(imageSize(vp8)).toEqual({ width: 320, height: 240 });
    // SOI, an APP0 segment, then SOF2 (progressive): height 600, width 800.
    const jpeg = bytes(
      [0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0xc2, 0, 11, 8],
      [2, 88, 3, 32],
      [3, 1],
    );
    expect(imageSize(jpeg)).toEqual({ width: 800, height: 600 });
  });

  it('says nothing about other or cut-short files, and never throws', () => {
    expect(imageSize(bytes('not an image'))).toBeUndefined();
    expect(imageSize(bytes([0x89], 'PNG', [13, 10]))).toBeUndefined();
    expect(imageSize(bytes([0xff, 0xd8, 0xff, 0xe0, 0, 200]))).toBeUndefined();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('', 'GIF89a', 'BM', 'RIFF'),
        (tail, head) => {
          imageSize(bytes(head, [...tail]));
        },
      ),
      { seed: 7, numRuns: 2000 },
    );
  });
});
