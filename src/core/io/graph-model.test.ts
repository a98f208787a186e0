import * as tf from '@tensorflow/tfjs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attr,
  convAttrs,
  GraphDefWriter,
  makeGraphModelFixtures,
  matMulAttrs,
  SHARD,
  type GraphModelFiles,
} from '../../../scripts/make-graph-model-fixtures';
import { loadDataset, type Dataset } from '../data';
import { disposeGraph, forward, type Graph } from '../graph';
import { accuracy } from '../metrics';
import { initBackend } from '../runtime/backend';
import { ClabError, InvalidModelError, UnsupportedLayerError } from '../runtime/errors';
import { loadTeacher } from '../zoo';
import { loadGraph } from './load';
import { loadGraphFromFile } from './node';
import { graphFromUpload } from './upload';

const EXAMPLES = 500;
const indices = Array.from({ length: EXAMPLES }, (_, i) => i);
let test: Dataset;
let fixtures: Map<string, GraphModelFiles>;

beforeAll(async () => {
  await initBackend('wasm');
  [test, fixtures] = await Promise.all([loadDataset('mnist', 'test'), makeGraphModelFixtures()]);
});

const load = (files: GraphModelFiles, path = 'model/model.json') =>
  loadGraph(JSON.stringify(files.json), async () => files.weightData, path);

async function importError(files: GraphModelFiles): Promise<ClabError> {
  try {
    disposeGraph(await load(files));
  } catch (e) {
    expect(e).toBeInstanceOf(ClabError);
    return e as ClabError;
  }
  throw new Error('the import did not fail');
}

/** TF.js's own graph-model executor on the same files. */
function tfjsGraphModel(files: GraphModelFiles): Promise<tf.GraphModel> {
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: files.json.modelTopology as unknown as tf.io.ModelJSON['modelTopology'],
      weightSpecs: files.json.weightsManifest[0].weights,
      weightData: files.weightData,
      format: 'graph-model',
      signature: files.json.signature as object,
    }),
  );
}

/** Largest difference between the IR and TF.js on random images in the file's own input range. */
async function differenceFromTfjs(g: Graph, files: GraphModelFiles, fileShape: number[]) {
  const model = await tfjsGraphModel(files);
  const diff = tf.tidy(() => {
    const x = tf.randomUniform([4, ...g.inputShape], 0, 1, 'float32', 7);
    const mean = Number(g.preprocessing.mean);
    const std = Number(g.preprocessing.std);
    const ours = forward(g, tf.div(tf.sub(x, mean), std)).output;
    const theirs = model.predict(x.reshape([4, ...fileShape])) as tf.Tensor;
    return tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0];
  });
  model.dispose();
  return diff;
}

const weighted = (g: Graph) =>
  g.nodes.filter((n) => Object.keys(n.weights).length).map((n) => n.op);

describe('TF.js graph models as tensorflowjs_converter writes a Keras SavedModel', () => {
  const measured: Record<string, number> = {};
  afterAll(() => console.log('Graph-model fixture accuracies on 500 MNIST test images:', measured));

  const expectedLayers: Record<string, string[]> = {
    'lenet5-mnist': ['conv2d', 'conv2d', 'conv2d', 'dense', 'dense'],
    // Blocks 1, 3, 5 have BatchNorm folded into the convolution, 2 and 4 keep FusedBatchNormV3.
    'bnnet-mnist': [
      'conv2d',
      'conv2d',
      'batchNorm',
      'conv2d',
      'conv2d',
      'batchNorm',
      'conv2d',
      'dense',
    ],
  };

  for (const id of ['lenet5-mnist', 'bnnet-mnist']) {
    it(`${id} imports, evaluates at the teacher’s accuracy and agrees with tf.loadGraphModel`, async () => {
      const files = fixtures.get(id)!;
      const teacher = await loadTeacher(id);
      const g = await load(files, `fixtures/${id}/model.json`);
      expect(g.name).toBe(id);
      expect(g.inputShape).toEqual(teacher.inputShape);
      // The in-graph normalisation became the preprocessing.
      expect(Number(g.preprocessing.mean)).toBeCloseTo(Number(teacher.preprocessing.mean), 5);
      expect(Number(g.preprocessing.std)).toBeCloseTo(Number(teacher.preprocessing.std), 5);
      expect(weighted(g)).toEqual(expectedLayers[id]);
      expect(g.nodes.some((n) => n.op === 'flatten' || n.op === 'globalAvgPool')).toBe(true);
      const expected = await accuracy(teacher, test, { indices });
      const got = await accuracy(g, test, { indices });
      measured[id] = got;
      expect(expected).toBeGreaterThan(0.97);
      // Folding BatchNorm into the kernels rounds differently: at most one image of 500 may flip.
      expect(Math.abs(got - expected)).toBeLessThanOrEqual(1 / EXAMPLES);
      expect(await differenceFromTfjs(g, files, teacher.inputShape)).toBeLessThan(1e-4);
      // Trainable: the kernels are variables.
      expect(g.nodes.find((n) => n.op === 'conv2d')!.weights.kernel.trainable).toBe(true);
      disposeGraph(teacher);
      disposeGraph(g);
    });
  }

  it('float16-quantized weights (--quantize_float16) decode to the same predictions', async () => {
    const files = fixtures.get('lenet5-mnist-float16')!;
    expect(files.json.weightsManifest[0].weights[2].quantization?.dtype).toBe('float16');
    const full = fixtures.get('lenet5-mnist')!;
    expect(files.weightData.byteLength).toBeLessThan(0.6 * full.weightData.byteLength);
    const g = await load(files, 'lenet-f16/model.json');
    const got = await accuracy(g, test, { indices });
    measured['lenet5-mnist-float16'] = got;
    const teacher = await loadTeacher('lenet5-mnist');
    const expected = await accuracy(teacher, test, { indices });
    disposeGraph(teacher);
    // Half precision moves the logits by ~1e-3: at most two images of 500 may flip.
    expect(Math.abs(got - expected)).toBeLessThanOrEqual(2 / EXAMPLES);
    expect(await differenceFromTfjs(g, files, [32, 32, 1])).toBeLessThan(1e-4);
    disposeGraph(g);
  });

  it('the CLI’s file loader and the page’s upload read the files', async () => {
    const files = fixtures.get('lenet5-mnist')!;
    const dir = await mkdtemp(join(tmpdir(), 'graph-model-'));
    try {
      await writeFile(join(dir, 'model.json'), JSON.stringify(files.json));
      await writeFile(join(dir, SHARD), new Uint8Array(files.weightData));
      const fromFile = await loadGraphFromFile(join(dir, 'model.json'));
      expect(weighted(fromFile)).toEqual(['conv2d', 'conv2d', 'conv2d', 'dense', 'dense']);
      disposeGraph(fromFile);
    } finally {
      await rm(dir, { recursive: true });
    }
    const upload = await graphFromUpload([
      { name: 'lenet/model.json', bytes: new TextEncoder().encode(JSON.stringify(files.json)) },
      { name: `lenet/${SHARD}`, bytes: new Uint8Array(files.weightData) },
    ]);
    expect(upload.format).toBe('tfjs-graph');
    expect(upload.graph.name).toBe('lenet');
    disposeGraph(upload.graph);
  });
});

