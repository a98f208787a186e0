// What the image decoding fuzzer (e2e/fuzz-images.spec.ts) feeds the run worker, and how its
// outcomes are counted. The decoding itself needs Chromium (createImageBitmap, OffscreenCanvas);
// everything here is plain Node so the recipes are drawn and the files built outside the page.
// PNG, JPEG and WebP seeds are encoded by the page's canvas from `pictures()`; BMP and GIF are
// written here, and so are the decompression bombs: headers claiming huge images over a few
// bytes of data.
import fc from 'fast-check';
import { zipSync, zlibSync, type Zippable } from 'fflate';
import { byteMutation, concat, mutateBytes, type ByteMutation } from './mutate';
import { describeRecipe, describeRefused, mib } from './report';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'bmp' | 'gif';

/** An image to encode: RGBA rows. */
export interface Picture {
  name: string;
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface ImageSeed {
  /** e.g. 'png 28x28 grey', 'gif bomb 65535x65535'. */
  name: string;
  format: ImageFormat;
  /** A header claiming a huge image over a few bytes: not expected to decode. */
  bomb: boolean;
  bytes: Uint8Array;
}

/** A file of a fuzz input, as the page gets it (an UploadFile's path and bytes). */
export interface FuzzFile {
  path: string;
  bytes: Uint8Array;
}

function picture(name: string, width: number, height: number, kind: 'grey' | 'colour' | 'alpha') {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = 4 * (y * width + x);
      const grey = (x * 37 + y * 91) & 255;
      if (kind === 'grey') rgba.set([grey, grey, grey, 255], p);
      else {
        const r = Math.round((255 * x) / Math.max(1, width - 1));
        const g = Math.round((255 * y) / Math.max(1, height - 1));
        const a = kind === 'alpha' ? ((x + y) % 3 === 0 ? 0 : ((x * 53) & 255) | 64) : 255;
        rgba.set([r, g, ((x ^ y) * 16) & 255, a], p);
      }
    }
  }
  return { name: `${width}x${height} ${kind}`.concat(name ? ` ${name}` : ''), width, height, rgba };
}

/** The pictures every format is seeded with: tiny, MNIST-sized, odd, one long side; grey, colour, alpha. */
export function pictures(): Picture[] {
  return [
    picture('', 1, 1, 'alpha'),
    picture('', 28, 28, 'grey'),
    picture('', 28, 28, 'colour'),
    picture('', 7, 13, 'alpha'),
    picture('', 3, 2, 'colour'),
    picture('wide', 3000, 2, 'grey'),
  ];
}

const isGrey = (p: Picture) => p.rgba.every((v, i) => i % 4 === 3 || v === p.rgba[i - (i % 4)]);
const hasAlpha = (p: Picture) => p.rgba.some((v, i) => i % 4 === 3 && v < 255);

/**
 * A Windows bitmap (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes): 8-bit with a grey
 * palette for grey pictures, 32-bit BGRA with alpha, 24-bit BGR otherwise. `claim` writes other
 * dimensions into the header than the rows hold (a bomb).
 */
export function encodeBmp(p: Picture, claim?: { width: number; height: number }): Uint8Array {
  const bpp = hasAlpha(p) ? 32 : isGrey(p) ? 8 : 24;
  const rowBytes = Math.ceil((p.width * bpp) / 32) * 4;
  const paletteBytes = bpp === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const out = new Uint8Array(offset + rowBytes * p.height);
  const v = new DataView(out.buffer);
  out.set([0x42, 0x4d]); // 'BM'
  v.setUint32(2, out.length, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, claim?.width ?? p.width, true);
  v.setInt32(22, claim?.height ?? p.height, true);
  v.setUint16(26, 1, true); // planes
  v.setUint16(28, bpp, true);
  v.setUint32(30, 0, true); // BI_RGB
  v.setUint32(34, rowBytes * p.height, true);
  v.setInt32(38, 2835, true); // 72 dpi
  v.setInt32(42, 2835, true);
  v.setUint32(46, bpp === 8 ? 256 : 0, true);
  for (let i = 0; bpp === 8 && i < 256; i++) out.set([i, i, i, 0], 54 + 4 * i);
  for (let y = 0; y < p.height; y++) {
    const row = offset + (p.height - 1 - y) * rowBytes;
    for (let x = 0; x < p.width; x++) {
      const [r, g, b, a] = p.rgba.subarray(4 * (y * p.width + x), 4 * (y * p.width + x) + 4);
      if (bpp === 8) out[row + x] = r;
      else out.set(bpp === 24 ? [b, g, r] : [b, g, r, a], row + x * (bpp / 8));
    }
  }
  return out;
}

