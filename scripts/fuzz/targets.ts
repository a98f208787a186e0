// What the fuzzer feeds each importer: valid files (the Layers fixtures, the ONNX fixtures and the
// same models exported as ONNX, zips of class folders and of model folders), mutated, plus random
// bytes. Image decoding is not here: it runs in the browser's worker (createImageBitmap), which
// Node does not have; an image set is fuzzed here up to its class folders and their output
// indices, and its decoding in Chromium by e2e/fuzz-images.spec.ts (`npm run fuzz:images`).
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { classIndices, imagesByClass } from '../../src/core/data/labelled-folders';
import { disposeGraph, type Graph } from '../../src/core/graph';
import {
  expandZips,
  graphFromUpload,
  MAX_UNZIPPED_BYTES,
  type NamedBytes,
} from '../../src/core/io';
import { graphToOnnx } from '../../src/core/io/onnx';
import { onnx } from '../../src/core/io/onnx/proto';
import { makeOnnxFixtures } from '../make-onnx-fixtures';
import {
  byteMutation,
  concat,
  jsonMutation,
  mutateBytes,
  mutateJson,
  type ByteMutation,
  type JsonMutation,
} from './mutate';

/** An importer under test: how its inputs are drawn and built, and the call that reads them. */
export interface FuzzTarget<Recipe = unknown> {
  name: string;
  recipes: fc.Arbitrary<Recipe>;
  build(recipe: Recipe): NamedBytes[];
  run(files: NamedBytes[]): Promise<{ graph: Graph } | { classes: number }>;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../src/core/io/fixtures');

interface LayersSeed {
  folder: string;
  json: unknown;
  shards: NamedBytes[];
}

interface Seeds {
  layers: LayersSeed[];
  /** ONNX files and their decoded ModelProto as a plain object (mutated field by field). */
  onnx: { bytes: Uint8Array; tree: Record<string, unknown> }[];
  imageZips: Uint8Array[];
  modelZips: Uint8Array[];
}

const layersFiles = (seed: LayersSeed, json: Uint8Array, shards = seed.shards): NamedBytes[] => [
  { name: `${seed.folder}/model.json`, bytes: json },
  ...shards.map((s) => ({ name: `${seed.folder}/${s.name}`, bytes: s.bytes })),
];

async function readLayersSeeds(): Promise<LayersSeed[]> {
  // Sorted: a recipe picks its seed by index, and a seed of the pass must repeat it.
  const folders = (await readdir(FIXTURES, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return Promise.all(
    folders.map(async (folder) => {
      const names = (await readdir(join(FIXTURES, folder))).filter((n) => n !== 'README.md').sort();
      const files = await Promise.all(
        names.map(async (name) => ({
          name,
          bytes: new Uint8Array(await readFile(join(FIXTURES, folder, name))),
        })),
      );
      const json = files.find((f) => f.name === 'model.json')!;
      return {
        folder,
        json: JSON.parse(new TextDecoder().decode(json.bytes)) as unknown,
        shards: files.filter((f) => f !== json),
      };
    }),
  );
}

/** Stand-ins for images: only their names matter before decoding. */
const image = (i: number) => concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47), strToU8(`${i}`)]);

/**
 * A zip of 102 bytes whose zip64 directory claims 2^32 − 1 entries: fflate reads each one
 * (from zeros past the end) before a filter can refuse it, hours without a cap on entries.
 */
export function entryCountBomb(): Uint8Array {
  const zip64Record = 4;
  const locator = zip64Record + 56;
  const end = locator + 20;
  const out = new Uint8Array(end + 22);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x04034b50, true); // a local file header's signature: the upload is a zip
  v.setUint32(zip64Record, 0x06064b50, true);
  v.setUint32(zip64Record + 32, 0xffffffff, true); // entries
  v.setUint32(locator, 0x07064b50, true);
  v.setUint32(locator + 8, zip64Record, true);
  v.setUint32(end, 0x06054b50, true);
  v.setUint16(end + 8, 0xffff, true); // entries: see the zip64 record
  return out;
}

const shardBytes = (s: LayersSeed) => s.shards.reduce((n, f) => n + f.bytes.length, 0);

