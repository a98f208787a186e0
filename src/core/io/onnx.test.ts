import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOnnxFixtures } from '../../../scripts/make-onnx-fixtures';
import { batches, loadDataset, type Dataset } from '../data';
import { disposeGraph, forward, GraphBuilder, type Graph } from '../graph';
import { accuracy, inputOptions, pixelMap } from '../metrics';
import { initBackend } from '../runtime/backend';
import { ClabError } from '../runtime/errors';
import { loadTeacher } from '../zoo';
import { graphFromOnnx, graphToOnnx } from './onnx';
import {
  encodeModel,
  nodeProto,
  tensorProto,
  valueInfo,
  type HostTensor,
  type NodeProto,
} from './onnx/proto';

const EXAMPLES = 500;
const indices = Array.from({ length: EXAMPLES }, (_, i) => i);
let test: Dataset;
let fixtures: Map<string, Uint8Array>;

beforeAll(async () => {
  await initBackend('wasm');
  ort.env.wasm.numThreads = 1;
  [test, fixtures] = await Promise.all([loadDataset('mnist', 'test'), makeOnnxFixtures()]);
});

/** The first test images as the IR takes them, and as the exported file does: [0, 1] pixels, NCHW. */
function pixels(g: Graph, n = EXAMPLES): { nchw: tf.Tensor4D; normalised: tf.Tensor } {
  const batch = batches(test, {
    ...inputOptions(g, test),
    batchSize: n,
    indices: indices.slice(0, n),
  }).next().value!;
  // Back from the model's input to stored pixels p, then u = p / 255.
  const { scale, offset } = pixelMap(g.preprocessing);
  const nchw = tf.tidy(() =>
    tf.transpose(
      tf.div(
        tf.sub(batch.x, offset),
        scale.map((s) => 255 * s),
      ),
      [0, 3, 1, 2],
    ),
  ) as tf.Tensor4D;
  batch.y.dispose();
  return { nchw, normalised: batch.x };
}

