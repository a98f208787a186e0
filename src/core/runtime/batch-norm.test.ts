/**
 * Training-mode batch norm (batch-norm.ts) on wasm, one kernel forward and one backward,
 * against TF.js's moments and batchNorm on the CPU backend: outputs and the gradients of all
 * three inputs through all three outputs. (wasm-threads.test.ts runs it split over threads.)
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { compareBatchNormTraining, expectClose, onBoth, random } from './backend-comparison';
import { batchNormTraining, channelMoments } from './batch-norm';
import { registerWasmTrainingKernels } from './wasm-kernels';

beforeAll(() => registerWasmTrainingKernels());

describe('batchNormTraining', () => {
  it("gives TF.js's outputs and gradients on images and on rows", async () => {
    // Six channels: a block of the per-channel kernels holds their pattern 128 times over
    // with 2 floats left (256 = 42·6 + 4 does not divide), so the pattern must be built right.
    await compareBatchNormTraining([5, 7, 9, 6], 'NHWC, 6 channels');
    await compareBatchNormTraining([3, 4, 4, 16], 'NHWC, 16 channels');
    await compareBatchNormTraining([20, 84], 'rows');
  });

  it('keeps the variance where the mean is far from zero', async () => {
    await compareBatchNormTraining([4, 6, 6, 8], 'mean 300', 300);
  });

  it('runs one kernel forward and one backward on wasm', async () => {
    await tf.setBackend('wasm');
    const [x, scale, offset] = [tf.randomNormal([4, 5, 5, 3]), tf.ones([3]), tf.zeros([3])];
    const { kernels } = await tf.profile(() =>
      tf.grad((a: tf.Tensor) => batchNormTraining(a, scale, offset, 1e-3).y)(x),
    );
    // Besides the tape's own: the seed gradient (OnesLike), the zero gradients of the unused
    // mean and variance outputs and the saved tensors' clones.
    const skipped = ['OnesLike', 'Identity', 'Fill', 'ZerosLike'];
    const names = kernels.map((k) => k.name).filter((n) => !skipped.includes(n));
    expect(names).toEqual(['BatchNormTraining', 'BatchNormTrainingGrad']);
  });

  it('gives NaN in a channel with a NaN, as a diverging run must show', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, NaN],
      [2, 0],
    ]);
    const { y } = batchNormTraining(x, tf.ones([2]), tf.zeros([2]), 1e-3);
    const values = Array.from(await y.data());
    expect(values.slice(0, 1).every(Number.isFinite)).toBe(true);
    expect(values.filter(Number.isNaN)).toHaveLength(2);
  });
});

describe('channelMoments', () => {
  // On the CPU backend (no kernel of ours) channelMoments is tf.moments: the reference.
  it("gives tf.moments' mean, variance and gradients through either or both", async () => {
    for (const [shape, shift] of [
      [[5, 7, 9, 6], 0],
      [[3, 4, 4, 16], 300],
      [[20, 84], 0],
    ] as const) {
      const c = shape[shape.length - 1];
      const inputs = [random([...shape]), random([c]), random([c])];
      inputs[0].values = inputs[0].values.map((v) => v + shift);
      const { cpu, wasm } = await onBoth(inputs, ([x, u, v]) => {
        const loss = (which: 'mean' | 'variance' | 'both') => (t: tf.Tensor) => {
          const { mean, variance } = channelMoments(t);
          const terms = [tf.sum(tf.mul(mean, u)), tf.sum(tf.mul(variance, v))];
          return which === 'mean' ? terms[0] : which === 'variance' ? terms[1] : tf.addN(terms);
        };
        const { mean, variance } = channelMoments(x);
        return [
          mean,
          variance,
          ...(['mean', 'variance', 'both'] as const).map((w) => tf.grad(loss(w))(x)),
        ];
      });
      cpu.forEach((expected, i) => expectClose(wasm[i], expected, `${shape} output ${i}`, 1e-3));
    }
  });

  it('runs one kernel forward on wasm', async () => {
    await tf.setBackend('wasm');
    const { kernels } = await tf.profile(() => channelMoments(tf.randomNormal([4, 5, 5, 3])));
    expect(kernels.map((k) => k.name)).toEqual(['ChannelMoments']);
  });
});
