/**
 * Adversarial-example detection on per-input feature vectors (e.g. a dynamic network's decision
 * features): a binary classifier, clean (0) against adversarial (1), its ROC curve, and a
 * train/test split that keeps an image and its adversarial copies together. The logistic
 * regression and the ROC are plain TypeScript in float64, the same on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '../runtime/adam';
import type { Rng } from '../runtime/rng';

/** Scores each row: the probability that it is adversarial. */
export interface Detector {
  score(rows: ArrayLike<number>[]): Float64Array;
}

/** Per-feature mean and standard deviation, from the training rows only. */
export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Spreads below this count as constant (features here are probabilities and pixels). */
const MIN_SPREAD = 1e-6;

export function fitStandardizer(rows: ArrayLike<number>[]): Standardizer {
  if (rows.length === 0) throw new RangeError('fitStandardizer needs at least one row');
  const d = rows[0].length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const r of rows) {
    if (r.length !== d) throw new RangeError(`rows differ in length: ${r.length} and ${d}`);
    for (let j = 0; j < d; j++) mean[j] += r[j];
  }
  for (let j = 0; j < d; j++) mean[j] /= rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) std[j] += (r[j] - mean[j]) ** 2;
  // A (near-)constant feature carries nothing: scale 1 keeps it near 0. Dividing by a spread
  // of 1e-20 (an action a unit never takes) would blow a test row's value up to infinity.
  for (let j = 0; j < d; j++) {
    const spread = Math.sqrt(std[j] / rows.length);
    std[j] = spread > MIN_SPREAD ? spread : 1;
  }
  return { mean, std };
}

export function standardize(s: Standardizer, rows: ArrayLike<number>[]): Float64Array[] {
  const d = s.mean.length;
  return rows.map((r) => {
    if (r.length !== d) throw new RangeError(`a row has ${r.length} features, expected ${d}`);
    const z = new Float64Array(d);
    for (let j = 0; j < d; j++) z[j] = (r[j] - s.mean[j]) / s.std[j];
    return z;
  });
}

/** Throws a RangeError unless there is one 0/1 label per row and both classes occur. */
export function checkLabels(rows: ArrayLike<number>[], labels: ArrayLike<number>): void {
  if (rows.length !== labels.length) {
    throw new RangeError(`${rows.length} rows but ${labels.length} labels`);
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`labels must be 0 or 1`);
    positives += labels[i];
  }
  if (positives === 0 || positives === labels.length) {
    throw new RangeError('a detector needs both clean (0) and adversarial (1) rows');
  }
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** log(1 + e^z) without overflow. */
const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

/**
 * Solves A x = b for a symmetric positive definite A (row-major, n×n) by Cholesky; only A's
 * lower triangle is read.
 */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j];
      for (let k = 0; k < j; k++) sum -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-300)) : sum / l[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * n + k] * y[k];
    y[i] = sum / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * x[k];
    x[i] = sum / l[i * n + i];
  }
  return x;
}

export interface LogisticOptions {
  /**
   * λ of the penalty (λ/2)·‖w‖² added to the mean log-loss (the bias is not penalised). It
   * keeps the optimum finite on separable features; default 1e-2.
   */
  l2?: number;
  maxIterations?: number;
  /** Stop when no weight moves more than this in a Newton step. */
  tolerance?: number;
}

export interface LogisticDetector extends Detector {
  standardizer: Standardizer;
  weights: Float64Array;
  bias: number;
  /** Newton steps taken. */
  iterations: number;
}

/**
 * L2-penalised logistic regression on standardised features, fitted by Newton's method (IRLS)
 * with step halving: the objective is strictly convex, so it converges to the one optimum in a
 * few steps, deterministically. Each step costs O(n·d²), fine for decision features (layers ×
 * actions, tens to a few hundred dimensions).
 */
