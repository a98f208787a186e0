// The fixtures are written by scripts/make-layers-fixtures.ts in the layouts of other tools.
import * as tf from '@tensorflow/tfjs';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstExamples, loadDataset, type Dataset } from '../data';
import { disposeGraph, forward, type Graph } from '../graph';
import { accuracy, detectPreprocessing } from '../metrics';
import { initBackend } from '../runtime/backend';
import { InvalidModelError, UnsupportedLayerError } from '../runtime/errors';
import { loadTeacher } from '../zoo';
import type { LayersModelJson } from './layers-format';
import { loadGraph } from './load';
import { loadGraphFromFile } from './node';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => join(FIXTURES, name, 'model.json');

let test: Dataset;
let samples: Dataset;
/** The first 500 test images: where each fixture's accuracy is measured. */
const FIRST_500 = Int32Array.from({ length: 500 }, (_, i) => i);
const teacherAccuracy: Record<string, number> = {};
const graphs: Graph[] = [];

async function load(name: string): Promise<Graph> {
  const g = await loadGraphFromFile(fixture(name));
  graphs.push(g);
  return g;
}

beforeAll(async () => {
  await initBackend('wasm');
  let train: Dataset;
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  samples = firstExamples(train, 300);
  for (const id of ['lenet5-mnist', 'bnnet-mnist']) {
    const g = await loadTeacher(id);
    teacherAccuracy[id] = await accuracy(g, test, { indices: FIRST_500 });
    disposeGraph(g);
  }
});

afterAll(() => graphs.forEach(disposeGraph));

/** TF.js's own loader on the same files, shards joined in manifest order. */
async function tfjsModel(name: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(fixture(name), 'utf8')) as LayersModelJson;
  const parts = await Promise.all(
    json.weightsManifest[0].paths.map((p) => readFile(join(FIXTURES, name, p))),
  );
  const data = Buffer.concat(parts);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: json.weightsManifest[0].weights,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  );
}

function agreesWithTfjs(g: Graph, model: tf.LayersModel, inputShape: number[]): number {
  return tf.tidy(() => {
    const x = tf.randomUniform([4, ...g.inputShape], 0, 1, 'float32', 3);
    const ours = forward(g, x).output;
    const theirs = model.predict(x.reshape([4, ...inputShape])) as tf.Tensor;
    return tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0];
  });
}

