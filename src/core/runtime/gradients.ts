/**
 * Gradients that TF.js computes wastefully, re-registered. The stock gradients of Sum and Mean
 * multiply dy by `tf.ones(x.shape)`, which fills a JavaScript array as large as x and uploads
 * it: for a generator's BatchNorm statistics over a 128×32×32×128 activation that is 67 MB of
 * JavaScript work per reduction, ~0.4 s of a DAFL step. Broadcasting dy onto `onesLike(x)` (a
 * fill kernel on the backend) computes the same values. ReLU's gradient is one kernel where the
 * backend has it (RELU_BACKPROP) instead of Step, Cast and Multiply.
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

/**
 * dX = dY · step(X) in one pass, a kernel of ours (on wasm: wasm-kernels.ts); the gradient of
 * Relu uses it on backends that register it.
 */
export const RELU_BACKPROP = 'ReluBackprop';

/** ReLU's gradient: by RELU_BACKPROP where the active backend has it, else as TF.js composes it. */
function reluBackprop(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const fused =
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    tf.getKernel(RELU_BACKPROP, tf.getBackend()) !== undefined;
  if (!fused) return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
  return tf.engine().runKernel(RELU_BACKPROP, { dy, x }) as tf.Tensor;
}

const reluGradients: tf.GradConfig[] = [
  {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => reluBackprop(dy as tf.Tensor, x) }),
  },
  // Linear in dY, piecewise constant in X: second derivatives through ReLU stay defined.
  {
    kernelName: RELU_BACKPROP,
    inputsToSave: ['x'],
    gradFunc: (g, [x]) => ({
      dy: () => reluBackprop(g as tf.Tensor, x),
      x: () => tf.zerosLike(x),
    }),
  },
];

/** Replaces the stock Sum, Mean and Relu gradients (idempotent; every backend). */
export function registerTrainingGradients(): void {
  [...reductionGradients, ...reluGradients].forEach((config) => tf.registerGradient(config));
}