export function trainLogistic(
  rows: ArrayLike<number>[],
  labels: ArrayLike<number>,
  opts: LogisticOptions = {},
): LogisticDetector {
  const { l2 = 1e-2, maxIterations = 100, tolerance = 1e-8 } = opts;
  checkLabels(rows, labels);
  const standardizer = fitStandardizer(rows);
  const x = standardize(standardizer, rows);
  const n = x.length;
  const d = standardizer.mean.length;
  const p = d + 1; // the bias is the last parameter
  let w = new Float64Array(p);
  const margin = (wv: Float64Array, row: Float64Array) => {
    let z = wv[d];
    for (let j = 0; j < d; j++) z += wv[j] * row[j];
    return z;
  };
  const objective = (wv: Float64Array) => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const z = margin(wv, x[i]);
      loss += softplus(z) - labels[i] * z;
    }
    let penalty = 0;
    for (let j = 0; j < d; j++) penalty += wv[j] * wv[j];
    return loss / n + (l2 / 2) * penalty;
  };
  let iterations = 0;
  let current = objective(w);
  while (iterations < maxIterations) {
    iterations++;
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    const row = new Float64Array(p);
    row[d] = 1;
    for (let i = 0; i < n; i++) {
      row.set(x[i]);
      const q = sigmoid(margin(w, x[i]));
      const r = (q - labels[i]) / n;
      const s = (q * (1 - q)) / n;
      for (let a = 0; a < p; a++) {
        grad[a] += r * row[a];
        const sa = s * row[a];
        for (let b = 0; b <= a; b++) hess[a * p + b] += sa * row[b];
      }
    }
    // solveSpd reads only the lower triangle, the part filled above.
    for (let a = 0; a < p; a++) {
      // Saturated probabilities can leave the bias's curvature at 0: a tiny ridge keeps it SPD.
      hess[a * p + a] += a < d ? l2 : 1e-12;
      if (a < d) grad[a] += l2 * w[a];
    }
    const step = solveSpd(hess, grad, p);
    let t = 1;
    let next = w;
    let value = current;
    while (t > 1e-10) {
      next = w.map((v, j) => v - t * step[j]);
      value = objective(next);
      if (value <= current) break;
      t /= 2;
    }
    const moved = step.reduce((m, v) => Math.max(m, Math.abs(t * v)), 0);
    if (value > current) break;
    w = next;
    current = value;
    if (moved < tolerance) break;
  }
  const weights = w.slice(0, d);
  const bias = w[d];
  return {
    standardizer,
    weights,
    bias,
    iterations,
    score: (test) =>
      Float64Array.from(standardize(standardizer, test), (z) => sigmoid(margin(w, z))),
  };
}

export interface MlpOptions {
  hidden?: number;
  epochs?: number;
  learningRate?: number;
  /** λ of (λ/2)·‖W‖² on both layers' weights. */
  l2?: number;
  /** Seeds the initial weights. */
  rng: Rng;
}

/**
 * A one-hidden-layer ReLU network on standardised features, He-initialised from `rng` and
 * trained full-batch with Adam on the mean log-loss: a non-linear detector for features a
 * hyperplane cannot split. Training runs on TF.js (O(epochs·n·d·hidden) is too slow in plain
 * JavaScript for wide features); the trained weights come back as arrays, so the detector holds
 * no tensors.
 */
export function trainMlp(
  rows: ArrayLike<number>[],
  labels: ArrayLike<number>,
  opts: MlpOptions,
): Detector {
  const { hidden = 32, epochs = 300, learningRate = 0.01, l2 = 1e-4, rng } = opts;
  checkLabels(rows, labels);
  const standardizer = fitStandardizer(rows);
  const n = rows.length;
  const d = standardizer.mean.length;
  const he = (count: number, fanIn: number) =>
    Float32Array.from({ length: count }, () => rng.normal(0, Math.sqrt(2 / fanIn)));
  const x = new Float32Array(n * d);
  standardize(standardizer, rows).forEach((z, i) => x.set(z, i * d));
  // The initial values stay tensors of their own beside the variables: the tidy frees them.
  const params = tf.tidy(() => ({
    w1: tf.variable(tf.tensor2d(he(d * hidden, d), [d, hidden])),
    b1: tf.variable(tf.zeros([hidden])),
    w2: tf.variable(tf.tensor2d(he(hidden, hidden), [hidden, 1])),
    b2: tf.variable(tf.zeros([1])),
  }));
  const xs = tf.tensor2d(x, [n, d]);
  const ys = tf.tensor2d(Float32Array.from(labels), [n, 1]);
  const optimizer = new FusedAdam(learningRate);
  for (let t = 0; t < epochs; t++) {
    tf.tidy(() => {
      optimizer.minimize(() => {
        const h = tf.relu(tf.add(tf.matMul(xs, params.w1), params.b1));
        const z = tf.add(tf.matMul(h, params.w2), params.b2);
        const penalty = tf.mul(
          l2 / 2,
          tf.add(tf.sum(tf.square(params.w1)), tf.sum(tf.square(params.w2))),
        );
        return tf.add(tf.losses.sigmoidCrossEntropy(ys, z), penalty) as tf.Scalar;
      });
    });
  }
  const [w1, b1, w2, b2] = [params.w1, params.b1, params.w2, params.b2].map((v) =>
    Float64Array.from(v.dataSync()),
  );
  optimizer.dispose();
  tf.dispose([xs, ys, ...Object.values(params)]);
  const h = new Float64Array(hidden);
  const logit = (row: Float64Array) => {
    let z = b2[0];
    for (let k = 0; k < hidden; k++) h[k] = b1[k];
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < hidden; k++) h[k] += row[j] * w1[j * hidden + k];
    }
    for (let k = 0; k < hidden; k++) z += Math.max(h[k], 0) * w2[k];
    return z;
  };
  return {
    score: (test) => Float64Array.from(standardize(standardizer, test), (z) => sigmoid(logit(z))),
  };
}