async function loadSeeds(): Promise<Seeds> {
  const layers = await readLayersSeeds();
  const onnxFiles = [...(await makeOnnxFixtures()).values()];
  // The Layers fixtures as ONNX too: small files, and layouts the ONNX fixtures lack (an MLP).
  const asOnnx = new Map<LayersSeed, Uint8Array>();
  for (const seed of layers) {
    const { graph } = await graphFromUpload(layersFiles(seed, strToU8(JSON.stringify(seed.json))));
    asOnnx.set(seed, await graphToOnnx(graph));
    disposeGraph(graph);
  }
  onnxFiles.push(...asOnnx.values());
  const digits: Zippable = {
    'digits/0/a.png': image(0),
    'digits/0/b.png': image(1),
    'digits/1/c.jpg': image(2),
    'digits/2/d.png': image(3),
    'digits/2/notes.txt': strToU8('not an image'),
    '__MACOSX/digits/2/._d.png': image(4),
  };
  const animals: Zippable = {
    animals: {
      cat: { 'a.png': image(5) },
      dog: { 'b.gif': image(6) },
      bird: { 'c.webp': image(7) },
    },
  };
  const folder = (seed: LayersSeed): Zippable =>
    Object.fromEntries(
      layersFiles(seed, strToU8(JSON.stringify(seed.json))).map((f) => [f.name, f.bytes]),
    );
  // Small models keep a zip's mutations out of the weights.
  const [smallest, second] = [...layers].sort((a, b) => shardBytes(a) - shardBytes(b));
  return {
    layers,
    onnx: onnxFiles.map((bytes) => ({
      bytes,
      tree: onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: Number }),
    })),
    // Deflated and stored entries: fflate reads the two differently.
    imageZips: [zipSync(digits, { level: 6 }), zipSync(animals, { level: 0 })],
    modelZips: [
      zipSync(folder(smallest), { level: 6 }),
      zipSync(folder(second), { level: 0 }),
      zipSync({ [`model/${smallest.folder}.onnx`]: asOnnx.get(smallest)! }, { level: 6 }),
    ],
  };
}

const pick = <T>(list: readonly T[], i: number): T => list[i % list.length];

// ------------------------------------------------------------------ TF.js Layers

type ShardChange = { shard: number; change: ByteMutation | { kind: 'drop' } };
type LayersRecipe =
  /** Mutations of model.json's content, the shards intact: these reach the topology. */
  | { kind: 'json'; seed: number; mutations: JsonMutation[] }
  /** Mutations of the files' bytes: model.json's text, shards changed or left out. */
  | { kind: 'files'; seed: number; text: ByteMutation[]; shards: ShardChange[] }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array };

function layersTarget(seeds: LayersSeed[]): FuzzTarget<LayersRecipe> {
  return {
    name: 'tfjs-layers',
    recipes: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant('json' as const),
          seed: fc.nat(),
          mutations: fc.array(jsonMutation, { minLength: 1, maxLength: 3 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('files' as const),
          seed: fc.nat(),
          text: fc.array(byteMutation, { maxLength: 1 }),
          shards: fc.array(
            fc.record({
              shard: fc.nat(),
              change: fc.oneof(byteMutation, fc.constant({ kind: 'drop' as const })),
            }),
            { maxLength: 2 },
          ),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('text' as const),
          text: fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.jsonValue().map((v) => JSON.stringify(v)),
          ),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('bytes' as const),
          bytes: fc.uint8Array({ maxLength: 512 }),
        }),
      },
    ),
    build(r) {
      if (r.kind === 'text') return [{ name: 'model.json', bytes: strToU8(r.text) }];
      if (r.kind === 'bytes') return [{ name: 'model.json', bytes: r.bytes }];
      const seed = pick(seeds, r.seed);
      const json = structuredClone(seed.json);
      if (r.kind === 'json') for (const m of r.mutations) mutateJson(json, m);
      const text = strToU8(JSON.stringify(json));
      if (r.kind === 'json') return layersFiles(seed, text);
      const shards = [...seed.shards];
      for (const { shard, change } of r.shards) {
        if (!shards.length) break;
        const i = shard % shards.length;
        if (change.kind === 'drop') shards.splice(i, 1);
        else shards[i] = { ...shards[i], bytes: mutateBytes(shards[i].bytes, [change]) };
      }
      return layersFiles(seed, mutateBytes(text, r.text), shards);
    },
    run: (files) => graphFromUpload(files),
  };
}

// ------------------------------------------------------------------ ONNX

type OnnxRecipe =
  | { kind: 'fields'; seed: number; mutations: JsonMutation[] }
  | { kind: 'bytes'; seed: number; mutations: ByteMutation[] }
  | { kind: 'random'; tagged: boolean; bytes: Uint8Array };

/**
 * The model with its decoded fields mutated (operators, attributes, dims, data types), keeping
 * only changes protobuf can encode: these reach the importer's logic, where byte flips mostly
 * break the protobuf or land in the weights.
 */
function mutateOnnxFields(tree: Record<string, unknown>, mutations: JsonMutation[]): Uint8Array {
  let encoded = onnx.ModelProto.encode(onnx.ModelProto.fromObject(tree)).finish();
  let current = tree;
  for (const m of mutations) {
    const next = structuredClone(current);
    mutateJson(next, m);
    if (onnx.ModelProto.verify(next)) continue;
    try {
      encoded = onnx.ModelProto.encode(onnx.ModelProto.fromObject(next)).finish();
      current = next;
    } catch {
      // A value verify() lets through but the encoder cannot write (e.g. an int64 string).
    }
  }
  return encoded;
}

