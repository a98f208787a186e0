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
