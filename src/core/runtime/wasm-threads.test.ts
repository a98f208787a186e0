/**
 * The threaded WASM build with a chosen thread count (wasm-threads.ts, Node's source): it
 * starts our own SIMD kernels on the threads asked for and XNNPACK on one per two, and the
 * convolution kernels a DAFL step spends its time in, split across those threads, match the
 * CPU backend. Four threads, so that XNNPACK too runs on two.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  compareBatchNormTraining,
  compareKernel,
  expectClose,
  onBoth,
  random,
  type Shape4,
} from './backend-comparison';
import { initBackend } from './backend';
import { simdKernels } from './wasm-simd';
import { nodeThreadedWasm } from './wasm-threads-node';

describe('threaded wasm backend', () => {
  beforeAll(async () => {
    const info = await initBackend('wasm', {
      wasmThreads: { threads: 4, source: nodeThreadedWasm() },
    });
    expect(info.reason).toContain('threaded build');
  }, 60_000);

  it('runs our kernels on the threads asked for and XNNPACK on one per two', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(getThreadsCount()).toBe(2);
    expect(simdKernels(tf.backend() as BackendWasm)?.threads).toBe(4);
  });

  // A DAFL generator's 3×3 block, big enough for XNNPACK to split over both threads.
  const x = random([4, 16, 16, 32]);
  const filter = random([3, 3, 32, 16]);
  const dy = random([4, 16, 16, 16]);
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };

  it('convolves as the CPU backend does', async () => {
    await compareKernel('Conv2D', { x, filter }, attrs, 'threaded');
  });

  it('differentiates a convolution as the CPU backend does', async () => {
    await compareKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { ...attrs, filterShape: filter.shape },
      'threaded',
    );
    await compareKernel(
      'Conv2DBackpropInput',
      { dy, filter },
      { ...attrs, inputShape: x.shape },
      'threaded',
    );
  });

  it('splits the SIMD filter gradient by input channels and by output channels', async () => {
    // Into blocks of 4 input by 8 output channels, at most 16 (four per thread): Ci = 14 and
    // Co = 20 as 4 × 3 blocks with part-filled last ones; Ci = 3 as one, so Co = 30 as four.
    for (const [ci, co, stride] of [
      [14, 20, 1],
      [3, 30, 1],
      [14, 20, 2],
    ]) {
      const xs = random([32, 12, 12, ci]);
      const out = Math.ceil(12 / stride);
      await compareKernel(
        'Conv2DBackpropFilter',
        { x: xs, dy: random([32, out, out, co]) },
        { ...attrs, strides: [stride, stride], filterShape: [3, 3, ci, co] },
        `threaded, Ci ${ci}, Co ${co}, stride ${stride}`,
      );
    }
  });

  it("splits a matmul (a dense layer, LeNet-5's C5) by rows or by its output plane", async () => {
    for (const [transposeA, transposeB] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      const a = random(transposeA ? [400, 64] : [64, 400]);
      const b = random(transposeB ? [120, 400] : [400, 120]);
      await compareKernel(
        'BatchMatMul',
        { a, b },
        { transposeA, transposeB },
        `threaded, tA=${transposeA} tB=${transposeB}`,
      );
    }
  });

  it('gives the same bits split or not (a shape is tried split, then whole)', async () => {
    await tf.setBackend('wasm');
    // Ci = 10 and Co = 24: nine blocks of the filter gradient's plane; 6 → 16 and 1 → 6 (four
    // blocks, one): its batch cut into groups whose partial sums are added in order.
    for (const [x, filter] of [
      [
        [32, 12, 12, 10],
        [3, 3, 10, 24],
      ],
      [
        [32, 14, 14, 6],
        [5, 5, 6, 16],
      ],
      [
        [32, 20, 20, 1],
        [5, 5, 1, 6],
      ],
    ] as Shape4[][]) {
      const [xs, w] = [random(x), random(filter)].map((i) =>
        tf.tensor4d(i.values, i.shape as Shape4),
      );
      const pass = () =>
        tf.tidy(() => {
          const [dx, dw] = tf.grads((a, b) =>
            tf
              .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')
              .square()
              .sum(),
          )([xs, w]);
          return [dx, dw, tf.conv2d(xs, w, 1, 'same')].map((t) => t.dataSync());
        });
      const [split, whole] = [pass(), pass()];
      split.forEach((values, i) => expect(values, `${x} * ${filter}`).toEqual(whole[i]));
      tf.dispose([xs, w]);
    }
  });

  it("splits LeNet-5's narrow-layer kernels: one input channel, six into sixteen", async () => {
    const valid = { ...attrs, pad: 'valid' };
    const image = random([32, 32, 32, 1]);
    const conv1 = random([5, 5, 1, 6]);
    await compareKernel('Conv2D', { x: image, filter: conv1 }, valid, 'threaded, conv1');
    await compareKernel(
      'Conv2DBackpropFilter',
      { x: image, dy: random([32, 28, 28, 6]) },
      { ...valid, filterShape: conv1.shape },
      'threaded, conv1',
    );
    await compareKernel(
      'Conv2DBackpropInput',
      { dy: random([32, 10, 10, 16]), filter: random([5, 5, 6, 16]) },
      { ...valid, inputShape: [32, 14, 14, 6] },
      'threaded, conv2',
    );
    // On more than one thread our kernel runs six into sixteen channels (XNNPACK's on one).
    await compareKernel(
      'Conv2D',
      { x: random([32, 14, 14, 6]), filter: random([5, 5, 6, 16]) },
      valid,
      'threaded, conv2',
    );
    // LeNet-5's pool1 gradient, rows of windows split (ties: few levels).
    const pool = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' };
    const activations = random([32, 28, 28, 6], 3);
    const { cpu, wasm } = await onBoth([activations, random([32, 14, 14, 6])], ([input, dy]) => {
      const output = tf.engine().runKernel('MaxPool', { x: input }, pool) as tf.Tensor;
      return tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, pool) as tf.Tensor;
    });
    expectClose(wasm[0], cpu[0], 'threaded, pool1 gradient');
    // A 3×3 filter has three rows of taps to split: three of the four threads work.
    await compareKernel(
      'Conv2DBackpropFilter',
      { x: random([64, 30, 30, 1]), dy: random([64, 28, 28, 6]) },
      { ...valid, filterShape: [3, 3, 1, 6] },
      'threaded, 3×3 filter on three threads',
    );
  });

  it("splits Winograd's filter gradient into fixed groups of tiles", async () => {
    const same = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const [x, dy] = [random([16, 32, 32, 16]), random([16, 32, 32, 16])];
    await compareKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { ...same, filterShape: [3, 3, 16, 16] },
      'threaded, Winograd',
    );
  });

  it("splits the one-output-channel kernels: a generator's image layer, an image's gradient", async () => {
    const same = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const x = random([16, 16, 16, 64]);
    const filter = random([3, 3, 64, 1]);
    await compareKernel('Conv2D', { x, filter }, same, 'threaded, 64 → 1');
    const dy = random([16, 16, 16, 1]);
    const filterShape = filter.shape;
    await compareKernel(
      'Conv2DBackpropFilter',
      { x, dy },
      { ...same, filterShape },
      'threaded, 64 → 1',
    );
    // LeNet-5's conv1 gradient with respect to the images.
    await compareKernel(
      'Conv2DBackpropInput',
      { dy: random([32, 28, 28, 6]), filter: random([5, 5, 1, 6]) },
      { ...same, pad: 'valid', inputShape: [32, 32, 32, 1] },
      'threaded, images',
    );
  });

  it("splits batch norm's passes, each thread summing into its own block", async () => {
    // BN-VGG's first block at batch 32: 0.4 M floats, split from the first call.
    await compareBatchNormTraining([32, 28, 28, 16], 'threaded');
  });
});
