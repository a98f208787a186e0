import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, disposeGraph, nodeById } from '../graph';
import { initBackend } from '../runtime/backend';
import { Compressor, layerSparsity, planCompression } from './compressor';
import type { CompressionConfig } from './config';
import {
  annealedChannelKeep,
  annealedWeightKeep,
  groupNorms,
  groupSoftThreshold,
  keptChannels,
  quantizeStraightThrough,
  quantizeSymmetric,
  softThreshold,
  topKMask,
} from './proximal';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const close = (actual: number[], expected: number[]) =>
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));

const CFG: CompressionConfig = {
  compression: 'channels',
  targetSparsity: 0.5,
  proximal: 'topk-annealed',
  lambda: 1,
  bits: 4,
  pruneFirstLayer: false,
};

describe('proximal operators', () => {
  it('group soft-thresholding shrinks each input-channel group by t/‖W_i‖ and zeroes small groups', () => {
    tf.tidy(() => {
      // [spatial 1, channels 3, out 2]: groups (3, 4) norm 5, (0.6, 0.8) norm 1, (0, 0) norm 0.
      const w = tf.tensor3d([
        [
          [3, 4],
          [0.6, 0.8],
          [0, 0],
        ],
      ]);
      close(values(groupNorms(w)), [5, 1, 0]);
      // t = 2: (1 − 2/5)·(3, 4) = (1.8, 2.4); the norm-1 group is zeroed; the zero group stays 0.
      close(values(groupSoftThreshold(w, 2)), [1.8, 2.4, 0, 0, 0, 0]);
      // One threshold per group: t = (1, 0.5, 1) → (0.8·3, 0.8·4), (0.5·0.6, 0.5·0.8), 0.
      close(values(groupSoftThreshold(w, [1, 0.5, 1])), [2.4, 3.2, 0.3, 0.4, 0, 0]);
      // A group spans the spatial and output axes: [2, 1, 2] is one group of norm √(1+4+4+16) = 5.
      const g = tf.tensor3d([[[1, 2]], [[2, 4]]]);
      close(values(groupSoftThreshold(g, 1)), [0.8, 1.6, 1.6, 3.2]);
    });
  });

  it('soft-thresholding: sign(w)·max(|w| − t, 0)', () => {
    tf.tidy(() => {
      close(values(softThreshold(tf.tensor1d([-3, -0.5, 0, 0.2, 1, 2]), 1)), [-2, 0, 0, 0, 0, 1]);
    });
  });

  it('top-k keeps exactly k, breaking ties by position', () => {
    expect(Array.from(topKMask([1, 3, 3, 2], 2))).toEqual([0, 1, 1, 0]);
    expect(Array.from(topKMask([2, 2, 2, 1], 2))).toEqual([1, 1, 0, 0]);
    expect(Array.from(topKMask([0, 0, 5, 0], 3))).toEqual([1, 1, 1, 0]);
    expect(Array.from(topKMask([NaN, 1, -1], 2))).toEqual([0, 1, 1]);
    expect(Array.from(topKMask([1, 2], 0))).toEqual([0, 0]);
    expect(() => topKMask([1, 2], 3)).toThrow(RangeError);
  });

  it('anneals the kept count linearly over the first third, as the reference code does', () => {
    // C = 16 → c* = 8 over T = 30 iterations: k_i = ⌊8·(10 − i)/10⌋ + 8 until i = 10.
    expect([0, 1, 5, 9, 10, 11, 29].map((i) => annealedChannelKeep(16, 8, i, 30))).toEqual([
      16, 15, 12, 8, 8, 8, 8,
    ]);
    expect(annealedChannelKeep(6, 3, 0, 2)).toBe(3); // T < 3: straight to the target
    // 100 weights, keep ratio 0.1: ⌊100·(0.1 + 0.9·(10 − i)/10)⌋.
    expect([0, 5, 10, 20].map((i) => annealedWeightKeep(100, 0.1, i, 30))).toEqual([
      100, 55, 10, 10,
    ]);
    expect([keptChannels(6, 0.5), keptChannels(120, 0.5), keptChannels(1, 0.9)]).toEqual([
      3, 60, 1,
    ]);
  });

  it('quantizes onto the symmetric k-bit grid of the layer’s range; straight-through gradient', () => {
    tf.tidy(() => {
      // 3 bits: L = 3 levels a side, step 1/3; w/step = (−3, −1.2, 0.3, 0.78, 1.5) rounds half to even.
      const w = tf.tensor1d([-1, -0.4, 0.1, 0.26, 0.5]);
      close(values(quantizeSymmetric(w, 3)), [-1, -1 / 3, 0, 1 / 3, 2 / 3]);
      close(values(quantizeSymmetric(tf.zeros([3]), 4)), [0, 0, 0]);
      const c = tf.tensor1d([1, 2, 3, 4, 5]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(quantizeStraightThrough(x, 3), c)))(w);
      close(values(g), [1, 2, 3, 4, 5]);
    });
  });
});

