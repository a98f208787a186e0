/**
 * Batch norm in training mode: y = (x − μ)·γ / √(σ² + ε) + β with μ and σ² (biased) the batch's
 * per-channel statistics over every axis but the last, as tf.moments then tf.batchNorm compute
 * it. Where the backend has our kernels (wasm: wasm-batch-norm.ts) it is one kernel forward and
 * one backward, instead of the ~40 small ones TF.js runs for moments, batchNorm and their
 * gradients — a third of a BN-VGG step on wasm, most of it engine bookkeeping and passes over
 * the activations that one pass could share. Elsewhere TF.js's own ops run.
 */
import * as tf from '@tensorflow/tfjs';

import { runWithGradient } from './gradients';

/** Inputs x, scale (γ), offset (β); outputs y, mean, variance; attrs varianceEpsilon. */
export const BATCH_NORM_TRAINING = 'BatchNormTraining';
/**
 * Inputs dy, x, mean, variance, scale and the gradients of the mean and variance outputs
 * (dMean, dVariance); outputs dx, dScale, dOffset.
 */
export const BATCH_NORM_TRAINING_GRAD = 'BatchNormTrainingGrad';

export interface BatchNormTrainingResult {
  y: tf.Tensor;
  /** The batch's per-channel mean, [C]. */
  mean: tf.Tensor1D;
  /** The batch's per-channel biased variance, [C]. */
  variance: tf.Tensor1D;
}

/** Training-mode batch norm of x [..., C] with scale and offset [C]; differentiable in all three. */
export function batchNormTraining(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
): BatchNormTrainingResult {
  const c = x.shape[x.rank - 1];
  const fused =
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    [scale, offset].every((p) => p.dtype === 'float32' && p.rank === 1 && p.size === c) &&
    tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined;
  if (!fused) {
    const { mean, variance } = channelMoments(x);
    return { y: tf.batchNorm(x, mean, variance, offset, scale, epsilon), mean, variance };
  }
  const attrs = { varianceEpsilon: epsilon };
  const [y, mean, variance] = runWithGradient(
    batchNormTrainingGradient,
    { x, scale, offset },
    attrs,
  ) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
  return { y, mean, variance };
}

const batchNormTrainingGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, [x, scale, mean, variance], attrs) => {
    const [dy, dMean, dVariance] = dys as tf.Tensor[];
    // One kernel gives all three, so it runs here, not in each input's thunk (each runs in a
    // tidy of its own, which would dispose the other two).
    const [dx, dScale, dOffset] = tf
      .engine()
      .runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, mean, variance, scale, dMean, dVariance },
        attrs,
      ) as tf.Tensor[];
    return { x: () => dx, scale: () => dScale, offset: () => dOffset };
  },
};

/** Input x; outputs the per-channel mean and biased variance, [C] each. */
export const CHANNEL_MOMENTS = 'ChannelMoments';

/**
 * The per-channel mean and biased variance of x [..., C] over every axis but the last, as
 * tf.moments computes them: where the backend has our kernels, the first two passes of the
 * training-mode batch norm, and a gradient of one multiply-add a position, instead of the
 * dozen kernels of tf.moments and its gradient. The moment-matching losses of DeepInversion and
 * generative moment matching take them at every BatchNorm layer in every step.
 */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const fused =
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    tf.getKernel(CHANNEL_MOMENTS, tf.getBackend()) !== undefined;
  if (!fused) {
    const { mean, variance } = tf.moments(
      x,
      x.shape.slice(0, -1).map((_, i) => i),
    );
    return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const [mean, variance] = runWithGradient(channelMomentsGradient, { x }) as tf.Tensor1D[];
  return { mean, variance };
}

/**
 * Over P positions a channel, ∂μ/∂x = 1/P and ∂σ²/∂x = 2(x − μ)/P: dx = x·a + b per channel
 * with a = 2·dVariance/P and b = dMean/P − a·μ.
 */
const channelMomentsGradient: tf.GradConfig = {
  kernelName: CHANNEL_MOMENTS,
  inputsToSave: ['x'],
  outputsToSave: [true, false],
  gradFunc: (dys, [x, mean]) => {
    const [dMean, dVariance] = dys as tf.Tensor[];
    const count = x.size / x.shape[x.rank - 1];
    return {
      x: () => {
        const a = tf.mul(dVariance, 2 / count);
        const b = tf.sub(tf.div(dMean, count), tf.mul(a, mean));
        return tf.add(tf.mul(x, a), b);
      },
    };
  },
};

/**
 * The per-channel coefficients of the input gradient dx = x·a + dy·b + c, from the sums over
 * the batch's P = `count` positions S1 = Σdy and S2 = Σdy·(x − μ), and dMean, dVariance: with
 * r = 1/√(σ² + ε) and x̂ = (x − μ)·r,
 *   dx = γr·(dy − S1/P − x̂·r·S2/P) + dMean/P + 2(x − μ)·dVariance/P;
 * dScale = r·S2 and dOffset = S1.
 */
export function batchNormGradientCoefficients(
  s: { sumDy: Float64Array; sumDyCentred: Float64Array; count: number },
  stats: { mean: ArrayLike<number>; variance: ArrayLike<number>; scale: ArrayLike<number> },
  dMean: ArrayLike<number>,
  dVariance: ArrayLike<number>,
  epsilon: number,
): {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  dScale: Float32Array;
  dOffset: Float32Array;
} {
  const channels = s.sumDy.length;
  const [a, b, c, dScale, dOffset] = Array.from({ length: 5 }, () => new Float32Array(channels));
  const p = s.count;
  for (let ch = 0; ch < channels; ch++) {
    const r = 1 / Math.sqrt(stats.variance[ch] + epsilon);
    const gr = stats.scale[ch] * r;
    // dx's term in (x − μ): −γr·x̂·r·S2/P = −γr³·S2/P·(x − μ), and the variance's 2·dVariance/P.
    const alpha = (-gr * r * r * s.sumDyCentred[ch] + 2 * dVariance[ch]) / p;
    a[ch] = alpha;
    b[ch] = gr;
    c[ch] = -alpha * stats.mean[ch] + (-gr * s.sumDy[ch] + dMean[ch]) / p;
    dScale[ch] = r * s.sumDyCentred[ch];
    dOffset[ch] = s.sumDy[ch];
  }
  return { a, b, c, dScale, dOffset };
}