function onnxTarget(seeds: Seeds['onnx']): FuzzTarget<OnnxRecipe> {
  return {
    name: 'onnx',
    recipes: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('fields' as const),
          seed: fc.nat(),
          mutations: fc.array(jsonMutation, { minLength: 1, maxLength: 3 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('bytes' as const),
          seed: fc.nat(),
          mutations: fc.array(byteMutation, { minLength: 1, maxLength: 4 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('random' as const),
          // ModelProto's first byte: random bytes after it get past the file-type check.
          tagged: fc.boolean(),
          bytes: fc.uint8Array({ maxLength: 2048 }),
        }),
      },
    ),
    build(r) {
      const bytes =
        r.kind === 'random'
          ? r.tagged
            ? concat([Uint8Array.of(0x08), r.bytes])
            : r.bytes
          : r.kind === 'fields'
            ? mutateOnnxFields(pick(seeds, r.seed).tree, r.mutations)
            : mutateBytes(pick(seeds, r.seed).bytes, r.mutations);
      return [{ name: 'model.onnx', bytes }];
    },
    run: (files) => graphFromUpload(files),
  };
}

// ------------------------------------------------------------------ zips

type ZipRecipe =
  | { kind: 'mutated'; seed: number; mutations: ByteMutation[] }
  /** An entry's size in the central directory changed: past the cap, or smaller than its data. */
  | { kind: 'declared'; seed: number; entry: number; size: number }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'entry-count-bomb' };

const ZIP_SIGNATURE = Uint8Array.of(0x50, 0x4b, 0x03, 0x04);
const CENTRAL_HEADER = 0x02014b50;

const zipRecipes: fc.Arbitrary<ZipRecipe> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      seed: fc.nat(),
      mutations: fc.array(byteMutation, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('declared' as const),
      seed: fc.nat(),
      entry: fc.nat(),
      size: fc.oneof(
        fc.integer({ min: MAX_UNZIPPED_BYTES + 1, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 64 }),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('random' as const),
      bytes: fc.uint8Array({ maxLength: 1024 }),
    }),
  },
  // Rare: each one takes MAX_ZIP_ENTRIES reads to refuse.
  { weight: 1, arbitrary: fc.constant({ kind: 'entry-count-bomb' as const }) },
);

function declareSize(zip: Uint8Array, entry: number, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const headers: number[] = [];
  for (let i = 0; i + 4 <= out.length; i++) {
    if (view.getUint32(i, true) === CENTRAL_HEADER) headers.push(i);
  }
  // Offset 24 of a central directory header: the entry's uncompressed size.
  if (headers.length) view.setUint32(pick(headers, entry) + 24, size, true);
  return out;
}

function buildZip(seeds: Uint8Array[], r: ZipRecipe): NamedBytes[] {
  const bytes =
    r.kind === 'random'
      ? concat([ZIP_SIGNATURE, r.bytes])
      : r.kind === 'declared'
        ? declareSize(pick(seeds, r.seed), r.entry, r.size)
        : r.kind === 'mutated'
          ? mutateBytes(pick(seeds, r.seed), r.mutations)
          : entryCountBomb();
  return [{ name: 'upload.zip', bytes }];
}

/** The class folders of the image zips, and the outputs of the model they are checked against. */
const IMAGE_CLASSES = 3;

function imageZipTarget(seeds: Uint8Array[]): FuzzTarget<ZipRecipe> {
  return {
    name: 'zip-images',
    recipes: zipRecipes,
    build: (r) => buildZip(seeds, r),
    // What the worker does before decoding: expand, find class folders, map them onto outputs.
    async run(files) {
      const byClass = imagesByClass(expandZips(files).map((f) => f.name));
      classIndices([...byClass.keys()], IMAGE_CLASSES);
      return { classes: byClass.size };
    },
  };
}

function modelZipTarget(seeds: Uint8Array[]): FuzzTarget<ZipRecipe> {
  return {
    name: 'zip-model',
    recipes: zipRecipes,
    build: (r) => buildZip(seeds, r),
    run: (files) => graphFromUpload(files),
  };
}

/** Every target, seeded with the fixtures (needs the TF.js backend: seeds are loaded as graphs). */
export async function fuzzTargets(): Promise<FuzzTarget[]> {
  const seeds = await loadSeeds();
  return [
    layersTarget(seeds.layers),
    onnxTarget(seeds.onnx),
    imageZipTarget(seeds.imageZips),
    modelZipTarget(seeds.modelZips),
  ];
}
