// Node-only file access for the CLI, scripts and tests; the browser reads models with fetch.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Graph } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import type { ExportOptions } from './layers-format';
import { loadGraph, MAX_MODEL_BYTES, serializeGraph, shardFileNames } from './load';
import { graphFromOnnx, graphToOnnx } from './onnx';

/** An ONNX ModelProto starts with field 1 (ir_version) as a varint: tag byte 0x08. */
const ONNX_FIRST_BYTE = 0x08;

/** Reads a TF.js Layers model.json (with its shards beside it) or an .onnx file. */
export async function loadGraphFromFile(path: string): Promise<Graph> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.size > MAX_MODEL_BYTES) throw new Error(`${info.size} bytes`);
    bytes = await readFile(path);
  } catch (e) {
    throw new InvalidModelError(
      `Cannot read the model file '${path}' (${(e as Error).message})`,
      'Pass the path of a TF.js Layers model.json or an .onnx file, or a built-in model id.',
    );
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.onnx' || (ext !== '.json' && bytes[0] === ONNX_FIRST_BYTE)) {
    return graphFromOnnx(new Uint8Array(bytes), basename(path, extname(path)));
  }
  const dir = dirname(path);
  return loadGraph(
    bytes.toString('utf8'),
    async (shard) => {
      const names = shardFileNames(shard);
      for (const name of names) {
        const buf = await readFile(join(dir, name)).catch(() => undefined);
        if (buf) return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      }
      throw new Error(`none of ${names.map((n) => `'${n}'`).join(', ')} is in ${dir}`);
    },
    path,
  );
}

/** Writes model.json and its weight shard into `dir`; returns the model.json path. */
export async function saveGraphToDir(
  g: Graph,
  dir: string,
  opts: ExportOptions = {},
): Promise<string> {
  const { modelJson, shardName, weightData } = await serializeGraph(g, opts);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, shardName), new Uint8Array(weightData));
  const path = join(dir, 'model.json');
  await writeFile(path, modelJson);
  return path;
}

/** Writes the graph as one ONNX file (see graphToOnnx); returns its path. */
export async function saveGraphAsOnnx(g: Graph, path: string): Promise<string> {
  const bytes = await graphToOnnx(g);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}
