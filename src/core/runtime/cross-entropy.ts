/**
 * Softmax cross-entropy, the mean over a batch of −Σ_c labels · log softmax(logits): the value of
 * tf.losses.softmaxCrossEntropy(labels, logits) with its defaults, as one kernel forward and one
 * backward where the backend has ours (wasm: wasm-kernels.ts), instead of the ~25 small
 * kernels TF.js runs for it forward and backward — each a few µs of work on a [64, 10] batch
 * but ~10 µs of engine bookkeeping. Elsewhere, and for logits that are not float32 [N, C] or
 * labels not float32 or int32 (tf.oneHot's) of their shape, TF.js's own runs.
 */
import * as tf from '@tensorflow/tfjs';

import { runWithGradient } from './gradients';

export const SOFTMAX_CROSS_ENTROPY = 'SoftmaxCrossEntropy';
/** dLogits = dy · (softmax(logits) − labels) / N. */
export const SOFTMAX_CROSS_ENTROPY_GRAD = 'SoftmaxCrossEntropyGrad';

export function softmaxCrossEntropy(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  const fused =
    (labels.dtype === 'float32' || labels.dtype === 'int32') &&
    logits.dtype === 'float32' &&
    logits.rank === 2 &&
    tf.util.arraysEqual(labels.shape, logits.shape) &&
    tf.getKernel(SOFTMAX_CROSS_ENTROPY, tf.getBackend()) !== undefined;
  if (!fused) return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  return runWithGradient(crossEntropyGradient, { labels, logits }) as tf.Scalar;
}

/**
 * The gradient of SOFTMAX_CROSS_ENTROPY: by its own kernel for the logits; for the labels (no
 * method trains them) −log softmax(logits) / N from tf ops. (TF.js's own gives labels
 * dy · (labels − softmax), which is not this loss's derivative.)
 */
const crossEntropyGradient: tf.GradConfig = {
  kernelName: SOFTMAX_CROSS_ENTROPY,
  inputsToSave: ['labels', 'logits'],
  gradFunc: (dy, [labels, logits]) => ({
    logits: () =>
      tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY_GRAD, { dy: dy as tf.Tensor, labels, logits }),
    labels: () => tf.mul(dy as tf.Tensor, tf.div(tf.neg(tf.logSoftmax(logits)), logits.shape[0])),
  }),
};

/**
 * Calls `row(i, lse)` for each row i of logits [N, C] with its log-sum-exp, in double precision
 * (NaN in a row gives NaN, as TF.js's max-shifted sum does).
 */
function eachRow(
  logits: ArrayLike<number>,
  n: number,
  c: number,
  row: (i: number, lse: number) => void,
): void {
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = i * c; j < (i + 1) * c; j++) max = Math.max(max, logits[j]);
    let sum = 0;
    for (let j = i * c; j < (i + 1) * c; j++) sum += Math.exp(logits[j] - max);
    row(i, max + Math.log(sum));
  }
}

/** SOFTMAX_CROSS_ENTROPY's value for logits and labels [N, C] given as arrays (a backend's memory). */
export function crossEntropyValue(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  c: number,
): number {
  let total = 0;
  eachRow(logits, n, c, (i, lse) => {
    for (let j = i * c; j < (i + 1) * c; j++) total -= labels[j] * (logits[j] - lse);
  });
  return total / n;
}

/** SOFTMAX_CROSS_ENTROPY_GRAD into `out` [N, C], for the loss's gradient dy. */
export function crossEntropyLogitsGradient(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  dy: number,
  n: number,
  c: number,
  out: Float32Array,
): void {
  eachRow(logits, n, c, (i, lse) => {
    for (let j = i * c; j < (i + 1) * c; j++)
      out[j] = (dy / n) * (Math.exp(logits[j] - lse) - labels[j]);
  });
}
