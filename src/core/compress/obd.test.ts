import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, forward, GraphBuilder, type Graph } from '../graph';
import { initBackend } from '../runtime/backend';
import { InvalidInputError } from '../runtime/errors';
import { expectFlatTensorCount } from '../runtime/guards';
import { buildArchitecture } from '../zoo';
import {
  deletionMasks,
  disposeDiagonal,
  exactHessianDiagonal,
  hessianDiagonal,
  obdLoss,
  saliency,
  type ObdBatch,
  type WeightDiagonal,
} from './obd';

beforeAll(async () => {
  await initBackend('wasm');
});

const read = (h: WeightDiagonal, id: string, w: string) => Array.from(h.get(id)![w].dataSync());

function batchOf(g: Graph, n: number, outputs: number, seed: number): ObdBatch {
  return {
    x: tf.randomNormal([n, ...g.inputShape], 0, 1, 'float32', seed),
    y: tf.randomNormal([n, outputs], 0, 1, 'float32', seed + 1),
  };
}

/** Share of the entries of `a` within 1 % (of b's largest magnitude) of b's. */
function agreement(a: number[], b: number[]): number {
  const scale = Math.max(...b.map(Math.abs));
  return a.filter((v, i) => Math.abs(v - b[i]) < 1e-2 * scale).length / a.length;
}

/** Largest |a − b| relative to the largest |b|. */
function relativeError(a: number[], b: number[]): number {
  const scale = Math.max(...b.map(Math.abs));
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
}

