import type { Graph } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import {
  graphFromLayersJson,
  graphToLayersJson,
  type ExportOptions,
  type LayersModelJson,
} from './layers-format';

/** Larger uploads would not train in a browser anyway; refuse before allocating. */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;

/** Reads a model.json's text and its shards (resolved relative to the model.json) into the IR. */
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
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  const buffers: ArrayBuffer[] = [];
  let bytes = 0;
  for (const path of paths) {
    let buffer: ArrayBuffer;
    try {
      buffer = await readShard(path);
    } catch (e) {
      throw new InvalidModelError(
        `Cannot read the weight file '${path}' named in ${what} (${(e as Error).message})`,
        'Keep the weight .bin files next to model.json (select them together when uploading).',
      );
    }
    bytes += buffer.byteLength;
    if (bytes > MAX_MODEL_BYTES) {
      throw new InvalidModelError(
        `The weights are larger than ${MAX_MODEL_BYTES / 2 ** 20} MiB`,
        'Compress a smaller model; browser training of larger ones is not practical.',
      );
    }
    buffers.push(buffer);
  }
  const all = new Uint8Array(bytes);
  let offset = 0;
  for (const b of buffers) {
    all.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return graphFromLayersJson(json, all.buffer);
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