export interface Roc {
  /** False-positive rates, ascending from 0 to 1; at most 200 points. */
  fpr: number[];
  tpr: number[];
  /** Area under the full curve. */
  auc: number;
}

const MAX_CURVE_POINTS = 200;

/**
 * The ROC curve of `scores` (higher = more likely positive) against 0/1 `labels`: one point per
 * distinct score used as a threshold, so tied scores move both rates at once (a diagonal
 * segment) and the trapezoid AUC equals the Mann–Whitney probability P(s₊ > s₋) + ½·P(s₊ = s₋).
 * The AUC is computed on every point; the returned curve is thinned to ≤ 200 points for plotting.
 */
export function roc(scores: ArrayLike<number>, labels: ArrayLike<number>): Roc {
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError('labels must be 0 or 1');
    if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is NaN`);
    positives += labels[i];
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError('an ROC curve needs both positive and negative examples');
  }
  // Compared, not subtracted, so ±Infinity scores sort too.
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) =>
    scores[a] > scores[b] ? -1 : scores[a] < scores[b] ? 1 : 0,
  );
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let i = 0; i < order.length;) {
    const threshold = scores[order[i]];
    for (; i < order.length && scores[order[i]] === threshold; i++) {
      if (labels[order[i]] === 1) tp++;
      else fp++;
    }
    const x = fp / negatives;
    const y = tp / positives;
    auc += ((x - fpr[fpr.length - 1]) * (y + tpr[tpr.length - 1])) / 2;
    fpr.push(x);
    tpr.push(y);
  }
  if (fpr.length <= MAX_CURVE_POINTS) return { fpr, tpr, auc };
  // Evenly spaced points, always keeping (0, 0) and (1, 1).
  const keep = Array.from({ length: MAX_CURVE_POINTS }, (_, k) =>
    Math.round((k * (fpr.length - 1)) / (MAX_CURVE_POINTS - 1)),
  );
  return { fpr: keep.map((k) => fpr[k]), tpr: keep.map((k) => tpr[k]), auc };
}

/**
 * A seeded train/test split of detection rows laid out as `copies` blocks of `n`: row b·n + i
 * is copy b of source image i (block 0 the clean images, then one block per attack). Images,
 * not rows, are split — round(fraction·n) of them to train — and every copy of an image goes
 * where the image goes, so the test split never holds an image whose clean or adversarial
 * version the detector was trained on. Row indices come back ascending.
 */
export function splitTrainTest(
  n: number,
  fraction: number,
  rng: Rng,
  copies = 2,
): { train: Int32Array; test: Int32Array } {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`n must be an integer ≥ 2, got ${n}`);
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(`fraction must be in (0, 1), got ${fraction}`);
  }
  if (!Number.isInteger(copies) || copies < 1) {
    throw new RangeError(`copies must be a positive integer, got ${copies}`);
  }
  const images = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const nTrain = Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
  const inTrain = new Uint8Array(n);
  for (const i of images.slice(0, nTrain)) inTrain[i] = 1;
  const train: number[] = [];
  const test: number[] = [];
  for (let b = 0; b < copies; b++) {
    for (let i = 0; i < n; i++) (inTrain[i] ? train : test).push(b * n + i);
  }
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
