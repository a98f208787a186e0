import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backend';
import { Rng } from '../runtime/rng';
import { fitStandardizer, roc, splitTrainTest, trainLogistic, trainMlp } from './detector';

/** `n` rows of `d` independent normal features centred on `mean`. */
const gaussian = (rng: Rng, n: number, d: number, mean: number) =>
  Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal(mean, 1)));

/**
 * Detection data as splitTrainTest lays it out: block 0 the clean rows (label 0), block 1 their
 * adversarial copies (label 1).
 */
function detectionSet(clean: Float32Array[], adversarial: Float32Array[], rng: Rng) {
  const rows = [...clean, ...adversarial];
  const labels = rows.map((_, i) => (i < clean.length ? 0 : 1));
  const { train, test } = splitTrainTest(clean.length, 0.5, rng);
  const pick = (idx: Int32Array) => ({
    rows: Array.from(idx, (i) => rows[i]),
    labels: Array.from(idx, (i) => labels[i]),
  });
  return { train: pick(train), test: pick(test) };
}

/** P(s₊ > s₋) + ½ P(s₊ = s₋) over all pairs: the AUC by definition. */
function mannWhitney(scores: number[], labels: number[]) {
  let sum = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((q, j) => {
      if (labels[j] !== 0) return;
      sum += p > q ? 1 : p === q ? 0.5 : 0;
      pairs++;
    });
  });
  return sum / pairs;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('roc', () => {
  it('gives the known curve and AUC of hand-made examples, ties included', () => {
    const plain = roc([0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0]);
    expect(plain.auc).toBeCloseTo(5 / 6, 12);
    expect(plain.fpr).toEqual([0, 0, 0, 0.5, 0.5, 1]);
    expect(plain.tpr).toEqual([0, 1 / 3, 2 / 3, 2 / 3, 1, 1]);

    // The tie at 0.5 is one threshold: a diagonal step worth half a pair.
    const tied = roc([0.8, 0.5, 0.5, 0.2], [1, 1, 0, 0]);
    expect(tied.auc).toBeCloseTo(3.5 / 4, 12);
    expect(tied.fpr).toEqual([0, 0, 0.5, 1]);
    expect(tied.tpr).toEqual([0, 0.5, 1, 1]);

    expect(roc([1, 1, 1, 1], [0, 1, 0, 1]).auc).toBe(0.5);
    expect(roc([0, 1], [1, 0]).auc).toBe(0);
    expect(() => roc([0.1, 0.2], [1, 1])).toThrow(RangeError);
  });

  it('thins the curve to 200 points but computes the AUC on all of them', () => {
    const rng = new Rng(5);
    // Scores rounded to 2 decimals: many ties between and within the classes.
    const labels = Array.from({ length: 2000 }, (_, i) => i % 2);
    const scores = labels.map((l) => Math.round(100 * (rng.next() + 0.3 * l)) / 100);
    const r = roc(scores, labels);
    expect(r.fpr.length).toBeLessThanOrEqual(200);
    expect(r.fpr.length).toBe(r.tpr.length);
    expect([r.fpr[0], r.tpr[0]]).toEqual([0, 0]);
    expect([r.fpr.at(-1), r.tpr.at(-1)]).toEqual([1, 1]);
    expect(r.auc).toBeCloseTo(mannWhitney(scores, labels), 10);
  });
});

describe('splitTrainTest', () => {
  it('splits images, not rows: every copy of an image lands in its split; seeded', () => {
    const n = 50;
    const { train, test } = splitTrainTest(n, 0.7, new Rng(1), 3);
    expect(train.length).toBe(3 * 35);
    expect(test.length).toBe(3 * 15);
    expect([...train, ...test].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 3 * n }, (_, i) => i),
    );
    const trainImages = new Set(Array.from(train, (r) => r % n));
    for (const r of test) expect(trainImages.has(r % n)).toBe(false);
    expect(trainImages.size).toBe(35);
    expect(splitTrainTest(n, 0.7, new Rng(1), 3)).toEqual({ train, test });
    expect(splitTrainTest(n, 0.7, new Rng(2), 3).train).not.toEqual(train);
  });
});

describe('detectors', () => {
  it('logistic regression separates separable features (AUC > 0.99) and converges', () => {
    const rng = new Rng(1);
    const data = detectionSet(gaussian(rng, 300, 8, 0), gaussian(rng, 300, 8, 2), rng);
    const detector = trainLogistic(data.train.rows, data.train.labels);
    expect(detector.iterations).toBeLessThan(30);
    expect(roc(detector.score(data.test.rows), data.test.labels).auc).toBeGreaterThan(0.99);
    // The standardisation is the training split's.
    const s = fitStandardizer(data.train.rows);
    expect(detector.standardizer).toEqual(s);
  });

  it('logistic regression is at chance on identical distributions (AUC 0.5 ± 0.1)', () => {
    const rng = new Rng(2);
    const data = detectionSet(gaussian(rng, 300, 8, 0), gaussian(rng, 300, 8, 0), rng);
    const detector = trainLogistic(data.train.rows, data.train.labels);
    const { auc } = roc(detector.score(data.test.rows), data.test.labels);
    expect(Math.abs(auc - 0.5)).toBeLessThan(0.1);
  });

  it('a feature almost constant on the training rows gives finite scores on any test row', () => {
    // An action a decision unit never takes: probabilities of ~1e-30 in training, 0.5 at test.
    const rng = new Rng(3);
    const rows = [...gaussian(rng, 40, 3, 0), ...gaussian(rng, 40, 3, 2)].map((r, i) =>
      Float64Array.from([...r, 1e-30 * (i % 2), -1e-30 * (i % 3)]),
    );
    const labels = rows.map((_, i) => (i < 40 ? 0 : 1));
    const detector = trainLogistic(rows, labels);
    const scores = detector.score([Float64Array.from([0, 0, 0, 0.5, -0.5])]);
    expect(Number.isFinite(scores[0])).toBe(true);
  });

  it('the MLP separates a ring from its centre, which no hyperplane can, and keeps no tensors', () => {
    const rng = new Rng(3);
    const ring = (radius: number) =>
      Array.from({ length: 200 }, () => {
        const angle = 2 * Math.PI * rng.next();
        const r = radius + 0.2 * rng.normal();
        return Float32Array.of(r * Math.cos(angle), r * Math.sin(angle));
      });
    const data = detectionSet(ring(0.5), ring(2), rng);
    const tensors = tf.memory().numTensors;
    const mlp = trainMlp(data.train.rows, data.train.labels, { rng: new Rng(4) });
    expect(tf.memory().numTensors).toBe(tensors);
    const linear = trainLogistic(data.train.rows, data.train.labels);
    expect(roc(mlp.score(data.test.rows), data.test.labels).auc).toBeGreaterThan(0.99);
    expect(roc(linear.score(data.test.rows), data.test.labels).auc).toBeLessThan(0.75);
    // Seeded: the same rng gives the same detector.
    const again = trainMlp(data.train.rows, data.train.labels, { rng: new Rng(4) });
    expect(again.score(data.test.rows)).toEqual(mlp.score(data.test.rows));
  });
});