/**
 * A GIF89a with a 256-colour global table (greys, or a 6×6×6 cube and greys), index 255
 * transparent when the picture has alpha. The LZW stream holds only literal codes: a clear
 * code every 254 keeps the code size at 9 bits, so no string table is needed to write it.
 */
export function encodeGif(p: Picture, claim?: { width: number; height: number }): Uint8Array {
  const grey = isGrey(p);
  const alpha = hasAlpha(p);
  const palette = new Uint8Array(768);
  for (let i = 0; i < 256; i++) {
    const cube = [Math.floor(i / 36) * 51, (Math.floor(i / 6) % 6) * 51, (i % 6) * 51];
    palette.set(grey || i >= 216 ? [i, i, i] : cube, 3 * i);
  }
  const indices = new Uint8Array(p.width * p.height);
  for (let k = 0; k < indices.length; k++) {
    const [r, g, b, a] = p.rgba.subarray(4 * k, 4 * k + 4);
    const q = (v: number) => Math.round(v / 51);
    indices[k] =
      alpha && a < 128 ? 255 : grey ? Math.min(r, alpha ? 254 : 255) : q(r) * 36 + q(g) * 6 + q(b);
  }
  // Codes of 9 bits, least significant bit first.
  const codes: number[] = [256];
  indices.forEach((index, k) => {
    if (k > 0 && k % 254 === 0) codes.push(256);
    codes.push(index);
  });
  codes.push(257);
  const lzw = new Uint8Array(Math.ceil((codes.length * 9) / 8));
  codes.forEach((code, k) => {
    for (let bit = 0; bit < 9; bit++) {
      if ((code >> bit) & 1) lzw[(k * 9 + bit) >> 3] |= 1 << ((k * 9 + bit) & 7);
    }
  });
  const blocks: number[] = [];
  for (let at = 0; at < lzw.length; at += 255) {
    const block = lzw.subarray(at, at + 255);
    blocks.push(block.length, ...block);
  }
  const [w, h] = [claim?.width ?? p.width, claim?.height ?? p.height];
  const u16 = (n: number) => [n & 255, n >> 8];
  return concat([
    new TextEncoder().encode('GIF89a'),
    new Uint8Array([...u16(w), ...u16(h), 0xf7, 0, 0]),
    palette,
    // Graphic control extension: index 255 transparent.
    new Uint8Array(alpha ? [0x21, 0xf9, 4, 1, 0, 0, 255, 0] : []),
    new Uint8Array([0x2c, 0, 0, 0, 0, ...u16(w), ...u16(h), 0, 8]),
    new Uint8Array([...blocks, 0, 0x3b]),
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat([new TextEncoder().encode(type), data]);
  const out = new Uint8Array(8 + data.length + 4);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(body, 4);
  v.setUint32(8 + data.length, crc32(body));
  return out;
}

/**
 * A valid-looking RGBA PNG whose IHDR claims width×height over one small IDAT (1 KiB of
 * zeros, deflated): a decoder that allocates the claimed size first allocates it all.
 */
export function pngBomb(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, no filter method, no interlace
  return concat([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlibSync(new Uint8Array(1024))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A baseline or progressive JPEG with its frame header's dimensions replaced. */
export function jpegClaiming(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpeg.slice();
  for (let at = 2; at + 9 < out.length;) {
    if (out[at] !== 0xff) break;
    const marker = out[at + 1];
    const length = (out[at + 2] << 8) | out[at + 3];
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.set([height >> 8, height & 255, width >> 8, width & 255], at + 5);
      return out;
    }
    at += 2 + length;
  }
  throw new Error('No JPEG frame header (SOF0-2) found');
}

/** A lossy WebP ('VP8 ', possibly inside VP8X) with its frame (and canvas) dimensions replaced. */
export function webpClaiming(webp: Uint8Array, width: number, height: number): Uint8Array {
  const out = webp.slice();
  const v = new DataView(out.buffer);
  const fourcc = (at: number) => String.fromCharCode(...out.subarray(at, at + 4));
  for (
    let at = 12;
    at + 8 <= out.length;
    at += 8 + v.getUint32(at + 4, true) + (v.getUint32(at + 4, true) & 1)
  ) {
    if (fourcc(at) === 'VP8X') {
      out.set([...u24(width - 1), ...u24(height - 1)], at + 8 + 4);
    } else if (fourcc(at) === 'VP8 ') {
      // Frame tag (3 bytes) and start code (3 bytes), then 14-bit width and height.
      v.setUint16(at + 8 + 6, width & 0x3fff, true);
      v.setUint16(at + 8 + 8, height & 0x3fff, true);
      return out;
    }
  }
  throw new Error("No lossy WebP frame ('VP8 ') found");
}

const u24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];

/**
 * Every seed: each picture in each format (PNG, JPEG and WebP from the page, in `encoded`, by
 * picture then format), then the bombs. The order is fixed: recipes pick seeds by index.
 */
export function imageSeeds(
  pics: Picture[],
  encoded: { png: Uint8Array; jpeg: Uint8Array; webp: Uint8Array }[],
): ImageSeed[] {
  const seeds: ImageSeed[] = pics.flatMap((p, i) => [
    { name: `png ${p.name}`, format: 'png', bomb: false, bytes: encoded[i].png },
    { name: `jpeg ${p.name}`, format: 'jpeg', bomb: false, bytes: encoded[i].jpeg },
    { name: `webp ${p.name}`, format: 'webp', bomb: false, bytes: encoded[i].webp },
    { name: `bmp ${p.name}`, format: 'bmp', bomb: false, bytes: encodeBmp(p) },
    { name: `gif ${p.name}`, format: 'gif', bomb: false, bytes: encodeGif(p) },
  ]);
  const small = pics.findIndex((p) => p.width === 28 && p.height === 28 && isGrey(p));
  const opaque = pics.findIndex((p) => p.width === 28 && !hasAlpha(p) && !isGrey(p));
  const bomb = (format: ImageFormat, w: number, h: number, bytes: Uint8Array): ImageSeed => ({
    name: `${format} bomb ${w}x${h}`,
    format,
    bomb: true,
    bytes,
  });
  return [
    ...seeds,
    bomb('png', 30000, 30000, pngBomb(30000, 30000)),
    bomb('png', 16384, 16384, pngBomb(16384, 16384)),
    bomb('png', 2 ** 31 - 1, 1, pngBomb(2 ** 31 - 1, 1)),
    bomb('jpeg', 65500, 65500, jpegClaiming(encoded[small].jpeg, 65500, 65500)),
    bomb('webp', 16383, 16383, webpClaiming(encoded[opaque].webp, 16383, 16383)),
    bomb('bmp', 30000, 30000, encodeBmp(pics[small], { width: 30000, height: 30000 })),
    bomb('bmp', 30000, -30000, encodeBmp(pics[small], { width: 30000, height: -30000 })),
    bomb('gif', 65535, 65535, encodeGif(pics[small], { width: 65535, height: 65535 })),
  ];
}

const EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'bmp', 'gif', 'PNG', 'JPG'];
const OWN_EXTENSION: Record<ImageFormat, string> = {
  png: 'png',
  jpeg: 'jpg',
  webp: 'webp',
  bmp: 'bmp',
  gif: 'gif',
};

export type FileSource =
  /** A valid seed (the bombs left out), mutated. */
  | { kind: 'seed'; seed: number; mutations: ByteMutation[] }
  /** A decompression bomb, mutated: rarer, since the ones that do allocate take seconds. */
  | { kind: 'bomb'; seed: number; mutations: ByteMutation[] }
  /** Random bytes, behind the first 16 bytes of a valid seed (its signature and some header) or not. */
  | { kind: 'random'; magic: number | null; bytes: Uint8Array }
  | { kind: 'empty' };

export interface FileRecipe {
  source: FileSource;
  /**
   * An image extension (EXTENSIONS, by index), or null for the source format's own. Chromium
   * decodes by content; the extension only decides whether the file counts as an image.
   */
  extension: number | null;
}

export interface ImageRecipe {
  /** Each file in a class folder of its own; a single file gets a valid PNG in a second class. */
  files: FileRecipe[];
  /** The class folders zipped, as an uploaded zip (14 % of inputs: fc.nat(7) favours 0). */
  zip: boolean;
}

const fileRecipe: fc.Arbitrary<FileRecipe> = fc.record({
  source: fc.oneof(
    {
      weight: 36,
      arbitrary: fc.record({
        kind: fc.constant('seed' as const),
        seed: fc.nat(),
        mutations: fc.array(byteMutation, { maxLength: 4 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bomb' as const),
        seed: fc.nat(),
        mutations: fc.array(byteMutation, { maxLength: 4 }),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('random' as const),
        magic: fc.option(fc.nat()),
        bytes: fc.uint8Array({ maxLength: 1024 }),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'empty' as const }) },
  ),
  // null (the format's own extension) for 1 file in 8.
  extension: fc.option(fc.nat(), { freq: 8 }),
});

export const imageRecipes: fc.Arbitrary<ImageRecipe> = fc.record({
  files: fc.array(fileRecipe, { minLength: 1, maxLength: 3 }),
  zip: fc.nat(7).map((n) => n === 0),
});

/** The seed a file starts from: a valid one or a bomb by its index (wrapped), or none. */
function seedOf(source: FileSource, seeds: ImageSeed[]): ImageSeed | undefined {
  if (source.kind === 'empty') return undefined;
  const index = source.kind === 'random' ? source.magic : source.seed;
  if (index === null) return undefined;
  const from = seeds.filter((s) => s.bomb === (source.kind === 'bomb'));
  return from[index % from.length];
}

/** What an input is counted under: its first file's format, 'bomb', 'random' or 'empty'. */
export function inputGroup(recipe: ImageRecipe, seeds: ImageSeed[]): string {
  const { source } = recipe.files[0];
  return source.kind === 'seed' ? seedOf(source, seeds)!.format : source.kind;
}

/** An input's files in words: what each started from, and its path and size. */
export function describeInput(recipe: ImageRecipe, seeds: ImageSeed[]): string {
  const built = recipe.zip ? undefined : buildImageFiles(recipe, seeds);
  const parts = recipe.files.map((f, i) => {
    const seed = seedOf(f.source, seeds);
    const from =
      f.source.kind === 'empty'
        ? 'empty'
        : f.source.kind === 'random'
          ? `${f.source.bytes.length} random bytes${seed ? ` behind ${seed.name}'s first 16` : ''}`
          : `${seed!.name}, ${f.source.mutations.length} mutations`;
    return built ? `${built[i].path} (${built[i].bytes.length} bytes): ${from}` : from;
  });
  return `${parts.join('; ')}${recipe.zip ? ' (zipped)' : ''}`;
}

/** The upload a recipe stands for: files under `set/<class>/`, or `set.zip` holding them. */
export function buildImageFiles(recipe: ImageRecipe, seeds: ImageSeed[]): FuzzFile[] {
  const files = recipe.files.map((f, i): FuzzFile => {
    const s = f.source;
    const seed = seedOf(s, seeds);
    const bytes =
      s.kind === 'empty'
        ? new Uint8Array(0)
        : s.kind === 'random'
          ? concat([seed?.bytes.subarray(0, 16) ?? new Uint8Array(0), s.bytes])
          : mutateBytes(seed!.bytes, s.mutations);
    const own = OWN_EXTENSION[seed?.format ?? 'png'];
    const extension = f.extension === null ? own : EXTENSIONS[f.extension % EXTENSIONS.length];
    return { path: `set/${i}/image-${i}.${extension}`, bytes };
  });
  if (files.length === 1) {
    const companion = seeds.find((s) => s.format === 'png' && !s.bomb)!;
    files.push({ path: 'set/1/companion.png', bytes: companion.bytes });
  }
  if (!recipe.zip) return files;
  const tree: Zippable = {};
  for (const f of files) tree[f.path] = f.bytes;
  return [{ path: 'set.zip', bytes: zipSync(tree) }];
}

/** How one input ended in the page. */
export type PageOutcome =
  | { kind: 'done'; ms: number }
  | {
      kind: 'failed';
      ms: number;
      error: { name: string; message: string; hint?: string; code?: string };
    }
  /** No answer within the time limit. */
  | { kind: 'hang'; ms: number }
  /** The worker raised an 'error' event, or the page itself crashed. */
  | { kind: 'crash'; ms: number; reason: string };

export interface ImageGroupReport {
  group: string;
  inputs: number;
  decoded: number;
  /**
   * Typed, readable errors (a ClabError's JSON: a code, a message and a hint) by code: the
   * build mangles class names, so `name` reads 'C' where the source says InvalidInputError.
   */
  refused: Record<string, number>;
  uncaught: number;
  hangs: number;
  crashes: number;
  slowestMs: number;
  /** The slowest input's index in the pass (FUZZ_AT reruns it). */
  slowestIndex: number;
  /** All inputs' times together, for the mean. */
  totalMs: number;
}

export interface ImageFailure {
  index: number;
  group: string;
  kind: 'uncaught' | 'hang' | 'crash';
  message: string;
  recipe: string;
}

export interface ImagePassReport {
  seed: number;
  groups: ImageGroupReport[];
  failures: ImageFailure[];
  /** Refusal messages with their quoted parts (file and folder names) as '…', by count. */
  refusals: Record<string, number>;
  seconds: number;
  /** The largest resident set any Chromium process reached (VmHWM), if it could be read. */
  peakRssBytes?: number;
  /** That process's type ('renderer', 'GPU', …). */
  peakRssProcess?: string;
}

/** The outcome counter of one pass; `add` each input's outcome in any order. */
export class ImagePass {
  private readonly groups = new Map<string, ImageGroupReport>();
  readonly failures: ImageFailure[] = [];
  private readonly refusals: Record<string, number> = {};

  constructor(readonly seed: number) {}

  add(index: number, group: string, recipe: ImageRecipe, outcome: PageOutcome): void {
    const g =
      this.groups.get(group) ??
      this.groups
        .set(group, {
          group,
          inputs: 0,
          decoded: 0,
          refused: {},
          uncaught: 0,
          hangs: 0,
          crashes: 0,
          slowestMs: 0,
          slowestIndex: -1,
          totalMs: 0,
        })
        .get(group)!;
    g.inputs++;
    if (Number.isFinite(outcome.ms)) {
      if (outcome.ms > g.slowestMs) [g.slowestMs, g.slowestIndex] = [outcome.ms, index];
      g.totalMs += outcome.ms;
    }
    const fail = (kind: ImageFailure['kind'], message: string) => {
      this.failures.push({ index, group, kind, message, recipe: describeRecipe(recipe) });
    };
    switch (outcome.kind) {
      case 'done':
        g.decoded++;
        return;
      case 'failed': {
        const { name, message, hint, code } = outcome.error;
        if (code && message.trim() && hint?.trim()) {
          g.refused[code] = (g.refused[code] ?? 0) + 1;
          const shape = message.replace(/'[^']*'/g, "'…'");
          this.refusals[shape] = (this.refusals[shape] ?? 0) + 1;
        } else {
          g.uncaught++;
          fail('uncaught', `${name}: ${message}${hint ? ` (hint: ${hint})` : ''}`);
        }
        return;
      }
      case 'hang':
        g.hangs++;
        fail('hang', `no answer in ${outcome.ms.toFixed(0)} ms`);
        return;
      case 'crash':
        g.crashes++;
        fail('crash', outcome.reason);
        return;
    }
  }

  report(seconds: number, peakRssBytes?: number, peakRssProcess?: string): ImagePassReport {
    const order = ['png', 'jpeg', 'webp', 'bmp', 'gif', 'bomb', 'random', 'empty'];
    const groups = [...this.groups.values()].sort(
      (a, b) => order.indexOf(a.group) - order.indexOf(b.group),
    );
    return {
      seed: this.seed,
      groups,
      failures: this.failures,
      refusals: this.refusals,
      seconds,
      peakRssBytes,
      peakRssProcess,
    };
  }
}

export const imagePassFailed = (r: ImagePassReport): boolean => r.failures.length > 0;

/** The report as text: one line per group, a total, then the first failures with how to repeat them. */
export function formatImageReport(r: ImagePassReport, firstFailures = 5): string {
  const sum = (f: (g: ImageGroupReport) => number) => r.groups.reduce((n, g) => n + f(g), 0);
  const refusedAll: Record<string, number> = {};
  for (const g of r.groups) {
    for (const [name, n] of Object.entries(g.refused))
      refusedAll[name] = (refusedAll[name] ?? 0) + n;
  }
  const slowest = r.groups.reduce((a, g) => (g.slowestMs > a.slowestMs ? g : a), r.groups[0]);
  const line = (name: string, g: Omit<ImageGroupReport, 'group'>) =>
    `${name}: ${g.inputs} inputs, ${g.decoded} decoded, refused (${describeRefused(g.refused)}), ` +
    `${g.uncaught} uncaught, ${g.hangs} hangs, ${g.crashes} worker crashes, ` +
    `mean ${(g.totalMs / Math.max(1, g.inputs)).toFixed(1)} ms, slowest ${g.slowestMs.toFixed(0)} ms (#${g.slowestIndex})`;
  const lines = r.groups.map((g) => line(g.group, g));
  lines.push(
    line('total', {
      inputs: sum((g) => g.inputs),
      decoded: sum((g) => g.decoded),
      refused: refusedAll,
      uncaught: sum((g) => g.uncaught),
      hangs: sum((g) => g.hangs),
      crashes: sum((g) => g.crashes),
      slowestMs: slowest?.slowestMs ?? 0,
      slowestIndex: slowest?.slowestIndex ?? -1,
      totalMs: sum((g) => g.totalMs),
    }) +
      ` — ${r.seconds.toFixed(0)} s (seed ${r.seed})` +
      (r.peakRssBytes === undefined
        ? ''
        : `; peak RSS of a Chromium process ${mib(r.peakRssBytes)} (${r.peakRssProcess ?? '?'})`),
  );
  lines.push(
    'refusals:',
    ...Object.entries(r.refusals)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([shape, n]) => `  ${n} × ${shape}`),
  );
  for (const f of r.failures.slice(0, firstFailures)) {
    lines.push(
      `\n${f.kind} in ${f.group} #${f.index} (FUZZ_SEED=${r.seed} FUZZ_AT=${f.index} npx playwright test e2e/fuzz-images.spec.ts):`,
      `  ${f.message}`,
      `  recipe: ${f.recipe}`,
    );
  }
  return lines.join('\n');
}
