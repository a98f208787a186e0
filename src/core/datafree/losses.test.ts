import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backend';
import { Rng } from '../runtime/rng';
import { Generator } from './generator';
import {
  activationLoss,
  batchNormMomentLoss,
  competitionLoss,
  informationEntropyLoss,
  l2Prior,
  oneHotLoss,
  totalVariation,
} from './losses';

beforeAll(async () => {
  await initBackend('wasm');
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

const LOGITS = [
  [2, 0, -1],
  [0.5, 0.2, 3],
];

function softmax(row: number[]): number[] {
  const e = row.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('DAFL losses, against values computed by hand', () => {
  it('one-hot: cross-entropy against the teacher’s own arg-max', () => {
    const expected = -(Math.log(softmax(LOGITS[0])[0]) + Math.log(softmax(LOGITS[1])[2])) / 2;
    expect(value(tf.tidy(() => oneHotLoss(tf.tensor2d(LOGITS))))).toBeCloseTo(expected, 5);
  });

  it('activation: minus the mean absolute feature', () => {
    const f = tf.tensor2d([
      [1, -2],
      [3, 0],
    ]);
    expect(value(activationLoss(f))).toBeCloseTo(-1.5, 6);
    f.dispose();
  });

  it('information entropy: Σ p̄·log10 p̄ of the batch-mean softmax, −log10 k when balanced', () => {
    const [a, b] = LOGITS.map(softmax);
    const mean = a.map((p, j) => (p + b[j]) / 2);
    const expected = mean.reduce((s, p) => s + p * Math.log10(p), 0);
    expect(value(tf.tidy(() => informationEntropyLoss(tf.tensor2d(LOGITS))))).toBeCloseTo(
      expected,
      5,
    );
    const balanced = tf.tidy(() => informationEntropyLoss(tf.eye(4).mul(30) as tf.Tensor2D));
    expect(value(balanced)).toBeCloseTo(-Math.log10(4), 4);
  });
});

describe('BatchNorm moment matching', () => {
  it('is zero when the batch statistics equal the running ones, and the L2 distance otherwise', () => {
    // Two channels over a batch of 2 at 1×2 pixels: channel 0 = 1, 2, 3, 4; channel 1 = 0, 0, 2, 2.
    const x = tf.tensor4d([1, 0, 2, 0, 3, 2, 4, 2], [2, 1, 2, 2]);
    const mean = tf.tensor1d([2.5, 1]);
    const variance = tf.tensor1d([1.25, 1]); // biased variances
    const same = batchNormMomentLoss([{ x, movingMean: mean, movingVariance: variance }], false);
    expect(value(same)).toBeCloseTo(0, 6);
    const off = { x, movingMean: tf.tensor1d([2.5, 4]), movingVariance: tf.tensor1d([0.25, 1]) };
    // mean off by (0, −3), variance by (1, 0): unsquared 3 + 1, squared 9 + 1.
    expect(value(batchNormMomentLoss([off], false))).toBeCloseTo(4, 5);
    expect(value(batchNormMomentLoss([off, off], true))).toBeCloseTo(20, 4);
    tf.dispose([x, mean, variance, off.movingMean, off.movingVariance]);
  });
});

describe('image priors and the ADI competition term', () => {
  it('total variation sums the norms of the four neighbour differences', () => {
    // [[1, 2], [4, 8]]: horizontal (−1, −4), vertical (−3, −6), diagonal −7, anti-diagonal 2.
    const x = tf.tensor4d([1, 2, 4, 8], [1, 2, 2, 1]);
    const expected = Math.hypot(1, 4) + Math.hypot(3, 6) + 7 + 2;
    expect(value(totalVariation(x))).toBeCloseTo(expected, 5);
    expect(value(l2Prior(x))).toBeCloseTo(Math.hypot(1, 2, 4, 8), 5);
    x.dispose();
  });

  it('competition: 1 when teacher and student agree, 1 − JS (clamped, reference form) when not', () => {
    const z = tf.tensor2d(LOGITS);
    expect(value(competitionLoss(z, z, 3))).toBeCloseTo(1, 6);
    const other = tf.tensor2d([
      [0, 3, 0],
      [2, 0, 0],
    ]);
    const clamp = (p: number) => Math.min(0.99, Math.max(0.01, p));
    let js = 0;
    for (let i = 0; i < 2; i++) {
      const p = softmax(LOGITS[i].map((v) => v / 3));
      const q = softmax(other.arraySync()[i].map((v) => v / 3));
      const m = p.map((pj, j) => clamp((pj + q[j]) / 2));
      const kl = (a: number[], b: number[]) =>
        a.reduce((s, aj, j) => s + aj * (Math.log(aj) - Math.log(clamp(b[j]))), 0);
      js += 0.5 * (kl(m, p) + kl(m, q));
    }
    expect(value(competitionLoss(z, other, 3))).toBeCloseTo(1 - js / 2, 5);
    tf.dispose([z, other]);
  });
});

describe('the DAFL generator', () => {
  it('makes standardised images of the teacher’s shape, with and without a class condition', () => {
    const rng = new Rng(3, ['gen']);
    const before = tf.memory().numTensors;
    for (const classes of [0, 10]) {
      const g = new Generator(
        { latentDim: 8, height: 28, width: 28, channels: 1, base: 8, classes },
        rng.fork(`c${classes}`),
      );
      tf.tidy(() => {
        const z = tf.randomNormal([6, 8], 0, 1, 'float32', 5) as tf.Tensor2D;
        const x = g.generate(z, classes ? tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32') : undefined);
        expect(x.shape).toEqual([6, 28, 28, 1]);
        const { mean, variance } = tf.moments(x);
        // The output BatchNorm standardises each channel over the batch.
        expect(mean.dataSync()[0]).toBeCloseTo(0, 4);
        expect(variance.dataSync()[0]).toBeCloseTo(1, 2);
        expect(x.dataSync().every(Number.isFinite)).toBe(true);
      });
      g.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(
      () => new Generator({ latentDim: 8, height: 30, width: 30, channels: 1, base: 8 }, rng),
    ).toThrow(/multiples of 4/);
  });
});