/** Random weights of a shape, seeded. */
function random(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal(shape, 0, 0.5, 'float32', seed).dataSync() as Float32Array);
}

/**
 * A small graph of the other ops: Pad, DepthwiseConv2dNative + BiasAdd + Relu6, _FusedConv2D
 * with BiasAdd + LeakyRelu, AddV2 of two branches, Elu, AvgPool (SAME), MaxPool, ConcatV2,
 * Conv2D + FusedBatchNormV3 (or fused into _FusedConv2D) + Tanh, Mean with keep_dims, Squeeze,
 * MatMul times a per-unit Mul, BiasAdd, Sigmoid.
 */
function opsGraph(fuseBatchNorm = false): GraphModelFiles {
  const w = new GraphDefWriter();
  const T = { T: attr.type() };
  const x = w.placeholder('x', [-1, 8, 8, 2]);
  const pads = w.constant('pads', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0], 'int32');
  const padded = w.op('pad', 'Pad', [x, pads], { ...T, Tpaddings: attr.type('DT_INT32') });
  const dwFilter = w.constant('dw/filter', [3, 3, 2, 2], random([3, 3, 2, 2], 1));
  let dw = w.op(
    'dw/depthwise',
    'DepthwiseConv2dNative',
    [padded, dwFilter],
    convAttrs([1, 1], 'VALID'),
  );
  dw = w.op('dw/BiasAdd', 'BiasAdd', [dw, w.constant('dw/bias', [4], random([4], 2))], T);
  dw = w.op('dw/Relu6', 'Relu6', [dw], T);
  const convFilter = w.constant('conv/filter', [3, 3, 2, 4], random([3, 3, 2, 4], 3));
  const conv = w.op(
    'conv/LeakyRelu',
    '_FusedConv2D',
    [x, convFilter, w.constant('conv/bias', [4], random([4], 4))],
    { ...convAttrs([1, 1], 'SAME', ['BiasAdd', 'LeakyRelu']), leakyrelu_alpha: attr.float(0.1) },
  );
  const sum = w.op('sum/Elu', 'Elu', [w.op('sum/add', 'AddV2', [dw, conv], T)], T);
  const pool = {
    ...T,
    data_format: attr.str('NHWC'),
    ksize: attr.ints([1, 2, 2, 1]),
    strides: attr.ints([1, 2, 2, 1]),
  };
  const avg = w.op('avg/AvgPool', 'AvgPool', [sum], { ...pool, padding: attr.str('SAME') });
  const max = w.op('max/MaxPool', 'MaxPool', [conv], { ...pool, padding: attr.str('VALID') });
  const axis = w.constant('cat/axis', [], [-1], 'int32');
  const cat = w.op('cat/concat', 'ConcatV2', [avg, max, axis], {
    ...T,
    N: attr.int(2),
    Tidx: attr.type('DT_INT32'),
  });
  const mixFilter = w.constant('mix/filter', [1, 1, 8, 6], random([1, 1, 8, 6], 5));
  const bn = ['gamma', 'beta', 'mean', 'variance'].map((name, i) =>
    w.constant(`mix/${name}`, [6], i === 3 ? random([6], 6 + i).map(Math.abs) : random([6], 6 + i)),
  );
  let mix: string;
  if (fuseBatchNorm) {
    mix = w.op('mix/Tanh', '_FusedConv2D', [cat, mixFilter, ...bn], {
      ...convAttrs([1, 1], 'VALID', ['FusedBatchNorm', 'Tanh']),
      epsilon: attr.float(1e-3),
    });
  } else {
    mix = w.op('mix/Conv2D', 'Conv2D', [cat, mixFilter], convAttrs([1, 1], 'VALID'));
    mix = w.op('mix/bn', 'FusedBatchNormV3', [mix, ...bn], {
      ...T,
      data_format: attr.str('NHWC'),
      epsilon: attr.float(1e-3),
      is_training: attr.bool(false),
    });
    mix = w.op('mix/Tanh', 'Tanh', [mix], T);
  }
  const axes = w.constant('gap/axes', [2], [1, 2], 'int32');
  const gap = w.op('gap/Mean', 'Mean', [mix, axes], { ...T, keep_dims: attr.bool(true) });
  const squeezed = w.op('gap/Squeeze', 'Squeeze', [gap], { ...T, squeeze_dims: attr.ints([1, 2]) });
  let fc = w.op(
    'fc/MatMul',
    'MatMul',
    [squeezed, w.constant('fc/kernel', [6, 5], random([6, 5], 11))],
    matMulAttrs(),
  );
  fc = w.op('fc/mul', 'Mul', [fc, w.constant('fc/scale', [5], random([5], 12))], T);
  fc = w.op('fc/BiasAdd', 'BiasAdd', [fc, w.constant('fc/bias', [5], random([5], 13))], T);
  const out = w.op('Identity', 'Identity', [w.op('fc/Sigmoid', 'Sigmoid', [fc], T)], T);
  return w.files(out, [-1, 8, 8, 2], [-1, 5]);
}

