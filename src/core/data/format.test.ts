import { describe, expect, it } from 'vitest';
import { CLAB_HEADER_BYTES, DatasetFormatError, encodeDataset, parseDataset } from './format';

const sample = {
  count: 3,
  height: 2,
  width: 2,
  channels: 1,
  numClasses: 4,
  labels: Uint8Array.of(0, 3, 1),
  pixels: Uint8Array.from({ length: 12 }, (_, i) => i * 20),
};

function parseError(bytes: Uint8Array): DatasetFormatError {
  try {
    parseDataset(bytes, 'test.bin');
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetFormatError);
    return err as DatasetFormatError;
  }
  throw new Error('parseDataset accepted a malformed file');
}

describe('CLAB format', () => {
  it('round-trips header, labels and pixels', () => {
    const bytes = encodeDataset(sample);
    expect(bytes.length).toBe(CLAB_HEADER_BYTES + 3 + 12);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('CLAB');
    const parsed = parseDataset(bytes);
    expect(parsed).toMatchObject({ count: 3, height: 2, width: 2, channels: 1, numClasses: 4 });
    expect([...parsed.labels]).toEqual([...sample.labels]);
    expect([...parsed.pixels]).toEqual([...sample.pixels]);
  });

  it('parses a view at a non-zero offset without copying', () => {
    const bytes = encodeDataset(sample);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 7);
    const parsed = parseDataset(padded.subarray(7));
    expect(parsed.pixels.buffer).toBe(padded.buffer);
    expect([...parsed.labels]).toEqual([0, 3, 1]);
  });

  it('rejects malformed files with a typed error naming the file and the problem', () => {
    const good = encodeDataset(sample);
    expect(parseError(good.subarray(0, 10)).message).toMatch(
      /^test\.bin: .*shorter than the header/,
    );

    const badMagic = good.slice();
    badMagic[0] = 0x3c; // '<', as when a server returns an HTML page
    expect(parseError(badMagic).reason).toMatch(/magic/);

    const badVersion = good.slice();
    badVersion[4] = 9;
    expect(parseError(badVersion).reason).toMatch(/version 9/);

    expect(parseError(good.subarray(0, good.length - 1)).reason).toMatch(/implies/);

    const badLabel = good.slice();
    badLabel[CLAB_HEADER_BYTES + 1] = 4;
    expect(parseError(badLabel).reason).toMatch(/label 4 at index 1/);
  });

  it('refuses to encode inconsistent arrays', () => {
    expect(() => encodeDataset({ ...sample, count: 4 })).toThrow(RangeError);
  });
});