async function runOnnx(bytes: Uint8Array, x: tf.Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', await x.data(), x.shape) };
  const out = await session.run(feeds);
  const result = out[session.outputNames[0]].data as Float32Array;
  await session.release();
  return result;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function importError(bytes: Uint8Array): ClabError {
  try {
    disposeGraph(graphFromOnnx(bytes, 'model.onnx'));
  } catch (e) {
    expect(e).toBeInstanceOf(ClabError);
    return e as ClabError;
  }
  throw new Error('the import did not fail');
}

describe('ONNX import of the teachers in PyTorch and tf2onnx layouts', () => {
  const measured: Record<string, number> = {};
  afterAll(() => console.log('ONNX fixture accuracies on 500 MNIST test images:', measured));

  for (const teacherId of ['lenet5-mnist', 'bnnet-mnist']) {
    for (const layout of ['nchw', 'nhwc']) {
      it(`${teacherId}-${layout}.onnx evaluates at the teacher’s accuracy`, async () => {
        const teacher = await loadTeacher(teacherId);
        const g = graphFromOnnx(fixtures.get(`${teacherId}-${layout}.onnx`)!, teacherId);
        expect(g.inputShape).toEqual(teacher.inputShape);
        expect(Number(g.preprocessing.mean)).toBeCloseTo(Number(teacher.preprocessing.mean), 5);
        expect(Number(g.preprocessing.std)).toBeCloseTo(Number(teacher.preprocessing.std), 5);
        const expected = await accuracy(teacher, test, { indices });
        const got = await accuracy(g, test, { indices });
        measured[`${teacherId}-${layout}`] = got;
        expect(expected).toBeGreaterThan(0.97);
        expect(got).toBe(expected);
        // Layers, not wrappers: the same kinds of weighted nodes as the teacher.
        const layers = (x: Graph) =>
          x.nodes.filter((n) => Object.keys(n.weights).length).map((n) => n.op);
        expect(layers(g)).toEqual(layers(teacher));
        disposeGraph(teacher);
        disposeGraph(g);
      });
    }
  }
});

describe('ONNX export', () => {
  it('onnxruntime gives the IR’s predictions for the exported teachers, and re-import gives them too', async () => {
    // The MLP: a one-channel flatten and dropout.
    for (const teacherId of ['lenet5-mnist', 'bnnet-mnist', 'mlp1200-mnist']) {
      const teacher = await loadTeacher(teacherId);
      const bytes = await graphToOnnx(teacher);
      const { nchw, normalised } = pixels(teacher, 200);
      const irLogits = tf.tidy(() => forward(teacher, normalised).output);
      const ortLogits = await runOnnx(bytes, nchw);
      const reimported = graphFromOnnx(bytes, teacherId);
      const again = tf.tidy(() => forward(reimported, normalised).output);
      expect(maxAbsDiff(ortLogits, await irLogits.data())).toBeLessThan(1e-3);
      expect(maxAbsDiff(await again.data(), await irLogits.data())).toBeLessThan(1e-4);
      tf.dispose([nchw, normalised, irLogits, again]);
      disposeGraph(teacher);
      disposeGraph(reimported);
    }
  });

  it('permutes a dense layer’s rows after a flatten of a multi-channel map (both ways)', async () => {
    // Random weights on a 28×28 input: conv 4 → pool → flatten 13·13·4 → dense 10. Without the
    // permutation ONNX's C, H, W flatten order would meet rows in the IR's H, W, C order.
    const g = new GraphBuilder('flatten-order', [28, 28, 1], 7)
      .conv('conv', 4, 3)
      .act('relu')
      .maxPool('pool')
      .add('flatten', 'flatten', {})
      .dense('fc', 10)
      .build();
    const bytes = await graphToOnnx(g);
    const { nchw, normalised } = pixels(g, 50);
    const irLogits = tf.tidy(() => forward(g, normalised).output);
    expect(maxAbsDiff(await runOnnx(bytes, nchw), await irLogits.data())).toBeLessThan(1e-4);
    const reimported = graphFromOnnx(bytes, 'flatten-order');
    const again = tf.tidy(() => forward(reimported, normalised).output);
    expect(maxAbsDiff(await again.data(), await irLogits.data())).toBeLessThan(1e-5);
    tf.dispose([nchw, normalised, irLogits, again]);
    disposeGraph(g);
    disposeGraph(reimported);
  });
});

describe('ONNX round trip of the other IR ops', () => {
  it('branches, depthwise, padding, pooling and activations match onnxruntime and re-import', async () => {
    const b = new GraphBuilder('ops', [28, 28, 1], 3, { mean: 0.5, std: 0.25, range: 'raw' });
    b.conv('stem', 6, 3, { padding: 'same' }).add('leakyRelu', 'leaky', { alpha: 0.2 });
    b.add(
      'zeroPad',
      'pad',
      {
        padding: [
          [1, 0],
          [2, 0],
        ],
      },
      ['leaky'],
    );
    const dw = {
      kernelSize: [3, 3] as [number, number],
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      useBias: true,
    };
    b.add('depthwiseConv2d', 'dw', { ...dw, padding: 'valid', depthMultiplier: 1 }).act(
      'relu6',
      'relu6',
    );
    b.add('conv2d', 'side', { ...dw, filters: 6, padding: 'same' }, ['leaky']).act(
      'side_act',
      'sigmoid',
    );
    b.add('avgPool', 'pool_a', { poolSize: [2, 2], strides: [2, 2], padding: 'same' }, ['relu6']);
    b.add('avgPool', 'pool_b', { poolSize: [3, 3], strides: [2, 2], padding: 'same' }, [
      'side_act',
    ]);
    b.add('add', 'sum', {}, ['pool_a', 'pool_b']).batchNorm('bn').act('tanh', 'tanh');
    b.add('concat', 'cat', { axis: -1 }, ['tanh', 'pool_a']).add('flatten', 'flatten', {});
    const g = b.dense('fc', 10).build();
    // Non-trivial BatchNorm statistics, so a wrong parameter order would show.
    g.nodes.find((n) => n.id === 'bn')!.weights.movingMean.assign(tf.fill([6], 0.3));
    const bytes = await graphToOnnx(g);
    const { nchw, normalised } = pixels(g, 20);
    const irLogits = tf.tidy(() => forward(g, normalised).output);
    expect(maxAbsDiff(await runOnnx(bytes, nchw), await irLogits.data())).toBeLessThan(1e-4);
    const reimported = graphFromOnnx(bytes, 'ops');
    expect(reimported.nodes.map((n) => n.op)).toContain('leakyRelu');
    const again = tf.tidy(() => forward(reimported, normalised).output);
    expect(maxAbsDiff(await again.data(), await irLogits.data())).toBeLessThan(1e-5);
    tf.dispose([nchw, normalised, irLogits, again]);
    disposeGraph(g);
    disposeGraph(reimported);
  });
});

/** A one-node model on a [batch, 1, 4, 4] input, to test one operator's import. */
function oneNode(
  op: string,
  inputs: string[],
  attrs = {},
  extra: Parameters<typeof tensorProto>[] = [],
) {
  return encodeModel(
    {
      name: 'one',
      node: [nodeProto(op, ['x', ...inputs], ['y'], attrs, 'the_node')],
      initializer: extra.map((args) => tensorProto(...args)),
      input: [valueInfo('x', ['N', 1, 4, 4])],
      output: [valueInfo('y', ['N', 16])],
    },
    13,
  );
}

/** Seeded values in [-1, 1). */
function randomTensor(dims: number[], seed: number): HostTensor {
  let state = seed;
  const values = Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31) * 2 - 1;
  });
  return { dims, values };
}