describe('TF.js Layers files written by other tools', () => {
  it('a Keras 2 CNN (fused activations, float16 shards, manifest reversed) at its real accuracy', async () => {
    const g = await load('keras2-lenet5');
    expect(g.nodes.filter((n) => n.op === 'activation')).toHaveLength(5); // 4 relu + softmax split off
    const acc = await accuracy(g, test, { indices: FIRST_500 });
    expect(acc).toBeGreaterThan(0.97);
    expect(acc).toBeGreaterThanOrEqual(teacherAccuracy['lenet5-mnist'] - 0.01);
    const model = await tfjsModel('keras2-lenet5');
    expect(agreesWithTfjs(g, model, [32, 32, 1])).toBeLessThan(1e-4);
    model.dispose();
  });

  it('detection keeps unit pixels for the [0, 1] CNN and finds raw pixels for the 0–255 one', async () => {
    const unit = await detectPreprocessing(await load('keras2-lenet5'), samples);
    expect(unit.best.preprocessing.range ?? 'unit').toBe('unit');
    expect(unit.best.preprocessing.invert).toBe(false);
    // The same samples stored light-on-dark inverted: detection inverts them back.
    const inverted = { ...samples, pixels: samples.pixels.map((p) => 255 - p) };
    const back = await detectPreprocessing(await load('keras2-lenet5'), inverted);
    expect(back.best.preprocessing).toMatchObject({ invert: true });
    expect(back.best.accuracy).toBeCloseTo(unit.best.accuracy, 5);

    const g = await load('tfjs-raw-lenet5');
    const asUnit = await accuracy(g, test, { indices: FIRST_500 });
    expect(asUnit).toBeLessThan(0.5); // the "18 %" model
    const raw = await detectPreprocessing(g, samples);
    expect(raw.best.preprocessing.range).toBe('raw');
    expect(raw.trials.length).toBeGreaterThan(4);
    expect(raw.trials.find((t) => t.label === 'unit')!.accuracy).toBeLessThan(0.5);
    g.preprocessing = raw.best.preprocessing;
    const acc = await accuracy(g, test, { indices: FIRST_500 });
    expect(acc).toBeGreaterThanOrEqual(teacherAccuracy['lenet5-mnist'] - 0.01);
    const model = await tfjsModel('tfjs-raw-lenet5');
    const x = tf.randomUniform([4, 32, 32, 1], 0, 255, 'float32', 5);
    const diff = tf.tidy(
      () =>
        tf.max(tf.abs(tf.sub(forward(g, x).output, model.predict(x) as tf.Tensor))).dataSync()[0],
    );
    expect(diff).toBeLessThan(1e-4);
    tf.dispose(x);
    model.dispose();
  });

  it('a Keras 3 functional CNN with BatchNorm, Rescaling and an adapted Normalization', async () => {
    const g = await load('keras3-bnnet');
    expect(g.nodes.filter((n) => n.op === 'batchNorm')).toHaveLength(5);
    // Rescaling(1/255) then (x − 0.1307) / 0.3081: raw pixels, (p − 33.33) / 78.57.
    expect(g.preprocessing.range).toBe('raw');
    expect(g.preprocessing.mean).toBeCloseTo(0.1307 * 255, 1);
    expect(g.preprocessing.std).toBeCloseTo(0.3081 * 255, 1);
    const acc = await accuracy(g, test, { indices: FIRST_500 });
    expect(acc).toBeGreaterThan(0.98);
    expect(acc).toBeGreaterThanOrEqual(teacherAccuracy['bnnet-mnist'] - 0.01);
    expect((await detectPreprocessing(g, samples)).best.preprocessing.range).toBe('raw');
  });

  it('a Keras MLP on 28×28 inputs without a channel axis, and the same weights in the old layout', async () => {
    const mlp = await load('keras2-mlp-28x28');
    expect(mlp.inputShape).toEqual([28, 28, 1]);
    const acc = await accuracy(mlp, test, { indices: FIRST_500 });
    expect(acc).toBeGreaterThan(0.9);
    const model = await tfjsModel('keras2-mlp-28x28');
    expect(agreesWithTfjs(mlp, model, [28, 28])).toBeLessThan(1e-4);
    model.dispose();

    // No "format", Keras 2.1's bare layer list, a flat 784 input, shards named without .bin.
    const old = await load('old-mlp-784');
    expect(old.inputShape).toEqual([28, 28, 1]);
    expect(old.nodes[1].op).toBe('flatten');
    expect(Math.abs((await accuracy(old, test, { indices: FIRST_500 })) - acc)).toBeLessThan(0.01);
  });

  it('a Keras 3 Sequential as tensorflowjs_converter writes it (batch_shape, dtype policies, prefixed weights)', async () => {
    const keras2 = await load('keras2-mlp-28x28');
    const json = JSON.parse(await readFile(fixture('keras2-mlp-28x28'), 'utf8')) as {
      modelTopology: {
        keras_version: string;
        model_config: {
          config: { layers: { class_name: string; config: Record<string, unknown> }[] };
        };
      };
      weightsManifest: { weights: { name: string }[] }[];
    };
    json.modelTopology.keras_version = '3.10.0';
    const policy = {
      module: 'keras',
      class_name: 'DTypePolicy',
      config: { name: 'float32' },
      registered_name: null,
    };
    for (const layer of json.modelTopology.model_config.config.layers) {
      if (layer.class_name === 'InputLayer') {
        layer.config.batch_shape = layer.config.batch_input_shape;
        delete layer.config.batch_input_shape;
      } else {
        layer.config.dtype = policy;
      }
    }
    for (const w of json.weightsManifest[0].weights) w.name = `sequential/${w.name}`;
    const bytes = await readFile(join(FIXTURES, 'keras2-mlp-28x28', 'group1-shard1of1.bin'));
    const keras3 = await loadGraph(JSON.stringify(json), async () =>
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    graphs.push(keras3);
    expect(keras3.inputShape).toEqual([28, 28, 1]);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 4);
    const diff = tf.tidy(
      () =>
        tf.max(tf.abs(tf.sub(forward(keras2, x).output, forward(keras3, x).output))).dataSync()[0],
    );
    expect(diff).toBe(0);
    x.dispose();
  });

  it('a Sequential with a Rescaling layer takes raw pixels', async () => {
    const unit = await load('keras2-lenet5');
    const json = JSON.parse(await readFile(fixture('keras2-lenet5'), 'utf8')) as {
      modelTopology: { model_config: { config: { layers: unknown[] } } };
    };
    json.modelTopology.model_config.config.layers.splice(1, 0, {
      class_name: 'Rescaling',
      config: { name: 'rescaling', scale: 1 / 255, offset: 0 },
    });
    const shards = await Promise.all(
      ['group1-shard1of2.bin', 'group1-shard2of2.bin'].map((p) =>
        readFile(join(FIXTURES, 'keras2-lenet5', p)),
      ),
    );
    const raw = await loadGraph(JSON.stringify(json), async (path) => {
      const b = shards[path.endsWith('1of2.bin') ? 0 : 1];
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    });
    graphs.push(raw);
    expect(raw.preprocessing).toMatchObject({ range: 'raw', mean: 0, std: 255 });
    expect(raw.nodes.map((n) => n.op)).toEqual(unit.nodes.map((n) => n.op));
    expect(await accuracy(raw, test, { indices: FIRST_500 })).toBeCloseTo(
      await accuracy(unit, test, { indices: FIRST_500 }),
      5,
    );
  });

  it('finds shards renamed with or without .bin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-shards-'));
    try {
      for (const [from, to] of [
        ['model.json', 'model.json'],
        ['group1-shard1of1.bin', 'group1-shard1of1'],
      ]) {
        await copyFile(join(FIXTURES, 'keras2-mlp-28x28', from), join(dir, to));
      }
      graphs.push(await loadGraphFromFile(join(dir, 'model.json')));
      await rm(join(dir, 'group1-shard1of1'));
      await expect(loadGraphFromFile(join(dir, 'model.json'))).rejects.toThrow(
        /Cannot read the weight file 'group1-shard1of1.bin'.*50900 bytes expected/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bad TF.js Layers files name the problem', () => {
  const dir = join(FIXTURES, 'keras2-mlp-28x28');
  let text: string;
  let shard: ArrayBuffer;
  beforeAll(async () => {
    text = await readFile(join(dir, 'model.json'), 'utf8');
    expect(await readdir(dir)).toContain('group1-shard1of1.bin');
    const bytes = await readFile(join(dir, 'group1-shard1of1.bin'));
    shard = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  const withLayers = (edit: (layers: Record<string, unknown>[]) => void) => {
    const json = JSON.parse(text) as {
      modelTopology: { model_config: { config: { layers: Record<string, unknown>[] } } };
    };
    edit(json.modelTopology.model_config.config.layers);
    return JSON.stringify(json);
  };
  const fails = (jsonText: string, data: ArrayBuffer = shard) =>
    expect(loadGraph(jsonText, async () => data)).rejects;

  it('not JSON, or JSON that is not a model', async () => {
    await fails('{"modelTopology": ').toThrow(/not valid JSON/);
    await fails('[1, 2, 3]').toThrow(/not a TF.js model/);
    await fails('{"modelTopology": {"node": []}, "weightsManifest": []}').toThrow(
      /graph model without nodes/,
    );
  });

  it('a short or missing shard: expected against found bytes', async () => {
    await fails(text, shard.slice(0, 1000)).toThrow(/expected 50900 bytes, found 1000/);
    await expect(
      loadGraph(text, async () => {
        throw new Error('no such file');
      }),
    ).rejects.toThrow(/Cannot read the weight file 'group1-shard1of1.bin'/);
  });

  it('a Lambda or custom layer: refused, no code from a file is run', async () => {
    const lambda = withLayers((layers) => {
      layers[1] = {
        class_name: 'Lambda',
        config: { name: 'scale', function: ['4wEAAAAA', null, null] },
      };
    });
    await fails(lambda).toThrow(UnsupportedLayerError);
    await fails(lambda).toThrow(/'scale' is a Lambda layer.*no code from a model file is ever run/);
    const custom = withLayers((layers) => {
      layers[2] = {
        module: 'my_layers',
        class_name: 'Spiky',
        registered_name: 'my_layers>Spiky',
        config: { name: 'spiky' },
      };
    });
    await fails(custom).toThrow(/'spiky' is the custom layer my_layers>Spiky.*is ever run/);
  });

  it('an unsupported layer, named with its type', async () => {
    const lstm = withLayers((layers) => {
      layers[2] = { class_name: 'Conv2DTranspose', config: { name: 'up', filters: 4 } };
    });
    await fails(lstm).toThrow(/Unsupported layer 'up' of type Conv2DTranspose/);
  });

  it('a weight missing from the manifest, with what the layer has', async () => {
    const misnamed = text.replace('"dense/kernel"', '"dense/kernal"');
    await fails(misnamed).toThrow(
      /No weight 'kernel' for layer 'dense' in the weight manifest \(it has dense\/bias, dense\/kernal\)/,
    );
  });

  it('NaN and infinite weights, naming the weight', async () => {
    const json = JSON.parse(text) as LayersModelJson;
    // The manifest lists dense_1 first (reversed): poison the first value of dense/kernel.
    const offset = json.weightsManifest[0].weights
      .slice(
        0,
        json.weightsManifest[0].weights.findIndex((w) => w.name === 'dense/kernel'),
      )
      .reduce((n, w) => n + 2 * w.shape.reduce((a, b) => a * b, 1), 0);
    const poisoned = shard.slice(0);
    new Uint16Array(poisoned, offset, 1)[0] = 0x7e00; // float16 NaN
    await fails(text, poisoned).toThrow(InvalidModelError);
    await fails(text, poisoned).toThrow(/'dense\/kernel' contains NaN/);
  });
});
