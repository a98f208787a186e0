// Loads the datasets that scripts/prepare-data.mjs writes to public/data/: from the file system
// in Node, over fetch in the browser and in workers (Vite serves public/ at the site root).
import { isNode, openAssetFolder, type AssetFolder } from '../assets';
import { ClabError } from '../runtime/errors';
import { DatasetFormatError, parseDataset } from './format';
import { openParts, type PartsEntry } from './parts';

export type DatasetId = 'mnist' | 'fashion';
export type Split = 'train' | 'test';
export const DATASET_IDS: readonly DatasetId[] = ['mnist', 'fashion'];
/** Where a dataset's images come from: a built-in dataset, or labelled images uploaded in the page. */
export type DataSource = DatasetId | 'uploaded';

export interface Dataset {
  id: DataSource;
  split: Split;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames: readonly string[];
  /** count * height * width * channels bytes, NHWC, 0 = black background. Treat as read-only. */
  pixels: Uint8Array;
  /** count bytes in [0, numClasses). Treat as read-only. */
  labels: Uint8Array;
  /** SHA-256 (hex) of the .bin file, as recorded in manifest.json: identifies the exact data. */
  hash: string;
  /**
   * A split fetched in parts (the page): makes the pixels of these examples (all when none are
   * given) present. Absent when every image is; reading one that is not throws (toTensors).
   */
  ensure?(indices?: ArrayLike<number>): Promise<void>;
  /** With `ensure`: whether example i's pixels are present. */
  has?(index: number): boolean;
}

export interface LoadOptions {
  /** Browser/worker: URL of the data folder. Default: Vite's BASE_URL + 'data/', i.e. '/data/'. */
  baseUrl?: string;
  /** Node: data folder. Default: $CLAB_DATA_DIR, else public/data under the project root. */
  dataDir?: string;
  /** Recompute the SHA-256 and compare it with the manifest (about 0.2 s per 47 MB file). */
  verify?: boolean;
  /**
   * Fetch the images in parts, as runs ask for them (`Dataset.ensure`), instead of the whole
   * file at once. Default: in the browser and workers, not in Node.
   */
  inParts?: boolean;
}

const HOW_TO_FIX =
  'Run `npm install` (its prepare step runs scripts/prepare-data.mjs) or `node scripts/prepare-data.mjs`.';

/** The prepared data files are absent: the prepare step has not run. */
export class DataMissingError extends ClabError {
  constructor(message: string) {
    super('data-missing', message, HOW_TO_FIX);
  }
}

interface SplitEntry {
  file: string;
  count: number;
  height: number;
  width: number;
  channels: number;
  sha256: string;
  /** The same images as gzipped parts (absent from manifests of older builds). */
  parts?: PartsEntry;
}

interface Manifest {
  formatVersion: number;
  datasets: Partial<Record<DatasetId, { classNames: string[]; splits: Record<Split, SplitEntry> }>>;
}

// Loads are cached per location, dataset and split so that the several parts of a run (teacher
// training, K-shot sampling, evaluation) share one copy of each 47 MB array.
const cache = new Map<string, Promise<Dataset>>();

/** The first `n` examples as a view (no copy): a smaller, faster test set. */
export function firstExamples(ds: Dataset, n: number): Dataset {
  if (n >= ds.count) return ds;
  const size = ds.height * ds.width * ds.channels;
  return {
    ...ds,
    count: n,
    pixels: ds.pixels.subarray(0, n * size),
    labels: ds.labels.subarray(0, n),
    hash: `${ds.hash}[:${n}]`,
    ...(ds.ensure && {
      ensure: (indices?: ArrayLike<number>) =>
        ds.ensure!(indices ?? Int32Array.from({ length: n }, (_, i) => i)),
    }),
  };
}

/**
 * `n` examples at even strides over the whole set (a copy): every class of a set stored class
 * by class, as uploaded images are.
 */