describe('graph-model ops', () => {
  it('every supported op gives TF.js’s output; a fused BatchNorm equals the unfused one', async () => {
    const files = opsGraph();
    const g = await load(files);
    expect(g.nodes.map((n) => n.op)).toEqual(
      expect.arrayContaining([
        'zeroPad',
        'depthwiseConv2d',
        'leakyRelu',
        'add',
        'avgPool',
        'maxPool',
        'concat',
        'batchNorm',
        'globalAvgPool',
        'dense',
      ]),
    );
    expect(await differenceFromTfjs(g, files, [8, 8, 2])).toBeLessThan(1e-4);
    // TF.js cannot run _FusedConv2D with FusedBatchNorm; the IR of it must equal the unfused one's.
    const fused = await load(opsGraph(true));
    const diff = tf.tidy(() => {
      const x = tf.randomUniform([3, 8, 8, 2], 0, 1, 'float32', 9);
      return tf.max(tf.abs(tf.sub(forward(g, x).output, forward(fused, x).output))).dataSync()[0];
    });
    expect(diff).toBeLessThan(1e-5);
    disposeGraph(g);
    disposeGraph(fused);
  });
});

describe('graph-model errors', () => {
  const edited = (edit: (files: GraphModelFiles) => void): GraphModelFiles => {
    const files = opsGraph();
    edit(files);
    return files;
  };
  const node = (files: GraphModelFiles, name: string) =>
    files.json.modelTopology.node.find((n) => n.name === name)!;

  it('an unsupported op is named with its node and the supported ops', async () => {
    const e = await importError(edited((f) => (node(f, 'sum/Elu').op = 'Selu')));
    expect(e).toBeInstanceOf(UnsupportedLayerError);
    expect(e.message).toMatch(/Selu node 'sum\/Elu': this op is not supported/);
    expect(e.hint).toMatch(/Supported ops: .*ConcatV2/);
    const nchw = await importError(
      edited((f) => (node(f, 'mix/Conv2D').attr.data_format = attr.str('NCHW'))),
    );
    expect(nchw.message).toMatch(/Conv2D node 'mix\/Conv2D': data_format NCHW/);
  });

  it('broken files: no nodes, a dangling input, a cycle, short weights', async () => {
    const empty = await importError(edited((f) => (f.json.modelTopology.node = [])));
    expect(empty).toBeInstanceOf(InvalidModelError);
    expect(empty.message).toMatch(/graph model without nodes/);
    const dangling = await importError(edited((f) => (node(f, 'sum/add').input[1] = 'nowhere')));
    expect(dangling.message).toMatch(
      /Node 'sum\/add' reads 'nowhere', which no node of 'model' produces/,
    );
    const cycle = await importError(edited((f) => (node(f, 'dw/Relu6').input = ['sum/Elu'])));
    expect(cycle.message).toMatch(/cycle/);
    const short = await importError(edited((f) => (f.weightData = f.weightData.slice(0, 100))));
    expect(short.message).toMatch(/expected \d+ bytes, found 100/);
  });
});
