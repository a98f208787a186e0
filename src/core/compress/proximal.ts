// Proximal operators and projections for compression by proximal gradient descent (Cross
// Distillation, Bai et al. AAAI 2020, arXiv:1911.09450, Eq. 1 with R = ‖W‖₁ or ‖W‖₂,₁), and the
// hard top-k projection with a linearly annealed target that the paper's reference code uses
// instead. Pure functions: tensors in, tensors (or plain masks) out; the caller tidies.
import * as tf from '@tensorflow/tfjs';

/**
 * A kernel seen as [spatial, channels, out]: group i = every weight that reads input channel i.
 * An NHWC conv kernel [kh, kw, C, out] reshapes to [kh·kw, C, out]; a dense kernel [C, out] to
 * [1, C, out]; a dense kernel reading a flattened h×w×C map to [h·w, C, out] (row = p·C + c).
 */
export type GroupedKernel = tf.Tensor3D;

/** ‖W_i‖₂ of every input-channel group, shape [channels]. */
export function groupNorms(w: GroupedKernel): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), [0, 2])) as tf.Tensor1D);
}

/**
 * Proximal map of t·‖W‖₂,₁ (block soft-thresholding): W_i ← max(0, 1 − t/‖W_i‖₂)·W_i. A group
 * whose norm is at most t becomes exactly zero. `threshold` is one t for all groups or one per
 * group (e.g. scaled by √(group size) as in the group lasso).
 */
export function groupSoftThreshold(
  w: GroupedKernel,
  threshold: number | ArrayLike<number>,
): GroupedKernel {
  return tf.tidy(() => {
    const norms = groupNorms(w);
    const t =
      typeof threshold === 'number'
        ? tf.scalar(threshold)
        : tf.tensor1d(Float32Array.from(threshold as ArrayLike<number>));
    // max(0, 1 − t/n), written as max(0, n − t)/n so a zero group (n = 0) stays 0 without NaN.
    const shrunk = tf.relu(tf.sub(norms, t));
    const scale = tf.where(tf.greater(norms, 0), tf.div(shrunk, tf.maximum(norms, 1e-30)), 0);
    return tf.mul(w, tf.reshape(scale, [1, -1, 1])) as GroupedKernel;
  });
}

/** Proximal map of t·‖W‖₁ (soft-thresholding): w ← sign(w)·max(|w| − t, 0). */
export function softThreshold<T extends tf.Tensor>(w: T, threshold: number): T {
  return tf.tidy(() => tf.mul(tf.sign(w), tf.relu(tf.sub(tf.abs(w), threshold))) as T);
}

/**
 * A 0/1 mask keeping exactly the k largest scores. Ties are broken by position (the lower index
 * is kept), so the mask is deterministic and always keeps exactly k entries — the reference code
 * thresholds instead, which keeps more than k on tied channel norms and fewer on tied weights.
 */
export function topKMask(scores: ArrayLike<number>, k: number): Float32Array {
  const n = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(`topKMask: k must be an integer in [0, ${n}], got ${k}`);
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const score = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  order.sort((a, b) => score(b) - score(a) || a - b);
  const mask = new Float32Array(n);
  for (let i = 0; i < k; i++) mask[order[i]] = 1;
  return mask;
}

/**
 * Input channels to keep at PGD iteration `iter` of `iters` (reference code, structured
 * learner): the count falls linearly from `channels` to `target` over the first third,
 *   k_i = ⌊(C − c*)·(T/3 − i)/(T/3)⌋ + c*   for i ≤ ⌊T/3⌋,
 * then stays at c*.
 */
export function annealedChannelKeep(
  channels: number,
  target: number,
  iter: number,
  iters: number,
): number {
  const third = Math.floor(iters / 3);
  if (third === 0 || iter >= third) return target;
  return Math.floor(((channels - target) * (third - iter)) / third) + target;
}

/**
 * Weights to keep at iteration `iter` (reference code, unstructured learner): the kept ratio
 * ρ_i = r + (1 − r)·(T/3 − i)/(T/3) falls linearly to r over the first third, k = ⌊numel·ρ_i⌋.
 */
export function annealedWeightKeep(
  numel: number,
  keepRatio: number,
  iter: number,
  iters: number,
): number {
  const third = Math.floor(iters / 3);
  const progress = third === 0 ? 0 : Math.max(0, third - iter) / third;
  return Math.floor(numel * (keepRatio + (1 - keepRatio) * progress) + 1e-9);
}

/** Channels kept for a target sparsity s (fraction removed): ⌊C·(1 − s)⌋, at least 1. */
export function keptChannels(channels: number, sparsity: number): number {
  return Math.max(1, Math.min(channels, Math.floor(channels * (1 - sparsity) + 1e-9)));
}

/**
 * Nearest point of the symmetric k-bit uniform grid {−L..L}·s with L = 2^(k−1) − 1 and the
 * per-layer step s = max|w|/L (the grid's ends are the layer's largest magnitudes). Rounds half
 * to even (tf.round).
 */
export function quantizeSymmetric<T extends tf.Tensor>(w: T, bits: number): T {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) {
    throw new RangeError(`quantizeSymmetric: bits must be an integer in [2, 16], got ${bits}`);
  }
  const levels = 2 ** (bits - 1) - 1;
  return tf.tidy(() => {
    const step = tf.div(tf.max(tf.abs(w)), levels);
    const safe = tf.where(tf.greater(step, 0), step, 1);
    return tf.mul(tf.round(tf.div(w, safe)), safe) as T;
  });
}

/**
 * quantizeSymmetric in the forward pass, identity in the backward pass (straight-through), so
 * the optimiser moves a full-precision latent weight while the loss sees its projection. A plain
 * "step, then project" loop never moves a weight whose Adam step is below half a grid spacing.
 */
export function quantizeStraightThrough<T extends tf.Tensor>(w: T, bits: number): T {
  const f = tf.customGrad((x) => ({
    value: quantizeSymmetric(x as tf.Tensor, bits),
    gradFunc: (dy: tf.Tensor) => dy,
  }));
  return f(w) as T;
}
