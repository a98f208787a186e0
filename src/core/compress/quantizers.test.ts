import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backend';
import {
  affineCodes,
  binarize,
  encodeAffine,
  fixedPointRange,
  hardSigmoid,
  packBits,
  quantizeAffine,
  straightThrough,
  toFixedPoint,
  unpackBits,
} from './quantizers';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbs = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('affine (uniform asymmetric) quantization', () => {
  it('puts a tensor on at most 2^k levels with error at most scale/2, zero exact', async () => {
    const w = tf.randomNormal([3, 3, 4, 8], 0.1, 0.5, 'float32', 1);
    for (const bits of [2, 4, 8]) {
      const enc = await encodeAffine(w, bits, 'per-tensor');
      expect(new Set(enc.values).size).toBeLessThanOrEqual(2 ** bits);
      expect(Math.max(...enc.codes)).toBeLessThan(2 ** bits);
      const err = maxAbs(w, tf.tensor(enc.values, w.shape));
      expect(err).toBeLessThanOrEqual(enc.scale[0] / 2 + 1e-6);
      // The TF forward agrees with the stored decode (to float32 rounding).
      const q = quantizeAffine(w, bits, 'per-tensor');
      expect(maxAbs(q, tf.tensor(enc.values, w.shape))).toBeLessThan(1e-5);
      q.dispose();
    }
    const zeroed = tf.tensor1d([-0.7, 0, 0.3, 1.9]);
    const enc = await encodeAffine(zeroed, 3, 'per-tensor');
    expect(enc.values[1]).toBe(0);
    tf.dispose([w, zeroed]);
  });

  it('per-channel (last axis) beats per-tensor on a kernel whose channels have very different ranges', () => {
    const w = tf.tidy(() =>
      tf.mul(tf.randomNormal([5, 5, 3, 4], 0, 1, 'float32', 2), tf.tensor1d([0.01, 0.1, 1, 10])),
    );
    const perTensor = quantizeAffine(w, 4, 'per-tensor');
    const perChannel = quantizeAffine(w, 4, 'per-channel');
    // Error relative to each channel's spread: per-tensor steps of ~1 wipe out the small channels.
    const relative = (q: tf.Tensor) =>
      tf.tidy(
        () =>
          tf
            .sum(
              tf.div(
                tf.moments(tf.sub(q, w), [0, 1, 2]).variance,
                tf.moments(w, [0, 1, 2]).variance,
              ),
            )
            .dataSync()[0],
      );
    expect(relative(perChannel)).toBeLessThan(0.05);
    expect(relative(perTensor)).toBeGreaterThan(1);
    const { scale } = tf.tidy(() => affineCodes(w, 4, 'per-channel'));
    expect(scale.shape).toEqual([4]);
    tf.dispose([w, perTensor, perChannel, scale]);
  });

  it('the straight-through variant has the identity as gradient', () => {
    const w = tf.tensor1d([-1.3, 0.02, 0.4, 2.2]);
    const upstream = tf.tensor1d([0.5, -2, 3, 7]);
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          straightThrough(x, (v) => quantizeAffine(v, 2, 'per-tensor')),
          upstream,
        ),
      ),
    )(w);
    expect(Array.from(g.dataSync())).toEqual(Array.from(upstream.dataSync()));
    tf.dispose([w, upstream, g]);
  });

  it('packs k-bit codes into ⌈n·k/8⌉ bytes and unpacks them', () => {
    const codes = [0, 1, 2, 3, 4, 5, 6, 7, 7, 0, 5];
    const packed = packBits(codes, 3);
    expect(packed.byteLength).toBe(Math.ceil((11 * 3) / 8));
    expect(Array.from(unpackBits(packed, 3, 11))).toEqual(codes);
    expect(() => packBits([8], 3)).toThrow(/does not fit/);
  });
});

describe('fixed point ⟨IL, FL⟩ (Gupta et al. 2015)', () => {
  const format = { integerBits: 2, fractionalBits: 4 }; // ε = 1/16, range [−2, 2 − 1/16]

  it('saturates at the range ends and lands on multiples of ε', () => {
    const { eps, lo, hi } = fixedPointRange(format);
    const x = tf.tensor1d([-5, -2, 1.99, 3, 0.3, -0.3]);
    const y = toFixedPoint(x, format, 'nearest').dataSync();
    expect(y[0]).toBe(lo);
    expect(y[1]).toBe(lo);
    expect(y[2]).toBe(hi);
    expect(y[3]).toBe(hi);
    for (const v of y) expect(Number.isInteger(v / eps)).toBe(true);
    expect(y[4]).toBe(5 / 16); // 0.3 = 4.8 ε → 5 ε
    x.dispose();
  });

  it('stochastic rounding is unbiased; round-to-nearest is biased just above a grid point', () => {
    const { eps } = fixedPointRange(format);
    const x0 = 0.5 + 0.1 * eps; // just above the grid point 0.5
    const x = tf.fill([20000], x0);
    const nearest = toFixedPoint(x, format, 'nearest');
    expect(nearest.dataSync()[0]).toBe(0.5); // always rounds down: bias −0.1 ε
    const stochastic = toFixedPoint(x, format, 'stochastic', 7);
    const values = stochastic.dataSync();
    expect(new Set(values)).toEqual(new Set([0.5, 0.5 + eps]));
    const mean = Array.from(values).reduce((s, v) => s + v, 0) / values.length;
    // Bernoulli(0.1) mean over 20000 draws: standard error 0.0021 ε.
    expect(Math.abs(mean - x0)).toBeLessThan(0.01 * eps);
    expect(() => toFixedPoint(x, format, 'stochastic')).toThrow(/seed/);
    tf.dispose([x, nearest, stochastic]);
  });
});

describe('BinaryConnect binarisation', () => {
  it('deterministic: sign with 0 → +1', () => {
    const w = tf.tensor1d([-0.3, 0, 0.2, -1e-9]);
    expect(Array.from(binarize(w, false).dataSync())).toEqual([-1, 1, 1, -1]);
    w.dispose();
  });

  it('stochastic: ±1 with P(+1) = hard sigmoid', () => {
    const probe = [-2, -0.5, 0, 0.6, 3];
    const n = 20000;
    const w = tf.tensor2d(
      probe.flatMap((v) => Array<number>(n).fill(v)),
      [probe.length, n],
    );
    const b = binarize(w, true, 3);
    const values = b.dataSync();
    expect(new Set(values)).toEqual(new Set([-1, 1]));
    const p = hardSigmoid(tf.tensor1d(probe)).dataSync();
    [0, 0.25, 0.5, 0.8, 1].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 6));
    probe.forEach((_, i) => {
      let plus = 0;
      for (let j = 0; j < n; j++) plus += values[i * n + j] > 0 ? 1 : 0;
      expect(Math.abs(plus / n - p[i])).toBeLessThan(0.015);
    });
    tf.dispose([w, b]);
  });
});
