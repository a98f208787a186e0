// 1-D k-means for Deep Compression's weight sharing (Han, Mao & Dally, ICLR 2016, §3.1): the
// weights of one layer are clustered into k shared values. In one dimension a cluster is an
// interval of the sorted values, so each Lloyd iteration is k binary searches and k means from
// prefix sums instead of n·k distances.
import type { Rng } from '../runtime/rng';

/** Centroid initialisations compared in the paper (§3.2); linear keeps the rare large weights. */
export type KMeansInit = 'linear' | 'density' | 'forgy';

export interface KMeansOptions {
  init: KMeansInit;
  /** Lloyd iterations at most (it stops earlier once no centroid moves). */
  iters: number;
  /** Draws Forgy's k weights; unused by the other initialisations. */
  rng?: Rng;
}

export interface KMeansResult {
  /** k centroids in ascending order (an empty cluster keeps its initial value). */
  centroids: Float64Array;
  /** The centroid of every value, by the values' original order. */
  assignments: Int32Array;
}

/** Index of the first sorted value greater than `x`. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The value at quantile y of the sorted values (linear interpolation between order statistics). */
function quantile(sorted: Float64Array, y: number): number {
  const at = y * (sorted.length - 1);
  const i = Math.floor(at);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i] + (at - i) * (sorted[j] - sorted[i]);
}

function initialCentroids(sorted: Float64Array, k: number, o: KMeansOptions): Float64Array {
  const n = sorted.length;
  const min = sorted[0];
  const max = sorted[n - 1];
  switch (o.init) {
    case 'linear':
      // c_i = w_min + i·(w_max − w_min)/(k − 1)
      return Float64Array.from({ length: k }, (_, i) =>
        k === 1 ? (min + max) / 2 : min + (i * (max - min)) / (k - 1),
      );
    case 'density':
      // Evenly spaced on the CDF's y axis, at the middle of k equal-mass bins, mapped back to x.
      return Float64Array.from({ length: k }, (_, i) => quantile(sorted, (i + 0.5) / k));
    case 'forgy': {
      if (!o.rng) throw new RangeError('kmeans1d: Forgy initialisation needs an rng');
      // k distinct positions (a partial Fisher–Yates shuffle), read as weights, sorted.
      const order = Int32Array.from({ length: n }, (_, i) => i);
      const out = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        const j = i + o.rng.int(n - i);
        [order[i], order[j]] = [order[j], order[i]];
        out[i] = sorted[order[i]];
      }
      return out.sort();
    }
  }
}

/**
 * Lloyd's algorithm on 1-D `values` into `k` clusters: argmin_C Σ_i Σ_{w∈c_i} |w − c_i|².
 * With k at least the number of distinct values every value is its own centroid exactly.
 */
export function kmeans1d(values: ArrayLike<number>, k: number, o: KMeansOptions): KMeansResult {
  const n = values.length;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`kmeans1d: k must be ≥ 1, got ${k}`);
  if (n < k) throw new RangeError(`kmeans1d: ${n} values cannot make ${k} clusters`);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => values[a] - values[b] || a - b,
  );
  const sorted = Float64Array.from(order, (i) => values[i]);
  // prefix[i] = sum of the i smallest values: a cluster's mean is one subtraction.
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + sorted[i];

  const distinct = new Float64Array(new Set(sorted));
  const centroids =
    distinct.length <= k
      ? Float64Array.from({ length: k }, (_, i) => distinct[Math.min(i, distinct.length - 1)])
      : initialCentroids(sorted, k, o);
  // ends[j]: one past the last sorted value of cluster j (values up to the midpoint go left).
  const ends = new Int32Array(k);
  const partition = () => {
    for (let j = 0; j < k - 1; j++)
      ends[j] = upperBound(sorted, (centroids[j] + centroids[j + 1]) / 2);
    ends[k - 1] = n;
  };
  for (let it = 0; it < o.iters; it++) {
    partition();
    let moved = false;
    for (let j = 0, start = 0; j < k; start = ends[j], j++) {
      const count = ends[j] - start;
      if (count === 0) continue;
      const mean = (prefix[ends[j]] - prefix[start]) / count;
      if (mean !== centroids[j]) moved = true;
      centroids[j] = mean;
    }
    if (!moved) break;
  }
  partition();
  const assignments = new Int32Array(n);
  for (let j = 0, start = 0; j < k; start = ends[j], j++) {
    for (let s = start; s < ends[j]; s++) assignments[order[s]] = j;
  }
  return { centroids, assignments };
}
