/**
 * The losses that make a frozen teacher say what its training data looked like
 * (`../shared/METHODS.md` §2–4). Each takes tensors and returns a scalar; none disposes its inputs.
 */
import * as tf from '@tensorflow/tfjs';

import { channelMoments } from '../runtime/batch-norm';
import { softmaxCrossEntropy } from '../runtime/cross-entropy';

/**
 * DAFL's one-hot loss: the cross-entropy of the teacher's logits against their own arg-max, so
 * the teacher becomes confident on generated images. The pseudo-label is a constant.
 */
export function oneHotLoss(teacherLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const classes = teacherLogits.shape[1];
    const target = tf.oneHot(tf.argMax(teacherLogits, 1), classes);
    return softmaxCrossEntropy(target, teacherLogits) as tf.Scalar;
  });
}

/**
 * DAFL's activation loss: −mean |f_T| over the batch and the feature dimension (the reference
 * code's mean; the paper writes the per-example L1 norm, which only rescales the weight).
 */
export function activationLoss(features: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.abs(features))) as tf.Scalar);
}

/**
 * DAFL's information-entropy loss Σ_j p̄_j·log10 p̄_j, p̄ the batch's mean softmax: minimal
 * (−log10 k) when the batch is spread evenly over the k classes. Base 10 as in the reference
 * code: its weight (5 on MNIST) is calibrated to it.
 */
export function informationEntropyLoss(teacherLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const mean = tf.mean(tf.softmax(teacherLogits), 0);
    // The floor keeps log finite when a class's mean probability underflows to 0.
    const log10 = tf.div(tf.log(tf.maximum(mean, 1e-30)), Math.LN10);
    return tf.sum(tf.mul(mean, log10)) as tf.Scalar;
  });
}

/** A BatchNorm layer's input on the generated batch, and the statistics it was trained with. */
export interface BatchNormInput {
  x: tf.Tensor;
  movingMean: tf.Tensor;
  movingVariance: tf.Tensor;
}

/**
 * Feature-statistics loss: over every BatchNorm layer l, the distance between the per-channel
 * mean and biased variance of its input on this batch (over every axis but the channels) and its
 * running statistics. `squared` false is DeepInversion's Σ‖μ − μ̂‖₂ + ‖σ² − σ̂²‖₂; true the
 * squared form of moment matching. Zero exactly when every batch statistic equals the running
 * one.
 */
export function batchNormMomentLoss(layers: BatchNormInput[], squared: boolean): tf.Scalar {
  return tf.tidy(() => {
    const terms = layers.map(({ x, movingMean, movingVariance }) => {
      const { mean, variance } = channelMoments(x);
      const distance = (a: tf.Tensor, b: tf.Tensor) => {
        const sq = tf.sum(tf.square(tf.sub(a, b)));
        return squared ? sq : tf.sqrt(sq);
      };
      return tf.add(distance(mean, movingMean), distance(variance, movingVariance));
    });
    return (terms.length ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
  });
}

/**
 * DeepInversion's total-variation prior: the Frobenius norms (not squared) of the differences
 * between neighbours along the width, the height and both diagonals, summed.
 */
export function totalVariation(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    // The window of `rows` × `cols` starting at (top, left).
    const at = (top: number, left: number, rows: number, cols: number) =>
      tf.slice(x, [0, top, left, 0], [-1, rows, cols, -1]);
    const horizontal = tf.sub(at(0, 0, h, w - 1), at(0, 1, h, w - 1));
    const vertical = tf.sub(at(0, 0, h - 1, w), at(1, 0, h - 1, w));
    const diagonal = tf.sub(at(0, 0, h - 1, w - 1), at(1, 1, h - 1, w - 1));
    const antiDiagonal = tf.sub(at(1, 0, h - 1, w - 1), at(0, 1, h - 1, w - 1));
    const norm = (d: tf.Tensor) => tf.sqrt(tf.sum(tf.square(d)));
    return tf.addN([horizontal, vertical, diagonal, antiDiagonal].map(norm)) as tf.Scalar;
  });
}

/** The L2 prior: the Frobenius norm of the whole batch (DeepInversion's CIFAR code). */
export function l2Prior(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(x))) as tf.Scalar);
}

/**
 * ADI's competition term 1 − JS(p_T, p_S) at temperature τ, as the reference code computes it:
 * P, Q and M = (P + Q)/2 clamped to [0.01, 0.99], JS = ½·KL(M ‖ P) + ½·KL(M ‖ Q) averaged over
 * the batch, then clamped to [0, 1]. Minimising it seeks images the two networks disagree on.
 */
export function competitionLoss(
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const clamp = (t: tf.Tensor) => tf.clipByValue(t, 0.01, 0.99);
    const p = tf.softmax(tf.div(teacherLogits, temperature));
    const q = tf.softmax(tf.div(studentLogits, temperature));
    const m = clamp(tf.div(tf.add(p, q), 2));
    const kl = (a: tf.Tensor, b: tf.Tensor) =>
      tf.div(tf.sum(tf.mul(a, tf.sub(tf.log(a), tf.log(b)))), teacherLogits.shape[0]);
    const js = tf.mul(0.5, tf.add(kl(m, clamp(p)), kl(m, clamp(q))));
    return tf.sub(1, tf.clipByValue(js, 0, 1)) as tf.Scalar;
  });
}
