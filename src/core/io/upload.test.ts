// Models given as uploaded files: which file is the model, shards by name, zips, and refusals.
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryCountBomb } from '../../../scripts/fuzz/targets';
import { disposeGraph, graphStats, type Graph } from '../graph';
import { initBackend } from '../runtime/backend';
import { InvalidInputError, InvalidModelError } from '../runtime/errors';
import { graphToOnnx } from './onnx';
import { graphFromUpload, unzipFiles, type NamedBytes } from './upload';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tfjs-raw-lenet5');
let fixture: NamedBytes[];
const graphs: Graph[] = [];

async function load(files: NamedBytes[]) {
  const loaded = await graphFromUpload(files);
  graphs.push(loaded.graph);
  return loaded;
}

beforeAll(async () => {
  await initBackend('wasm');
  fixture = await Promise.all(
    (await readdir(FIXTURE)).map(async (name) => ({
      name,
      bytes: new Uint8Array(await readFile(join(FIXTURE, name))),
    })),
  );
});

afterAll(() => graphs.forEach(disposeGraph));

const file = (name: string, text: string): NamedBytes => ({ name, bytes: strToU8(text) });
const json = () => fixture.find((f) => f.name === 'model.json')!;
const shard = () => fixture.find((f) => f.name !== 'model.json')!;

describe('graphFromUpload', () => {
  it('reads model.json with its shard, also renamed without .bin and under a folder path', async () => {
    const plain = await load(fixture);
    expect(plain.format).toBe('tfjs-layers');
    const renamed = await load([
      { ...json(), name: 'my-model/model.json' },
      { ...shard(), name: `my-model/${shard().name.replace(/\.bin$/, '')}` },
    ]);
    expect(graphStats(renamed.graph).params).toBe(graphStats(plain.graph).params);
    expect(renamed.graph.preprocessing).toEqual(plain.graph.preprocessing);
  });

  it('reads a zip of model.json and its shard, and one .onnx file', async () => {
    const zip = zipSync(Object.fromEntries(fixture.map((f) => [`lenet/${f.name}`, f.bytes])));
    const zipped = await load([{ name: 'lenet.zip', bytes: zip }]);
    expect(zipped.names).toEqual(expect.arrayContaining(['lenet/model.json']));
    const onnx = await load([{ name: 'lenet.onnx', bytes: await graphToOnnx(zipped.graph) }]);
    expect(onnx.format).toBe('onnx');
    expect(onnx.graph.name).toBe('lenet');
    expect(graphStats(onnx.graph).params).toBe(graphStats(zipped.graph).params);
  });

  it('says which files are not a model, and which JSON does not parse', async () => {
    await expect(graphFromUpload([file('notes.txt', 'hello')])).rejects.toThrow(
      "None of 'notes.txt' is a model file",
    );
    await expect(graphFromUpload([file('model.json', '{"modelTopology": ')])).rejects.toThrow(
      /model\.json is not valid JSON/,
    );
    await expect(
      graphFromUpload([file('a.json', '{}'), file('b.json', '{}')]),
    ).rejects.toBeInstanceOf(InvalidModelError);
  });

  it('names a missing or short shard with the bytes expected and found', async () => {
    await expect(graphFromUpload([json()])).rejects.toThrow(/was uploaded/);
    const short = { ...shard(), bytes: shard().bytes.subarray(0, 1000) };
    await expect(graphFromUpload([json(), short])).rejects.toThrow(
      /expected \d+ bytes, found 1000/,
    );
  });
});

describe('unzipFiles', () => {
  it('refuses a zip that expands past the cap before inflating it', () => {
    const zip = zipSync({ 'zeros.bin': new Uint8Array(100_000) });
    expect(() => unzipFiles({ name: 'bomb.zip', bytes: zip }, 50_000)).toThrow(
      "'bomb.zip' expands to more than",
    );
    expect(unzipFiles({ name: 'ok.zip', bytes: zip })[0].bytes.length).toBe(100_000);
  });

  it('refuses a zip whose directory claims billions of entries, without reading them all', () => {
    const start = performance.now();
    expect(() => unzipFiles({ name: 'many.zip', bytes: entryCountBomb() })).toThrow(
      "'many.zip' holds more than 100000 files",
    );
    expect(performance.now() - start).toBeLessThan(5000);
  });

  it('refuses bytes that are not a zip as an InvalidInputError', () => {
    const bytes = Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 1, 2, 3);
    expect(() => unzipFiles({ name: 'broken.zip', bytes })).toThrow(InvalidInputError);
  });
});
