/**
 * The threaded WASM build with a chosen thread count (wasm-threads.ts, Node's source): it
 * starts with the threads asked for, and the convolution kernels a DAFL step spends its time
 * in, split across those threads, match the CPU backend.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';

import { compareKernel, random } from './backend-comparison';
import { initBackend } from './backend';
import { nodeThreadedWasm } from './wasm-threads-node';

describe('threaded wasm backend', () => {
  beforeAll(async () => {
    const info = await initBackend('wasm', {
      wasmThreads: { threads: 2, source: nodeThreadedWasm() },
    });
    expect(info.reason).toContain('threaded build');
  }, 60_000);

  it('runs the number of threads asked for, not half the cores', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(getThreadsCount()).toBe(2);
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
});
