import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, nodeById } from '../graph';
import { initBackend } from '../runtime/backend';
import { buildArchitecture } from '../zoo';
import { modelSize } from './size';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('modelSize', () => {
  it('counts non-zeros, and a pruned dense file is as large as before but gzips far smaller', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const before = await modelSize(g);
    expect(before.nonZeroParams).toBeGreaterThan(0.99 * before.params);
    expect(before.exportBytes).toBe(before.denseBytes);
    const kernel = nodeById(g, 'conv3').weights.kernel;
    // Zero all but every tenth weight of the largest layer.
    tf.tidy(() => {
      const keep = tf.cast(
        tf.equal(tf.mod(tf.range(0, kernel.size, 1, 'int32'), 10), 0),
        'float32',
      );
      kernel.assign(tf.mul(kernel, tf.reshape(keep, kernel.shape)));
    });
    const after = await modelSize(g);
    const zeroed = kernel.size - Math.ceil(kernel.size / 10);
    expect(after.nonZeroParams).toBe(before.nonZeroParams - zeroed);
    expect(after.exportBytes).toBe(before.exportBytes);
    expect(after.gzipBytes).toBeLessThan(0.5 * before.gzipBytes);
    disposeGraph(g);
  });
});
