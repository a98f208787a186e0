import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, GraphBuilder } from '../graph';
import { initBackend } from '../runtime/backend';
import { buildArchitecture } from '../zoo';
import { timeInference } from './latency';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('timeInference', () => {
  it('times a forward pass: positive, finite, far longer for a big model, no tensors left', async () => {
    // 16 inputs → 10 logits against VGG-small's 13.3 M MACs per image: thousands of times the
    // work, so the ordering cannot flip on a busy machine.
    const tiny = new GraphBuilder('tiny', [4, 4, 1], 1)
      .add('flatten', 'flatten', {})
      .dense('fc', 10)
      .build();
    const big = buildArchitecture('vgg-small', 'mnist', 1);
    const before = tf.memory().numTensors;
    const opts = { batchSize: 8, repeats: 5, warmup: 1 };
    const small = await timeInference(tiny, opts);
    const large = await timeInference(big, opts);
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [small, large]) {
      expect(t.samples).toHaveLength(5);
      expect(t.median).toBeGreaterThan(0);
      expect(Number.isFinite(t.median)).toBe(true);
      expect(t.spread).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(t.spread)).toBe(true);
    }
    expect(large.median).toBeGreaterThan(10 * small.median);
    // Passes well above the clock's tick are timed one by one.
    expect(large.group).toBe(1);
    disposeGraph(tiny);
    disposeGraph(big);
  });
});