describe('Optimal Brain Damage: the diagonal Hessian', () => {
  it('on a quadratic (linear model, squared error) the recursion is the exact diagonal, and h·u²/2 is the loss rise of deleting u at a minimum', () => {
    const g = new GraphBuilder('linear', [4], 1).dense('fc', 3).build();
    const batch = batchOf(g, 16, 3, 2);
    const h = hessianDiagonal(g, [batch], 'squared-error');
    const exact = exactHessianDiagonal(g, batch, 'squared-error');
    // Closed form: E = mean over N·K of (xW + b − y)², so h(W_jk) = 2/(N·K)·Σ_n x_nj², h(b) = 2/K.
    const x = batch.x.arraySync() as number[][];
    const closed = x[0].map((_, j) => (2 / 48) * x.reduce((s, row) => s + row[j] ** 2, 0));
    expect(
      relativeError(
        read(h, 'fc', 'kernel'),
        closed.flatMap((c) => [c, c, c]),
      ),
    ).toBeLessThan(1e-5);
    expect(read(h, 'fc', 'bias')).toEqual(
      [2 / 3, 2 / 3, 2 / 3].map((v) => expect.closeTo(v, 6) as unknown as number),
    );
    for (const w of ['kernel', 'bias']) {
      expect(relativeError(read(h, 'fc', w), read(exact, 'fc', w))).toBeLessThan(1e-3);
    }
    // At the least-squares minimum (gradient 0) deleting one weight raises E by exactly h·u²/2.
    const kernel = g.nodes[1].weights.kernel;
    const solve = tf.train.adam(0.05);
    const lossNow = () => obdLoss(forward(g, batch.x).output, batch.y, 'squared-error');
    for (let i = 0; i < 1500; i++) tf.tidy(() => void solve.minimize(lossNow, false));
    solve.dispose();
    disposeDiagonal(h);
    const atMin = hessianDiagonal(g, [batch], 'squared-error');
    const s = saliency(atMin.get('fc')!.kernel, kernel);
    // The largest weight: its deletion costs most, far above float32 rounding.
    const values = Array.from(kernel.dataSync());
    const k = values.reduce((best, v, i) => (Math.abs(v) > Math.abs(values[best]) ? i : best), 0);
    const predicted = s.dataSync()[k];
    const before = tf.tidy(() => lossNow().dataSync()[0]);
    const u = values[k];
    const deleted = kernel.bufferSync();
    deleted.values[k] = 0;
    kernel.assign(deleted.toTensor());
    const after = tf.tidy(() => lossNow().dataSync()[0]);
    expect(predicted).toBeCloseTo((read(atMin, 'fc', 'kernel')[k] * u * u) / 2, 7);
    expect(after - before).toBeCloseTo(predicted, 4);
    expect(predicted).toBeGreaterThan(1e-3);
    tf.dispose([s, batch.x, batch.y]);
    [atMin, exact].forEach(disposeDiagonal);
    disposeGraph(g);
  });

  it('a conv → ReLU → max-pool → flatten net under the squared error: the recursion is exact (no output mixes positions, ReLU has no f″)', () => {
    const g = new GraphBuilder('conv', [6, 6, 2], 3)
      .conv('conv', 3, 3, { padding: 'same' })
      .act('relu')
      .maxPool('pool')
      .add('flatten', 'flatten', {})
      .build();
    const batch = batchOf(g, 8, 27, 4);
    const h = hessianDiagonal(g, [batch], 'squared-error');
    const exact = exactHessianDiagonal(g, batch, 'squared-error');
    // The finite differences jump where ±ε crosses a ReLU's kink or a pooling switch (a few of
    // the 8·36 positions a shared weight sees); everywhere else the two agree.
    expect(agreement(read(h, 'conv', 'kernel'), read(exact, 'conv', 'kernel'))).toBeGreaterThan(
      0.9,
    );
    expect(agreement(read(h, 'conv', 'bias'), read(exact, 'conv', 'bias'))).toBe(1);
    tf.dispose([batch.x, batch.y]);
    [h, exact].forEach(disposeDiagonal);
    disposeGraph(g);
  });

  it('a ReLU MLP: exact under the squared error; under cross-entropy the Gauss–Newton recursion is close (it drops the softmax’s cross terms)', () => {
    const g = new GraphBuilder('mlp', [5], 5).dense('fc1', 6).act('relu').dense('fc2', 3).build();
    const batch = batchOf(g, 32, 3, 6);
    const h = hessianDiagonal(g, [batch], 'squared-error');
    const exact = exactHessianDiagonal(g, batch, 'squared-error');
    for (const id of ['fc1', 'fc2']) {
      expect(relativeError(read(h, id, 'kernel'), read(exact, id, 'kernel'))).toBeLessThan(1e-2);
    }
    const labels = {
      x: batch.x,
      y: tf.tensor1d(
        [...Array(32).keys()].map((i) => i % 3),
        'int32',
      ),
    };
    const ce = hessianDiagonal(g, [labels], 'cross-entropy');
    const ceExact = exactHessianDiagonal(g, labels, 'cross-entropy');
    // The output layer's diagonal has no cross term: h(W_jk) = Σ x_j²·p_k(1 − p_k)/N exactly.
    expect(relativeError(read(ce, 'fc2', 'kernel'), read(ceExact, 'fc2', 'kernel'))).toBeLessThan(
      1e-2,
    );
    const hidden = relativeError(read(ce, 'fc1', 'kernel'), read(ceExact, 'fc1', 'kernel'));
    expect(hidden).toBeLessThan(0.5);
    tf.dispose([batch.x, batch.y, labels.y]);
    [h, exact, ce, ceExact].forEach(disposeDiagonal);
    disposeGraph(g);
  });

  it('refuses the exact diagonal of a model above the size limit, with a clear message', () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const batch = { x: tf.zeros([1, 32, 32, 1]), y: tf.tensor1d([0], 'int32') };
    expect(() => exactHessianDiagonal(g, batch, 'cross-entropy')).toThrow(InvalidInputError);
    expect(() => exactHessianDiagonal(g, batch, 'cross-entropy')).toThrow(/61706 weights/);
    tf.dispose([batch.x, batch.y]);
    disposeGraph(g);
  });

  it('keeps the tensor count flat over repeated recursions on LeNet-5', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const batch = {
      x: tf.randomNormal([8, 32, 32, 1]),
      y: tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'),
    };
    await expectFlatTensorCount(
      () => disposeDiagonal(hessianDiagonal(g, [batch, batch], 'cross-entropy')),
      3,
    );
    tf.dispose([batch.x, batch.y]);
    disposeGraph(g);
  });

  it('deletion masks: global deletes the lowest scores anywhere, per layer the same share of each', () => {
    const scores = new Map([
      ['a', Float32Array.from([1, 2, 3, 4])],
      ['b', Float32Array.from([10, 20, -Infinity, 40])],
    ]);
    const global = deletionMasks(scores, 0.5, 'global');
    expect(Array.from(global.get('a')!)).toEqual([0, 0, 0, 1]);
    expect(Array.from(global.get('b')!)).toEqual([1, 1, 0, 1]);
    const layer = deletionMasks(scores, 0.5, 'layer');
    expect(Array.from(layer.get('a')!)).toEqual([0, 0, 1, 1]);
    expect(Array.from(layer.get('b')!)).toEqual([0, 1, 0, 1]);
  });
});
