/**
 * The Sum and Mean gradients (gradients.ts) give TF.js's values without building a JavaScript
 * array of ones as large as x: they run the backend's OnesLike kernel instead.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { registerTrainingGradients } from './gradients';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingGradients();
});

describe('reduction gradients', () => {
  const x = tf.tensor4d(
    Array.from({ length: 2 * 3 * 2 * 4 }, (_, i) => i / 7),
    [2, 3, 2, 4],
  );
  const w = tf.tensor1d([1, -2, 3, 0.5]);

  it('Mean: dy / (reduced size) on every reduced element', async () => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 1, 2]), w)))(x);
    const expected = tf.mul(tf.onesLike(x), tf.div(w, 12));
    expect(Array.from(await g.data())).toEqual(Array.from(await expected.data()));
  });

  it('Sum: dy on every reduced element, keeping the other axes apart', async () => {
    const v = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, [2, 3]), v)))(x);
    const expected = tf.mul(tf.onesLike(x), tf.reshape(v, [2, 3, 1, 1]));
    expect(Array.from(await g.data())).toEqual(Array.from(await expected.data()));
  });

  it('fills the ones on the backend', async () => {
    const { kernels } = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.mean(tf.square(t)))(x));
    expect(kernels.map((k) => k.name)).toContain('OnesLike');
  });
});

describe('inference-mode batch norm gradient', () => {
  const x = tf.tensor4d(
    Array.from({ length: 2 * 3 * 2 * 4 }, (_, i) => Math.sin(i) * 3),
    [2, 3, 2, 4],
  );
  const w = tf.tensor4d(
    Array.from({ length: 2 * 3 * 2 * 4 }, (_, i) => Math.cos(i * 0.7)),
    [2, 3, 2, 4],
  );
  const vector = (values: number[], rank4: boolean) =>
    rank4 ? tf.tensor4d(values, [1, 1, 1, 4]) : tf.tensor1d(values);

  it('gives the gradients of (x − μ)/√(σ² + ε)·γ + β composed of plain ops, for every input', async () => {
    for (const rank4 of [false, true]) {
      const mean = vector([0.5, -1, 2, 0], rank4);
      const variance = vector([1, 0.25, 4, 2], rank4);
      const offset = vector([0.1, 0.2, -0.3, 0], rank4);
      const scale = vector([2, -1, 0.5, 1.5], rank4);
      const inputs = [x, mean, variance, offset, scale];
      const loss =
        (norm: (t: tf.Tensor[]) => tf.Tensor) =>
        (...t: tf.Tensor[]) =>
          tf.sum(tf.mul(norm(t), w));
      const fused = tf.grads(loss(([a, m, v, o, s]) => tf.batchNorm(a, m, v, o, s, 1e-3)))(inputs);
      const composed = tf.grads(
        loss(([a, m, v, o, s]) =>
          tf.add(tf.mul(tf.div(tf.sub(a, m), tf.sqrt(tf.add(v, 1e-3))), s), o),
        ),
      )(inputs);
      for (const [i, g] of fused.entries()) {
        expect(g.shape).toEqual(inputs[i].shape);
        const [got, want] = [await g.data(), await composed[i].data()];
        want.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 4));
      }
    }
  });

  it('computes dx alone in one multiply over the activation', async () => {
    const [mean, variance, offset, scale] = [
      [0.5, -1, 2, 0],
      [1, 0.25, 4, 2],
      [0, 1, 0, 1],
      [2, 1, 1, 3],
    ].map((v) => tf.tensor1d(v));
    const norm = (t: tf.Tensor) => tf.batchNorm(t, mean, variance, offset, scale, 1e-3);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(norm(t), w)))(x);
    const expected = tf.div(tf.mul(w, scale), tf.sqrt(tf.add(variance, 1e-3)));
    const [got, want] = [await dx.data(), await expected.data()];
    want.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 5));
    const { kernels } = await tf.profile(() => tf.grad(norm)(x));
    // Over the activation, besides the tape's own copies and reshapes (no pass over the data):
    // the forward and dx.
    const full = kernels.filter(
      (k) =>
        !['Identity', 'Reshape'].includes(k.name) &&
        k.outputShapes.some((s) => s.length === 4 && s[0] === 2),
    );
    expect(full.map((k) => k.name)).toEqual(['FusedBatchNorm', 'Multiply']);
  });
});
