// Models given as a handful of files (a page upload, a dropped folder, a .zip): which file is the
// model, where its shards are, and the caps that keep a crafted file from exhausting memory.
import { unzipSync } from 'fflate';
import type { Graph } from '../graph';
import { InvalidInputError, InvalidModelError } from '../runtime/errors';
import { isGraphModel } from './graph-model';
import type { LayersModelJson } from './layers-format';
import { loadGraph, MAX_MODEL_BYTES, shardFileNames } from './load';
import { graphFromOnnx } from './onnx';

export interface NamedBytes {
  /** The file's name, or its path inside a zip or a dropped folder. */
  name: string;
  bytes: Uint8Array;
}

/** What a zip may expand to: its entries are held in memory at once. */
export const MAX_UNZIPPED_BYTES = 2 * MAX_MODEL_BYTES;

/** Entries a zip may hold: a zip64 directory of a few bytes can claim 2^32, each one read. */
export const MAX_ZIP_ENTRIES = 100_000;

/** 268435456 → '256 MiB': caps in messages. */
export const formatMiB = (bytes: number): string =>
  `${Number((bytes / 2 ** 20).toPrecision(3))} MiB`;
const baseName = (path: string) => path.split('/').pop() ?? path;
const extension = (path: string) => /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';

/** A zip starts with a local file header, "PK\x03\x04". */
export function isZip(f: NamedBytes): boolean {
  const b = f.bytes;
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

/**
 * The files of a zip (folders and macOS resource forks left out). Sizes are checked from the
 * zip's directory before anything is inflated, and fflate never writes past a declared size,
 * so a zip bomb is refused without expanding it.
 */
export function unzipFiles(zip: NamedBytes, maxBytes = MAX_UNZIPPED_BYTES): NamedBytes[] {
  let declared = 0;
  let count = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip.bytes, {
      filter: (file) => {
        if (++count > MAX_ZIP_ENTRIES) {
          throw new InvalidInputError(
            `'${zip.name}' holds more than ${MAX_ZIP_ENTRIES} files`,
            'Zip fewer files: a few-shot set needs a handful of images per class.',
          );
        }
        if (file.name.endsWith('/') || file.name.startsWith('__MACOSX/')) return false;
        declared += file.originalSize;
        if (declared > maxBytes) {
          throw new InvalidInputError(
            `'${zip.name}' expands to more than ${formatMiB(maxBytes)}`,
            `Zip at most ${formatMiB(maxBytes)} of files; leave out what the upload does not need.`,
          );
        }
        return true;
      },
    });
  } catch (e) {
    if (e instanceof InvalidInputError) throw e; // a cap, from the filter
    throw new InvalidInputError(
      `'${zip.name}' is not a readable zip (${(e as Error).message})`,
      'Make the archive again with a standard zip tool, or upload the files themselves.',
    );
  }
  return Object.entries(entries).map(([name, bytes]) => ({ name, bytes }));
}

/** The files with every zip among them replaced by its entries. */
export const expandZips = (files: readonly NamedBytes[]): NamedBytes[] =>
  files.flatMap((f) => (isZip(f) ? unzipFiles(f) : [f]));

/** ONNX's ModelProto starts with field 1 (ir_version) as a varint: tag byte 0x08. */
const looksLikeOnnx = (f: NamedBytes) =>
  extension(f.name) === 'onnx' || (extension(f.name) !== 'json' && f.bytes[0] === 0x08);

const MODEL_FILES_HINT =
  'Upload a TF.js model.json (Layers or graph model) together with its weight shards, one .onnx file, or a .zip of either.';

export interface UploadedModel {
  graph: Graph;
  format: 'tfjs-layers' | 'tfjs-graph' | 'onnx';
  /** Every file given, zips expanded. */
  names: string[];
}

/**
 * The model among uploaded files: one .onnx file, or a TF.js model.json whose weight
 * shards are matched by file name (with or without '.bin', wherever they were in the folder or
 * zip). Zips are expanded first.
 */
export async function graphFromUpload(files: readonly NamedBytes[]): Promise<UploadedModel> {
  const all = expandZips(files);
  const names = all.map((f) => f.name);
  const total = all.reduce((sum, f) => sum + f.bytes.length, 0);
  if (total > MAX_MODEL_BYTES) {
    throw new InvalidModelError(
      `The model files hold ${formatMiB(total)}, more than the ${formatMiB(MAX_MODEL_BYTES)} a model may have`,
      'Compress a smaller model; browser training of larger ones is not practical.',
    );
  }
  const onnx = all.filter(looksLikeOnnx);
  const jsons = all.filter((f) => extension(f.name) === 'json');
  const listed = names.map((n) => `'${n}'`).join(', ') || 'no files';
  if (jsons.length === 0 && onnx.length === 1) {
    const [f] = onnx;
    const graph = graphFromOnnx(f.bytes, baseName(f.name).replace(/\.onnx$/i, ''));
    return { graph, format: 'onnx', names };
  }
  if (jsons.length === 0) {
    throw new InvalidModelError(
      onnx.length > 1
        ? `Several ONNX files were given (${listed}); a teacher is one model`
        : `None of ${listed} is a model file`,
      MODEL_FILES_HINT,
    );
  }
  const json = jsons.length === 1 ? jsons[0] : jsons.find((f) => baseName(f.name) === 'model.json');
  if (!json) {
    throw new InvalidModelError(
      `Several JSON files were given (${jsons.map((f) => `'${f.name}'`).join(', ')}) and none is named model.json`,
      MODEL_FILES_HINT,
    );
  }
  const byName = new Map(all.map((f) => [baseName(f.name), f.bytes]));
  const text = new TextDecoder().decode(json.bytes);
  const graph = await loadGraph(
    text,
    async (shard) => {
      const candidates = shardFileNames(shard).map(baseName);
      const bytes = candidates.map((n) => byName.get(n)).find((b) => b !== undefined);
      if (!bytes) {
        throw new Error(
          `none of ${[...new Set(candidates)].map((n) => `'${n}'`).join(', ')} was uploaded`,
        );
      }
      return bytes.slice().buffer;
    },
    json.name,
  );
  // loadGraph has parsed the text already, so this cannot throw.
  const format = isGraphModel(JSON.parse(text) as LayersModelJson) ? 'tfjs-graph' : 'tfjs-layers';
  return { graph, format, names };
}