/** The import of `bytes` (an NCHW [batch, 2, 6, 6] input) computes what onnxruntime computes. */
async function expectImportMatchesOnnxRuntime(bytes: Uint8Array) {
  const g = graphFromOnnx(bytes, 'small');
  const u = tf.tensor(randomTensor([3, 2, 6, 6], 99).values, [3, 2, 6, 6]);
  const expected = await runOnnx(bytes, u);
  const got = tf.tidy(() => forward(g, tf.transpose(u, [0, 2, 3, 1])).output);
  expect(maxAbsDiff(await got.data(), expected)).toBeLessThan(1e-5);
  tf.dispose([u, got]);
  disposeGraph(g);
}

function smallModel(
  nodes: NodeProto[],
  weights: [string, HostTensor][],
  opset: number,
  classes = 4,
) {
  return encodeModel(
    {
      name: 'small',
      node: nodes,
      initializer: weights.map(([name, t]) => tensorProto(name, t)),
      input: [valueInfo('x', ['N', 2, 6, 6])],
      output: [valueInfo('y', ['N', classes])],
    },
    opset,
  );
}

describe('ONNX import against onnxruntime on small models of each opset form', () => {
  it('a flat [batch, 36] input is a flattened 6×6 one-channel image', async () => {
    const bytes = encodeModel(
      {
        name: 'mlp',
        node: [nodeProto('Gemm', ['x', 'k', 'b'], ['y'], { transB: { int: 1 } })],
        initializer: [
          tensorProto('k', randomTensor([3, 36], 8)),
          tensorProto('b', randomTensor([3], 9)),
        ],
        input: [valueInfo('x', ['N', 36])],
        output: [valueInfo('y', ['N', 3])],
      },
      13,
    );
    const g = graphFromOnnx(bytes, 'mlp');
    expect(g.inputShape).toEqual([6, 6, 1]);
    const u = tf.tensor(randomTensor([2, 36], 10).values, [2, 36]);
    const got = tf.tidy(() => forward(g, tf.reshape(u, [2, 6, 6, 1])).output);
    expect(maxAbsDiff(await got.data(), await runOnnx(bytes, u))).toBeLessThan(1e-5);
    tf.dispose([u, got]);
    disposeGraph(g);
  });

  it('opset 10: asymmetric Conv pads, Clip bounds as attributes, Gemm alpha/beta, Dropout ratio attribute', async () => {
    const bytes = smallModel(
      [
        nodeProto('Conv', ['x', 'w', 'b'], ['c'], {
          kernel_shape: { ints: [3, 3] },
          pads: { ints: [0, 1, 1, 0] },
          strides: { ints: [2, 1] },
        }),
        nodeProto('Clip', ['c'], ['r'], { min: 0, max: 6 }),
        nodeProto('Flatten', ['r'], ['f']),
        nodeProto('Dropout', ['f'], ['d'], { ratio: 0.3 }),
        nodeProto('Gemm', ['d', 'k', 'bias'], ['y'], { alpha: 0.5, beta: 2 }),
      ],
      [
        ['w', randomTensor([3, 2, 3, 3], 1)],
        ['b', randomTensor([3], 2)],
        ['k', randomTensor([3 * 3 * 5, 4], 3)],
        ['bias', randomTensor([1, 4], 4)],
      ],
      10,
    );
    await expectImportMatchesOnnxRuntime(bytes);
  });

  it('opset 13: MatMul and Sub as a bias, GlobalAveragePool, LeakyRelu, Softmax, AveragePool counting its pads', async () => {
    const bytes = smallModel(
      [
        nodeProto('AveragePool', ['x'], ['p'], {
          kernel_shape: { ints: [3, 3] },
          pads: { ints: [1, 1, 1, 1] },
          count_include_pad: { int: 1 },
        }),
        nodeProto('Conv', ['p', 'w'], ['c'], { kernel_shape: { ints: [1, 1] } }),
        nodeProto('LeakyRelu', ['c'], ['l'], { alpha: 0.1 }),
        nodeProto('GlobalAveragePool', ['l'], ['g']),
        nodeProto('Flatten', ['g'], ['f']),
        nodeProto('MatMul', ['f', 'k'], ['m']),
        nodeProto('Sub', ['m', 'b'], ['s']),
        nodeProto('Softmax', ['s'], ['y']),
      ],
      [
        ['w', randomTensor([5, 2, 1, 1], 5)],
        ['k', randomTensor([5, 4], 6)],
        ['b', randomTensor([4], 7)],
      ],
      13,
    );
    await expectImportMatchesOnnxRuntime(bytes);
  });
});

