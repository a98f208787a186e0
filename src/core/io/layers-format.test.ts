import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, forward, type Graph } from '../graph';
import { initBackend } from '../runtime/backend';
import { InvalidModelError, UnsupportedLayerError } from '../runtime/errors';
import { buildArchitecture } from '../zoo';
import { graphToLayersJson, type LayersModelJson } from './layers-format';
import { loadGraph, serializeGraph } from './load';
import { encodeAffine, layerKernels, toFixedPoint } from '../compress/quantizers';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Saves a TF.js LayersModel to in-memory artifacts, the way model.save() writes them. */
async function saveTfjs(model: tf.LayersModel): Promise<{ text: string; data: ArrayBuffer }> {
  let artifacts!: tf.io.ModelArtifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const json = {
    format: 'layers-model',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['w.bin'], weights: artifacts.weightSpecs! }],
  };
  const data = artifacts.weightData as ArrayBuffer;
  return { text: JSON.stringify(json), data };
}

const load = (text: string, data: ArrayBuffer) => loadGraph(text, async () => data);

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function compareToTfjs(g: Graph, model: tf.LayersModel, x: tf.Tensor): number {
  return tf.tidy(() => maxDiff(forward(g, x).output, model.predict(x) as tf.Tensor));
}

describe('TF.js Layers import/export', () => {
  it('exports the IR so that tf.loadLayersModel predicts the same (sequential, BatchNorm)', async () => {
    for (const arch of ['lenet5', 'bnnet']) {
      const g = buildArchitecture(arch, 'mnist', 7);
      const { json, weightData } = await graphToLayersJson(g);
      const model = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'],
          weightSpecs: json.weightsManifest[0].weights,
          weightData,
        }),
      );
      const x = tf.randomNormal([3, ...g.inputShape], 0, 1, 'float32', 8);
      expect(compareToTfjs(g, model, x)).toBeLessThan(1e-5);
      x.dispose();
      model.dispose();
      disposeGraph(g);
    }
  });

  it('imports a functional TF.js model with a residual add and round-trips it within 1e-5', async () => {
    const input = tf.input({ shape: [12, 12, 2] });
    const c1 = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' })
      .apply(input) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c1) as tf.SymbolicTensor;
    const c2 = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' })
      .apply(bn) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'res' }).apply([c1, c2]) as tf.SymbolicTensor;
    const dw = tf.layers
      .depthwiseConv2d({ kernelSize: 3, strides: 2, name: 'dw' })
      .apply(sum) as tf.SymbolicTensor;
    const pool = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(dw) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 3, activation: 'softmax', name: 'out' })
      .apply(pool) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    // Non-trivial BatchNorm statistics, so inference mode is really checked.
    const bnLayer = model.getLayer('bn');
    bnLayer.setWeights(
      bnLayer
        .getWeights()
        .map((w, i) => tf.add(tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i), 0)),
    );

    const saved = await saveTfjs(model);
    const g = await load(saved.text, saved.data);
    expect(g.nodes.map((n) => n.op)).toContain('add');
    const x = tf.randomNormal([2, 12, 12, 2], 0, 1, 'float32', 9);
    expect(compareToTfjs(g, model, x)).toBeLessThan(1e-5);

    const again = await serializeGraph(g);
    const g2 = await load(again.modelJson, again.weightData);
    const diff = tf.tidy(() => maxDiff(forward(g, x).output, forward(g2, x).output));
    expect(diff).toBeLessThan(1e-5);
    tf.dispose(x);
    model.dispose();
    disposeGraph(g);
    disposeGraph(g2);
  });

  it('float16 export halves the weight bytes and stays close', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 11);
    const full = await serializeGraph(g);
    const half = await serializeGraph(g, { float16: true });
    expect(half.weightData.byteLength).toBe(full.weightData.byteLength / 2);
    const g2 = await load(half.modelJson, half.weightData);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 12);
    const diff = tf.tidy(() => maxDiff(forward(g, x).output, forward(g2, x).output));
    expect(diff).toBeLessThan(1e-2);
    x.dispose();
    disposeGraph(g);
    disposeGraph(g2);
  });

  it('refuses unsupported layers by name', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, name: 'ok_conv' }),
        tf.layers.upSampling2d({ name: 'upsample' }),
      ],
    });
    const saved = await saveTfjs(model);
    await expect(load(saved.text, saved.data)).rejects.toThrow(UnsupportedLayerError);
    await expect(load(saved.text, saved.data)).rejects.toThrow(/'upsample'.*UpSampling2D/);
    model.dispose();
  });

  it('names the problem in malformed files', async () => {
    await expect(loadGraph('{not json', async () => new ArrayBuffer(0))).rejects.toThrow(
      InvalidModelError,
    );
    await expect(loadGraph('{"a":1}', async () => new ArrayBuffer(0))).rejects.toThrow(
      /no modelTopology/,
    );
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const { modelJson, weightData } = await serializeGraph(g);
    await expect(load(modelJson, weightData.slice(0, 100))).rejects.toThrow(
      /expected 246824 bytes, found 100/,
    );
    await expect(
      loadGraph(modelJson, async () => {
        throw new Error('ENOENT');
      }),
    ).rejects.toThrow(/weight file/);
    const json = JSON.parse(modelJson) as LayersModelJson;
    json.format = 'graph-model';
    await expect(load(JSON.stringify(json), weightData)).rejects.toThrow(
      /graph model without nodes/,
    );
    const poisoned = new Float32Array(weightData.slice(0));
    poisoned[3] = NaN;
    await expect(load(modelJson, poisoned.buffer)).rejects.toThrow(/conv1\/kernel.*NaN/);
    disposeGraph(g);
  });

  it('imports a Keras 2 converter model split over two weight shards as tf.loadLayersModel does', async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'keras2-cnn');
    const text = await readFile(join(dir, 'model.json'), 'utf8');
    const shard = async (path: string) => {
      const bytes = await readFile(join(dir, path));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    };
    const g = await loadGraph(text, shard);
    expect(g.inputShape).toEqual([8, 8, 1]);
    expect(g.nodes.map((n) => n.op)).toEqual([
      'input',
      'conv2d',
      'activation',
      'maxPool',
      'flatten',
      'dense',
      'activation',
    ]);
    // TF.js's own loader, given the shards concatenated in manifest order as its http loader does.
    const json = JSON.parse(text) as LayersModelJson;
    const parts = await Promise.all(json.weightsManifest[0].paths.map(shard));
    const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    parts.reduce(
      (offset, p) => (weightData.set(new Uint8Array(p), offset), offset + p.byteLength),
      0,
    );
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'],
        weightSpecs: json.weightsManifest[0].weights,
        weightData: weightData.buffer,
      }),
    );
    const x = tf.randomNormal([5, 8, 8, 1], 0, 1, 'float32', 11);
    expect(compareToTfjs(g, model, x)).toBeLessThan(1e-6);
    // The weights really are there (not zeros): the predictions differ between inputs.
    const p = tf.tidy(() => forward(g, x).output.arraySync() as number[][]);
    expect(new Set(p.map((row) => row.indexOf(Math.max(...row)))).size).toBeGreaterThan(1);
    tf.dispose(x);
    model.dispose();
    disposeGraph(g);
  });
});

