import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { kmeans1d } from './kmeans';

// Three tight clusters around −1, 0.2 and 3, shuffled.
const CLUSTERS = [-1.02, 3.01, 0.18, -0.98, 2.99, 0.22, -1.0, 3.0, 0.2, 0.2];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('kmeans1d', () => {
  it.each(['linear', 'density', 'forgy'] as const)(
    '%s initialisation finds three tight clusters and their means',
    (init) => {
      const { centroids, assignments } = kmeans1d(CLUSTERS, 3, {
        init,
        iters: 50,
        rng: new Rng(1),
      });
      expect(centroids[0]).toBeCloseTo(mean([-1.02, -0.98, -1.0]), 12);
      expect(centroids[1]).toBeCloseTo(mean([0.18, 0.22, 0.2, 0.2]), 12);
      expect(centroids[2]).toBeCloseTo(mean([3.01, 2.99, 3.0]), 12);
      expect(Array.from(assignments)).toEqual([0, 2, 1, 0, 2, 1, 0, 2, 1, 1]);
    },
  );

  it('linear initialisation is evenly spaced from min to max; one Lloyd step moves to the means', () => {
    const values = [0, 1, 2, 3, 10];
    // Zero iterations: the initial centroids 0, 5, 10; 2.5 and 7.5 split the values.
    const init = kmeans1d(values, 3, { init: 'linear', iters: 0 });
    expect(Array.from(init.centroids)).toEqual([0, 5, 10]);
    expect(Array.from(init.assignments)).toEqual([0, 0, 0, 1, 2]);
    // Lloyd: {0,1,2} → 1, {3} → 3, {10} → 10; then 2 sits at the midpoint 2 of 1 and 3 and stays left.
    const done = kmeans1d(values, 3, { init: 'linear', iters: 20 });
    expect(Array.from(done.centroids)).toEqual([1, 3, 10]);
    expect(Array.from(done.assignments)).toEqual([0, 0, 0, 1, 2]);
  });

  it('density initialisation puts centroids where the weights are, linear keeps the extremes', () => {
    // 99 values near 0 and one large weight: the CDF puts every initial centroid inside the bulk.
    const values = [...Array.from({ length: 99 }, (_, i) => (i - 49) / 490), 5];
    const density = kmeans1d(values, 4, { init: 'density', iters: 0 });
    expect(Math.max(...density.centroids)).toBeLessThan(0.2);
    const linear = kmeans1d(values, 4, { init: 'linear', iters: 30 });
    expect(linear.centroids[3]).toBe(5);
  });

  it('k at least the distinct values gives every value exactly back', () => {
    const values = Float32Array.of(0.5, -0.25, 0.5, 0.125);
    const { centroids, assignments } = kmeans1d(values, 4, { init: 'linear', iters: 10 });
    expect(Array.from(values, (_, i) => centroids[assignments[i]])).toEqual(Array.from(values));
  });

  it('refuses more clusters than values', () => {
    expect(() => kmeans1d([1, 2], 3, { init: 'linear', iters: 1 })).toThrow(/cannot make 3/);
  });
});
