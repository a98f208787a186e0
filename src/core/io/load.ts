import type { Graph } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import { graphFromGraphModelJson, isGraphModel } from './graph-model';
import {
  checkWeightsManifest,
  graphFromLayersJson,
  graphToLayersJson,
  weightBytes,
  type ExportOptions,
  type LayersModelJson,
} from './layers-format';

/** Larger uploads would not train in a browser anyway; refuse before allocating. */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;

/**
 * Reads a model.json's text (TF.js Layers or graph model) and its shards (resolved relative to
 * the model.json) into the IR.
 */
export async function loadGraph(
  jsonText: string,
  readShard: (path: string) => Promise<ArrayBuffer>,
  what = 'model.json',
): Promise<Graph> {
  let json: LayersModelJson;
  try {
    json = JSON.parse(jsonText) as LayersModelJson;
  } catch (e) {
    throw new InvalidModelError(
      `${what} is not valid JSON (${(e as Error).message})`,
      'Choose the model.json written by TF.js model.save() or tensorflowjs_converter.',
    );
  }
  if (
    !json ||
    typeof json !== 'object' ||
    !json.modelTopology ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new InvalidModelError(
      `${what} is not a TF.js model (no modelTopology or weightsManifest)`,
      'Choose the model.json written by TF.js model.save() or tensorflowjs_converter.',
    );
  }
  checkWeightsManifest(json.weightsManifest, what);
  const buffers: ArrayBuffer[] = [];
  let bytes = 0;
  for (const [i, { paths, weights }] of json.weightsManifest.entries()) {
    const expected = weights.reduce((sum, spec) => sum + weightBytes(spec), 0);
    const where = `weight group ${i + 1} of ${what} (${paths.length} shard(s), ${expected} bytes expected)`;
    let found = 0;
    for (const path of paths) {
      let buffer: ArrayBuffer;
      try {
        buffer = await readShard(path);
      } catch (e) {
        throw new InvalidModelError(
          `Cannot read the weight file '${path}' of ${where}: ${(e as Error).message}`,
          'Keep the weight shards next to model.json (select them together when uploading).',
        );
      }
      found += buffer.byteLength;
      bytes += buffer.byteLength;
      if (bytes > MAX_MODEL_BYTES) {
        throw new InvalidModelError(
          `The weights are larger than ${MAX_MODEL_BYTES / 2 ** 20} MiB`,
          'Compress a smaller model; browser training of larger ones is not practical.',
        );
      }
      buffers.push(buffer);
    }
    if (found !== expected) {
      throw new InvalidModelError(
        `The weight shards ${paths.map((p) => `'${p}'`).join(', ')} of weight group ${i + 1}: expected ${expected} bytes, found ${found}`,
        found < expected
          ? 'A shard is truncated or missing: copy all the weight files again.'
          : 'The shards belong to another model or were joined: use the files written with this model.json.',
      );
    }
  }
  const all = new Uint8Array(bytes);
  let offset = 0;
  for (const b of buffers) {
    all.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return isGraphModel(json)
    ? graphFromGraphModelJson(json, all.buffer, modelName(what))
    : graphFromLayersJson(json, all.buffer);
}

/** 'models/lenet/model.json' → 'lenet': a graph model's topology names no model. */
function modelName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  const file = parts.pop() ?? '';
  return (file === 'model.json' ? parts.pop() : file.replace(/\.json$/i, '')) || 'model';
}

/**
 * File names to try for a shard the manifest names: converters write 'group1-shard1of1.bin'
 * (older ones without '.bin'), and files get renamed on the way; the exact name comes first.
 */
export function shardFileNames(path: string): string[] {
  const base = path.split('/').pop() ?? path;
  const toggled = (p: string) => (p.endsWith('.bin') ? p.slice(0, -4) : `${p}.bin`);
  return [...new Set([path, toggled(path), base, toggled(base)])];
}

/** The files of a TF.js Layers model: model.json text and its one weight shard. */
export async function serializeGraph(
  g: Graph,
  opts: ExportOptions = {},
): Promise<{ modelJson: string; shardName: string; weightData: ArrayBuffer }> {
  const shardName = opts.shardName ?? `${g.name}.weights.bin`;
  const { json, weightData } = await graphToLayersJson(g, { ...opts, shardName });
  return { modelJson: JSON.stringify(json), shardName, weightData };
}
