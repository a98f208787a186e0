/**
 * Gradients that TF.js computes wastefully, re-registered. The stock gradients of Sum and Mean
 * multiply dy by `tf.ones(x.shape)`, which fills a JavaScript array as large as x and uploads
 * it: for a generator's BatchNorm statistics over a 128×32×32×128 activation that is 67 MB of
 * JavaScript work per reduction, ~0.4 s of a DAFL step. Broadcasting dy onto `onesLike(x)` (a
 * fill kernel on the backend) computes the same values.
 */
import * as tf from '@tensorflow/tfjs';

/** dy broadcast back over the reduced axes of x (divided by their size for a mean). */
function spreadOverReduced(
  dy: tf.Tensor,
  x: tf.Tensor,
  axis: number | number[],
  mean: boolean,
): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const size = axes.reduce((n, a) => n * x.shape[a], 1);
  const expanded = tf.reshape(dy, kept);
  return tf.mul(tf.onesLike(x), mean ? tf.div(expanded, size) : expanded);
}

const reductionGradients: tf.GradConfig[] = (['Sum', 'Mean'] as const).map((kernelName) => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { axis } = attrs as unknown as tf.SumAttrs;
    return { x: () => spreadOverReduced(dy as tf.Tensor, x, axis, kernelName === 'Mean') };
  },
}));

/** Replaces the stock Sum and Mean gradients (idempotent; every backend). */
export function registerReductionGradients(): void {
  reductionGradients.forEach((config) => tf.registerGradient(config));
}