describe('quantized export (TF.js manifest weight quantization)', () => {
  it('writes an 8-bit affine-quantized student as uint8 codes, ~4× smaller, loading back identical', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 13);
    const full = await serializeGraph(g);
    for (const { kernel } of layerKernels(g)) {
      const { values } = await encodeAffine(kernel, 8, 'per-tensor');
      tf.tidy(() => kernel.assign(tf.tensor(values, kernel.shape)));
    }
    const quantized = await serializeGraph(g);
    expect(full.weightData.byteLength / quantized.weightData.byteLength).toBeGreaterThan(3.8);
    const specs = (JSON.parse(quantized.modelJson) as LayersModelJson).weightsManifest[0].weights;
    expect(specs.filter((s) => s.quantization?.dtype === 'uint8')).toHaveLength(5);
    const g2 = await load(quantized.modelJson, quantized.weightData);
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 14);
    expect(tf.tidy(() => maxDiff(forward(g, x).output, forward(g2, x).output))).toBe(0);
    for (const [a, b] of layerKernels(g).map((k, i) => [k.kernel, layerKernels(g2)[i].kernel])) {
      expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    }
    x.dispose();
    disposeGraph(g);
    disposeGraph(g2);
  });

  it('writes fixed-point weights (≤ 2^16 levels) as uint16 and a float model as float32, unchanged', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 15);
    const params = g.nodes.flatMap((n) => Object.values(n.weights)).reduce((s, v) => s + v.size, 0);
    const float = await serializeGraph(g);
    expect(float.weightData.byteLength).toBe(4 * params);
    const floatSpecs = (JSON.parse(float.modelJson) as LayersModelJson).weightsManifest[0].weights;
    expect(floatSpecs.every((s) => s.quantization === undefined)).toBe(true);
    const format = { integerBits: 2, fractionalBits: 14 };
    for (const { kernel } of layerKernels(g)) {
      tf.tidy(() => kernel.assign(toFixedPoint(kernel, format, 'nearest')));
    }
    const fixed = await serializeGraph(g);
    const specs = (JSON.parse(fixed.modelJson) as LayersModelJson).weightsManifest[0].weights;
    expect(specs.filter((s) => s.quantization?.dtype === 'uint16')).toHaveLength(5);
    const g2 = await load(fixed.modelJson, fixed.weightData);
    const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 16);
    expect(tf.tidy(() => maxDiff(forward(g, x).output, forward(g2, x).output))).toBe(0);
    x.dispose();
    disposeGraph(g);
    disposeGraph(g2);
  });
});
