// A prepared split fetched in parts (the page): its labels at once, its images only when a run
// asks for them, a gzipped file of a hundred images at a time (scripts/prepare-data.mjs writes
// them beside the .bin). A few-shot run then fetches its K shots and the test images it
// evaluates on, not the whole 47 MB training file; a run that needs most of a split fetches it
// as one gzipped file.
import type { AssetFolder } from '../assets';
import { DatasetFormatError } from './format';

/** The manifest's description of a split's parts. */
export interface PartsEntry {
  /** Folder of labels.gz and 0000.gz, 0001.gz, … beside manifest.json. */
  dir: string;
  /** Images per part (the last holds the rest). */
  images: number;
  count: number;
  /** Their gzipped bytes, all together. */
  bytes: number;
  /** Every image in one gzipped file, for a run that needs most of them (absent in old manifests). */
  whole?: string;
  wholeBytes?: number;
}

/** What a split fetched in parts adds to its arrays (see Dataset.ensure / Dataset.has). */
export interface PartialPixels {
  labels: Uint8Array;
  /** Full size from the start; an image's bytes are zero until its part is fetched. */
  pixels: Uint8Array;
  ensure(indices?: ArrayLike<number>): Promise<void>;
  has(index: number): boolean;
}

/** Parts fetched at once: a browser's connections to one host, a little more. */
const CONCURRENT = 8;

const partName = (k: number) => `${String(k).padStart(4, '0')}.gz`;

/** Gunzipped bytes; bytes that are not gzip are returned as they are (a server that sent the file with Content-Encoding: gzip has had it inflated by fetch already). */
async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A split's labels, and its pixels filled part by part as `ensure` asks for them. `missing`
 * makes the error for a file that is not there.
 */
export async function openParts(
  source: AssetFolder,
  parts: PartsEntry,
  shape: { count: number; height: number; width: number; channels: number },
  missing: (where: string) => Error,
): Promise<PartialPixels> {
  const { count } = shape;
  const imageBytes = shape.height * shape.width * shape.channels;
  const read = async (file: string) => {
    const path = `${parts.dir}/${file}`;
    const bytes = await source.read(path);
    if (!bytes) throw missing(`${source.location}/${path}`);
    return gunzip(bytes);
  };
  const labels = await read('labels.gz');
  if (labels.length !== count) {
    throw new DatasetFormatError(
      `${source.location}/${parts.dir}/labels.gz`,
      `${labels.length} labels for ${count} images`,
    );
  }
  const pixels = new Uint8Array(count * imageBytes);
  const present = new Uint8Array(parts.count);
  const pending = new Map<number, Promise<void>>();
  let wholePending: Promise<void> | undefined;
  const fetchWhole = (file: string): Promise<void> => {
    wholePending ??= read(file).then((raw) => {
      if (raw.length !== pixels.length) {
        throw new DatasetFormatError(
          `${source.location}/${parts.dir}/${file}`,
          `${raw.length} bytes where ${pixels.length} were expected`,
        );
      }
      pixels.set(raw);
      present.fill(1);
    });
    // A failed fetch is tried again when next asked for.
    wholePending.catch(() => (wholePending = undefined));
    return wholePending;
  };
  const fetchPart = (k: number): Promise<void> => {
    let part = pending.get(k);
    if (!part) {
      part = read(partName(k)).then((raw) => {
        const expected = Math.min(parts.images, count - k * parts.images) * imageBytes;
        if (raw.length !== expected) {
          throw new DatasetFormatError(
            `${source.location}/${parts.dir}/${partName(k)}`,
            `${raw.length} bytes where ${expected} were expected`,
          );
        }
        pixels.set(raw, k * parts.images * imageBytes);
        present[k] = 1;
      });
      // A failed part is fetched again when next asked for.
      part.catch(() => pending.delete(k));
      pending.set(k, part);
    }
    return part;
  };
  return {
    labels,
    pixels,
    has: (i) => present[Math.floor(i / parts.images)] === 1,
    async ensure(indices) {
      const wanted = new Set<number>();
      if (indices) {
        for (let i = 0; i < indices.length; i++) wanted.add(Math.floor(indices[i] / parts.images));
      } else {
        for (let k = 0; k < parts.count; k++) wanted.add(k);
      }
      const queue = [...wanted].filter((k) => !present[k]).sort((a, b) => a - b);
      // Past half the parts, one request for the whole split beats hundreds of small ones
      // (a full-data run: 600 parts took 17 s in Chromium, one 10 MB file well under 1 s).
      if (parts.whole && queue.length > parts.count / 2) return fetchWhole(parts.whole);
      const worker = async () => {
        for (let k = queue.shift(); k !== undefined; k = queue.shift()) await fetchPart(k);
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENT, queue.length) }, worker));
    },
  };
}