export function spreadExamples(ds: Dataset, n: number): Dataset {
  if (n >= ds.count) return ds;
  const size = ds.height * ds.width * ds.channels;
  const pixels = new Uint8Array(n * size);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor((i * ds.count) / n);
    pixels.set(ds.pixels.subarray(k * size, (k + 1) * size), i * size);
    labels[i] = ds.labels[k];
  }
  return { ...ds, count: n, pixels, labels, hash: `${ds.hash}[spread ${n}]` };
}

export function loadDataset(
  id: DatasetId,
  split: Split,
  options: LoadOptions = {},
): Promise<Dataset> {
  const verify = options.verify ?? false;
  const inParts = (options.inParts ?? !isNode()) && !verify;
  const key = JSON.stringify([
    id,
    split,
    options.baseUrl ?? '',
    options.dataDir ?? '',
    verify,
    inParts,
  ]);
  let pending = cache.get(key);
  if (!pending) {
    pending = openSource(options).then((source) => load(source, id, split, verify, inParts));
    // A failed load is not cached, so it can be retried after running the prepare step.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

async function load(
  source: AssetFolder,
  id: DatasetId,
  split: Split,
  verify: boolean,
  inParts: boolean,
): Promise<Dataset> {
  const manifest = await readManifest(source);
  const meta = manifest.datasets[id];
  const entry = meta?.splits[split];
  if (!meta || !entry) {
    throw new DataMissingError(
      `${source.location}/manifest.json has no ${id} ${split} entry. ${HOW_TO_FIX}`,
    );
  }
  if (inParts && entry.parts) {
    const { count, height, width, channels } = entry;
    const parts = await openParts(
      source,
      entry.parts,
      entry,
      (where) => new DataMissingError(`${where} not found. ${HOW_TO_FIX}`),
    );
    return {
      id,
      split,
      count,
      height,
      width,
      channels,
      numClasses: meta.classNames.length,
      classNames: meta.classNames,
      hash: entry.sha256,
      ...parts,
    };
  }
  const where = `${source.location}/${entry.file}`;
  const bytes = await source.read(entry.file);
  if (!bytes) throw new DataMissingError(`${where} not found. ${HOW_TO_FIX}`);
  const data = parseDataset(bytes, where);
  for (const field of ['count', 'height', 'width', 'channels'] as const) {
    if (data[field] !== entry[field]) {
      throw new DatasetFormatError(
        where,
        `${field} ${data[field]} != ${entry[field]} in manifest.json (stale data? ${HOW_TO_FIX})`,
      );
    }
  }
  if (data.numClasses !== meta.classNames.length) {
    throw new DatasetFormatError(
      where,
      `numClasses ${data.numClasses} != ${meta.classNames.length} class names`,
    );
  }
  if (verify) {
    const actual = await sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw new DatasetFormatError(
        where,
        `SHA-256 ${actual} != ${entry.sha256} in manifest.json. ${HOW_TO_FIX}`,
      );
    }
  }
  return { id, split, ...data, classNames: meta.classNames, hash: entry.sha256 };
}

async function readManifest(source: AssetFolder): Promise<Manifest> {
  const where = `${source.location}/manifest.json`;
  const bytes = await source.read('manifest.json');
  if (!bytes) throw new DataMissingError(`${where} not found. ${HOW_TO_FIX}`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
  } catch {
    // A dev server may answer a missing file with its HTML page instead of a 404.
    throw new DataMissingError(`${where} is not JSON. ${HOW_TO_FIX}`);
  }
  if (manifest.formatVersion !== 1 || typeof manifest.datasets !== 'object') {
    throw new DataMissingError(`${where} has an unknown layout. ${HOW_TO_FIX}`);
  }
  return manifest;
}

async function openSource(options: LoadOptions): Promise<AssetFolder> {
  try {
    return await openAssetFolder('data', {
      baseUrl: options.baseUrl,
      dir: options.dataDir ?? (isNode() ? process.env.CLAB_DATA_DIR : undefined),
    });
  } catch (e) {
    throw new DataMissingError(`${(e as Error).message}; set CLAB_DATA_DIR.`);
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('SHA-256 verification needs crypto.subtle (a secure context).');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