describe('ONNX import refuses what it cannot represent, saying what and how to fix it', () => {
  it('names an unsupported operator, its node and the supported list', () => {
    const e = importError(oneNode('Erf', []));
    expect(e.message).toMatch(/Erf node 'the_node'.*not supported/);
    expect(e.hint).toMatch(/Supported operators: Conv, Gemm/);
  });

  it('refuses clipping that is not ReLU or ReLU6', () => {
    const e = importError(
      oneNode('Clip', ['lo', 'hi'], {}, [
        ['lo', { dims: [], values: Float32Array.of(-1) }],
        ['hi', { dims: [], values: Float32Array.of(1) }],
      ]),
    );
    expect(e.message).toMatch(/Clip node 'the_node': clipping to \[-1, 1\]/);
  });

  it('reads per-channel input normalisation as the preprocessing, refuses one varying per pixel, and max pooling padded unlike "same"', () => {
    const normalised = (values: number[]) =>
      smallModel(
        [
          nodeProto('Sub', ['x', 'mean'], ['c']),
          nodeProto('Div', ['c', 'std'], ['n']),
          nodeProto('GlobalAveragePool', ['n'], ['g']),
          nodeProto('Flatten', ['g'], ['y']),
        ],
        [
          ['mean', { dims: [1, values.length, 1, 1], values: Float32Array.from(values) }],
          ['std', { dims: [], values: Float32Array.of(0.5) }],
        ],
        13,
        2,
      );
    const g = graphFromOnnx(normalised([0.1, 0.2]), 'per-channel');
    expect(g.preprocessing.mean).toEqual([0.1, 0.2].map(Math.fround));
    expect(g.preprocessing.std).toBe(0.5);
    disposeGraph(g);
    const perPixel = smallModel(
      [
        nodeProto('Sub', ['x', 'mean'], ['n']),
        nodeProto('GlobalAveragePool', ['n'], ['g']),
        nodeProto('Flatten', ['g'], ['y']),
      ],
      [['mean', randomTensor([1, 2, 6, 6], 11)]],
      13,
      2,
    );
    expect(importError(perPixel).message).toMatch(
      /Sub node 'n': it normalises the input with a constant that is not one value per channel/,
    );
    const pooled = smallModel(
      [
        nodeProto('MaxPool', ['x'], ['p'], {
          kernel_shape: { ints: [2, 2] },
          pads: { ints: [1, 1, 0, 0] },
        }),
        nodeProto('GlobalAveragePool', ['p'], ['g']),
        nodeProto('Flatten', ['g'], ['y']),
      ],
      [],
      13,
      2,
    );
    const e = importError(pooled);
    expect(e.message).toMatch(
      /MaxPool node 'p': pads \[1, 1, 0, 0\] are neither 'same' nor 'valid'/,
    );
    expect(e.hint).toMatch(/Pad/);
  });

  it('says random bytes are not an ONNX model', () => {
    const e = importError(new TextEncoder().encode('{"modelTopology": {}}'));
    expect(e.message).toMatch(/'model\.onnx' is not (a readable ONNX model|an ONNX model)/);
    expect(e.hint).toMatch(/\.onnx/);
  });

  it('says a truncated file is truncated', () => {
    const bytes = fixtures.get('lenet5-mnist-nchw.onnx')!;
    const e = importError(bytes.slice(0, Math.floor(bytes.length / 2)));
    expect(e.message).toMatch(/truncated or not ONNX/);
  });
});
