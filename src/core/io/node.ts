// Node-only file access for the CLI, scripts and tests; the browser reads models with fetch.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Graph } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import type { ExportOptions } from './layers-format';
import { loadGraph, MAX_MODEL_BYTES, serializeGraph, shardFileNames } from './load';

export async function loadGraphFromFile(path: string): Promise<Graph> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_MODEL_BYTES) throw new Error(`${info.size} bytes`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidModelError(
      `Cannot read the model file '${path}' (${(e as Error).message})`,
      'Pass the path of a TF.js Layers model.json, or a built-in model id.',
    );
  }
  const dir = dirname(path);
  return loadGraph(
    text,
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
