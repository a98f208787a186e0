import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { roc, trainLogistic } from './detector';
import { trainForest } from './forest';

/** `n` points uniform in [-1, 1]², labelled x0 > 0 xor x1 > 0: no hyperplane separates them. */
function xor(rng: Rng, n: number) {
  const rows = Array.from({ length: n }, () => [2 * rng.next() - 1, 2 * rng.next() - 1]);
  const labels = rows.map(([a, b]) => (a > 0 !== b > 0 ? 1 : 0));
  return { rows, labels };
}

const heldOutAuc = (
  train: (rows: number[][], labels: number[]) => { score(rows: number[][]): Float64Array },
  data: { rows: number[][]; labels: number[] },
) => {
  const half = data.rows.length / 2;
  const detector = train(data.rows.slice(0, half), data.labels.slice(0, half));
  return roc(detector.score(data.rows.slice(half)), data.labels.slice(half)).auc;
};

describe('trainForest', () => {
  it('separates XOR, which the logistic detector cannot', () => {
    const data = xor(new Rng('xor'), 400);
    const forest = heldOutAuc((r, l) => trainForest(r, l, { rng: new Rng(1), trees: 50 }), data);
    const logistic = heldOutAuc((r, l) => trainLogistic(r, l), data);
    expect(forest).toBeGreaterThan(0.95);
    expect(logistic).toBeLessThan(0.7);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const { rows, labels } = xor(new Rng('seeds'), 200);
    const scores = (seed: number) => trainForest(rows, labels, { rng: new Rng(seed), trees: 20 });
    const probe = xor(new Rng('probe'), 50).rows;
    const a = scores(7).score(probe);
    expect(scores(7).score(probe)).toEqual(a);
    expect(scores(8).score(probe)).not.toEqual(a);
    for (const s of a) expect(s >= 0 && s <= 1).toBe(true);
  });

  it('finds the separating feature beside pure noise', () => {
    const rng = new Rng('noise');
    const labels = Array.from({ length: 300 }, (_, i) => i % 2);
    // Feature 0 is noise, feature 1 separates; one feature per split tries the noise half the time.
    const rows = labels.map((l) => [rng.normal(), rng.normal(l ? 3 : -3, 1)]);
    const auc = heldOutAuc(
      (r, l) => trainForest(r, l, { rng: new Rng(2), trees: 30, featuresPerSplit: 1 }),
      { rows, labels },
    );
    expect(auc).toBeGreaterThan(0.99);
  });

  it('throws a RangeError on bad input', () => {
    const rng = new Rng(0);
    expect(() => trainForest([[0], [1]], [0, 1, 1], { rng })).toThrow(/2 rows but 3 labels/);
    expect(() => trainForest([[0], [1]], [1, 1], { rng })).toThrow(/both clean \(0\)/);
    expect(() => trainForest([[0], [1]], [0, 2], { rng })).toThrow(RangeError);
    expect(() => trainForest([[0], [1, 2]], [0, 1], { rng })).toThrow(/differ in length/);
    expect(() => trainForest([[0], [1]], [0, 1], { rng, trees: 0 })).toThrow(RangeError);
    expect(() => trainForest([[0], [1]], [0, 1], { rng, featuresPerSplit: 2 })).toThrow(RangeError);
    const forest = trainForest([[0], [1]], [0, 1], { rng });
    expect(() => forest.score([[0, 1]])).toThrow(/expected 1/);
  });
});