describe('Compressor', () => {
  const net = () =>
    new GraphBuilder('t', [6, 6, 2], 1)
      .conv('c1', 4, 3, { padding: 'same' })
      .act('r1')
      .conv('c2', 3, 3)
      .add('flatten', 'flat', {})
      .dense('fc', 2)
      .build();

  it('plans: skips the layer reading the image, prunes the rest, quantizes everything', () => {
    const g = net();
    const plans = planCompression(g, CFG);
    expect(plans.map((p) => [p.id, p.mode, p.targetKeep])).toEqual([
      ['c1', 'none', 2],
      ['c2', 'channels', 2],
      ['fc', 'channels', 1], // 3 channels of a 4×4×3 map → keep ⌊1.5⌋
    ]);
    expect(plans[2].groups).toMatchObject({ spatial: 16, channels: 3, out: 2 });
    const first = planCompression(g, { ...CFG, pruneFirstLayer: true });
    expect(first[0].mode).toBe('channels');
    const q = planCompression(g, { ...CFG, compression: 'quantize' });
    expect(q.every((p) => p.mode === 'quantize')).toBe(true);
    disposeGraph(g);
  });

  it('top-k channel projection zeroes the smallest-norm input channels on schedule', async () => {
    const g = net();
    const kernel = nodeById(g, 'c2').weights.kernel;
    // Channel norms grow with the channel index: channel 0 is the weakest, 3 the strongest.
    tf.tidy(() =>
      kernel.assign(
        tf.mul(tf.ones(kernel.shape), tf.reshape(tf.tensor1d([1, 2, 3, 4]), [1, 1, 4, 1])),
      ),
    );
    const plans = planCompression(g, CFG);
    const c = await Compressor.create(g, plans, CFG, { iters: 6 }); // third = 2: keep 4, 3, 2
    await c.project(0, 1e-3);
    expect(c.gradientMasks().size).toBe(0);
    await c.project(1, 1e-3);
    const norms = () => values(tf.tidy(() => groupNorms(tf.reshape(kernel, [9, 4, 3]))));
    expect(norms().map((n) => n > 0)).toEqual([false, true, true, true]);
    await c.project(2, 1e-3);
    expect(norms().map((n) => n > 0)).toEqual([false, false, true, true]);
    expect(c.rateFactor(2)).toBe(1);
    expect(c.rateFactor(3)).toBe(0.1);
    const mask = c.gradientMasks().get(kernel.name)!;
    expect(mask.shape).toEqual(kernel.shape);
    const sparsity = await layerSparsity(g, plans);
    close(sparsity.values, [0, 0.5, 2 / 3]); // fc: 3 channels anneal to 1 on the same schedule
    c.dispose();
    disposeGraph(g);
  });

  it('unstructured top-k keeps exactly k weights; frozen mode reads masks from zeros', async () => {
    const g = net();
    const cfg = { ...CFG, compression: 'weights' as const, targetSparsity: 0.75 };
    const plans = planCompression(g, cfg);
    const c = await Compressor.create(g, plans, cfg, { iters: 1 });
    await c.project(0, 1e-3);
    const k2 = nodeById(g, 'c2').weights.kernel;
    const nonZero = () => values(k2).filter((v) => v !== 0).length;
    expect(nonZero()).toBe(Math.floor(k2.size * 0.25));
    c.dispose();
    const frozen = await Compressor.create(g, plans, cfg, { iters: 5, frozen: true });
    expect(frozen.gradientMasks().size).toBe(2);
    tf.tidy(() => k2.assign(tf.add(k2, 1))); // a stray update…
    await frozen.project(0, 1e-3); // …is masked away again
    expect(nonZero()).toBe(Math.floor(k2.size * 0.25));
    frozen.dispose();
    disposeGraph(g);
  });

  it('soft-threshold proximal step with λ: groups below η·λ·√size vanish', async () => {
    const g = net();
    const cfg = { ...CFG, proximal: 'soft-threshold' as const, lambda: 1 };
    const kernel = nodeById(g, 'c2').weights.kernel;
    tf.tidy(() =>
      kernel.assign(
        tf.mul(tf.ones(kernel.shape), tf.reshape(tf.tensor1d([0.1, 1, 1, 1]), [1, 1, 4, 1])),
      ),
    );
    // Group size 9·3 = 27: the 0.1-group has norm 0.1·√27 and the threshold η·λ·√27 with η = 0.2.
    const c = await Compressor.create(g, planCompression(g, cfg), cfg, { iters: 10 });
    await c.project(0, 0.2);
    const n = values(tf.tidy(() => groupNorms(tf.reshape(kernel, [9, 4, 3]))));
    expect(n[0]).toBe(0);
    expect(n[1]).toBeCloseTo(0.8 * Math.sqrt(27), 4);
    c.dispose();
    disposeGraph(g);
  });
});
