/**
 * A random forest (Breiman 2001, "Random Forests", Machine Learning 45) for binary 0/1 labels:
 * each tree is a CART grown on a bootstrap sample, each node split by the largest Gini impurity
 * decrease over a random subset of the features. A leaf holds the fraction of label-1 rows it
 * received, and a row's score is the mean of those fractions over the trees. Unlike the
 * logistic detector it needs no standardisation and separates classes no hyperplane can (XOR).
 */
import type { Rng } from '../runtime/rng';
import { checkLabels, type Detector } from './detector';

export interface ForestOptions {
  /** Each tree draws its bootstrap sample and feature subsets from `rng.fork('tree:t')`. */
  rng: Rng;
  trees?: number;
  maxDepth?: number;
  /** The fewest (bootstrap) rows a leaf may hold. */
  minLeaf?: number;
  /** Features tried per node; default round(√d). */
  featuresPerSplit?: number;
}

function checkInteger(name: string, value: number, min: number, max = Infinity): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

export function trainForest(
  rows: ArrayLike<number>[],
  labels: ArrayLike<number>,
  opts: ForestOptions,
): Detector {
  checkLabels(rows, labels);
  const n = rows.length;
  const d = rows[0].length;
  const { rng, trees = 100, maxDepth = 12, minLeaf = 1 } = opts;
  const featuresPerSplit = opts.featuresPerSplit ?? Math.max(1, Math.round(Math.sqrt(d)));
  checkInteger('the feature count', d, 1);
  checkInteger('trees', trees, 1);
  checkInteger('maxDepth', maxDepth, 0);
  checkInteger('minLeaf', minLeaf, 1);
  checkInteger('featuresPerSplit', featuresPerSplit, 1, d);

  // Column-major: a split search reads one feature of many rows.
  const x = new Float64Array(n * d);
  const y = Uint8Array.from(labels);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`rows differ in length: ${r.length} and ${d}`);
    for (let j = 0; j < d; j++) x[j * n + i] = r[j];
  });

  // All trees' nodes in flat arrays; a leaf has feature -1 and its label-1 fraction in `value`.
  const feature: number[] = [];
  const value: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const roots: number[] = [];

  const idx = new Int32Array(n); // the bootstrap sample, partitioned in place node by node
  const features = Int32Array.from({ length: d }, (_, j) => j);
  // A feature's values in a node, split by class: two native numeric sorts, then a merge.
  const neg = new Float64Array(n);
  const pos = new Float64Array(n);

  const grow = (treeRng: Rng, start: number, end: number, depth: number): number => {
    const m = end - start;
    let ones = 0;
    for (let k = start; k < end; k++) ones += y[idx[k]];
    const node = feature.length;
    feature.push(-1);
    value.push(ones / m);
    left.push(-1);
    right.push(-1);
    if (ones === 0 || ones === m || depth >= maxDepth || m < 2 * minLeaf) return node;

    // Minimises nL·giniL + nR·giniR (∝ Σ n₀n₁/n per child), i.e. maximises the Gini decrease.
    let bestCost = Infinity;
    let bestFeature = -1;
    let bestThreshold = 0;
    // Partial Fisher–Yates over the features. Like CART implementations (scikit-learn), constant
    // features do not count towards featuresPerSplit, so a node splits whenever any feature can.
    let tried = 0;
    for (let k = 0; k < d && tried < featuresPerSplit; k++) {
      const r = k + treeRng.int(d - k);
      const f = features[r];
      features[r] = features[k];
      features[k] = f;
      let c0 = 0;
      let c1 = 0;
      for (let s = start; s < end; s++) {
        const i = idx[s];
        if (y[i]) pos[c1++] = x[f * n + i];
        else neg[c0++] = x[f * n + i];
      }
      const a = neg.subarray(0, c0).sort();
      const b = pos.subarray(0, c1).sort();
      let i0 = 0;
      let i1 = 0;
      let v = Math.min(i0 < c0 ? a[i0] : Infinity, i1 < c1 ? b[i1] : Infinity);
      if (v === Math.max(c0 ? a[c0 - 1] : -Infinity, c1 ? b[c1 - 1] : -Infinity)) continue;
      tried++;
      // Sweep the distinct values upwards; all rows equal to v go left together.
      for (;;) {
        while (i0 < c0 && a[i0] === v) i0++;
        while (i1 < c1 && b[i1] === v) i1++;
        if (i0 === c0 && i1 === c1) break;
        const next = Math.min(i0 < c0 ? a[i0] : Infinity, i1 < c1 ? b[i1] : Infinity);
        const nl = i0 + i1;
        const nr = m - nl;
        if (nl >= minLeaf && nr >= minLeaf) {
          const cost = (i0 * i1) / nl + ((c0 - i0) * (c1 - i1)) / nr;
          if (cost < bestCost) {
            bestCost = cost;
            bestFeature = f;
            // The midpoint of neighbouring doubles can round up to `next`: then split at v.
            const mid = v + (next - v) / 2;
            bestThreshold = mid < next ? mid : v;
          }
        }
        v = next;
      }
    }
    if (bestFeature < 0) return node;

    // Partition idx[start, end) into ≤ threshold, then > threshold.
    let mid = start;
    for (let k = start; k < end; k++) {
      const i = idx[k];
      if (x[bestFeature * n + i] <= bestThreshold) {
        idx[k] = idx[mid];
        idx[mid++] = i;
      }
    }
    feature[node] = bestFeature;
    value[node] = bestThreshold;
    left[node] = grow(treeRng, start, mid, depth + 1);
    right[node] = grow(treeRng, mid, end, depth + 1);
    return node;
  };

  for (let t = 0; t < trees; t++) {
    const treeRng = rng.fork(`tree:${t}`);
    for (let k = 0; k < n; k++) idx[k] = treeRng.int(n);
    roots.push(grow(treeRng, 0, n, 0));
  }

  const featureOf = Int32Array.from(feature);
  const valueOf = Float64Array.from(value);
  const leftOf = Int32Array.from(left);
  const rightOf = Int32Array.from(right);
  return {
    score: (test) =>
      Float64Array.from(test, (r) => {
        if (r.length !== d) throw new RangeError(`a row has ${r.length} features, expected ${d}`);
        let sum = 0;
        for (const root of roots) {
          let node = root;
          while (featureOf[node] >= 0) {
            node = r[featureOf[node]] <= valueOf[node] ? leftOf[node] : rightOf[node];
          }
          sum += valueOf[node];
        }
        return sum / trees;
      }),
  };
}
