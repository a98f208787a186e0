import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../data';
import { disposeGraph, GraphBuilder, nodeById } from '../graph';
import { initBackend } from '../runtime/backend';
import { accuracy } from './accuracy';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('accuracy', () => {
  it('is the fraction of examples whose arg-max is the label, over whole and partial batches', async () => {
    // Image i lights pixel `lit[i]`; the model's logit c reads pixel c, so it predicts lit[i].
    const lit = [0, 1, 2, 3, 4, 5, 6, 7];
    const labels = [0, 1, 2, 9, 4, 9, 9, 7]; // right on 0, 1, 2, 4, 7: 5 of 8
    const pixels = new Uint8Array(8 * 28 * 28);
    lit.forEach((p, i) => (pixels[i * 784 + p] = 255));
    const ds: Dataset = {
      id: 'mnist',
      split: 'test',
      count: 8,
      height: 28,
      width: 28,
      channels: 1,
      numClasses: 10,
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      pixels,
      labels: Uint8Array.from(labels),
      hash: 'fixture',
    };
    const g = new GraphBuilder('picker', [28, 28, 1], 1)
      .add('flatten', 'flatten', {})
      .dense('fc', 10)
      .build();
    const kernel = nodeById(g, 'fc').weights.kernel;
    tf.tidy(() => kernel.assign(tf.concat([tf.eye(10), tf.zeros([774, 10])])));
    expect(await accuracy(g, ds)).toBe(5 / 8);
    expect(await accuracy(g, ds, { batchSize: 3 })).toBe(5 / 8);
    expect(await accuracy(g, ds, { indices: [3, 4, 5, 6] })).toBe(1 / 4);
    disposeGraph(g);
  });
});
