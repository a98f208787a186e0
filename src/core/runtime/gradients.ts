/**
 * Gradients that TF.js computes wastefully, re-registered. The stock gradients of Sum and Mean
 * multiply dy by `tf.ones(x.shape)`, which fills a JavaScript array as large as x and uploads
 * it: for a generator's BatchNorm statistics over a 128×32×32×128 activation that is 67 MB of
 * JavaScript work per reduction, ~0.4 s of a DAFL step. Broadcasting dy onto `onesLike(x)` (a
 * fill kernel on the backend) computes the same values. ReLU's and LeakyReLU's gradients are
 * one kernel where the backend has it (RELU_BACKPROP) instead of Step, Cast and Multiply;
 * inference-mode batch norm's computes only what is asked for (batchNormGradient). The fused
 * convolution that graph/ops.ts runs gets a gradient of its own (fusedGradients); our
 * fused kernels register theirs on first use (runWithGradient).
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
 * dX = dY · step(X) in one pass, a kernel of ours (on wasm: wasm-kernels.ts), step being 1 where
 * X > 0 and attribute `alpha` elsewhere (0: ReLU's gradient; LeakyReLU's slope); the gradients
 * of Relu and LeakyRelu use it on backends that register it.
 */
export const RELU_BACKPROP = 'ReluBackprop';

/**
 * ReLU's (alpha 0) or LeakyReLU's gradient: by RELU_BACKPROP where the active backend has it,
 * else as TF.js composes it (Step, then Multiply).
 */
export function reluBackprop(dy: tf.Tensor, x: tf.Tensor, alpha = 0): tf.Tensor {
  const fused =
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    tf.getKernel(RELU_BACKPROP, tf.getBackend()) !== undefined;
  if (!fused) return tf.mul(dy, tf.cast(tf.step(x, alpha), 'float32'));
  return tf.engine().runKernel(RELU_BACKPROP, { dy, x }, { alpha }) as tf.Tensor;
}

/** The slope below zero of a Relu (none: 0), LeakyRelu or RELU_BACKPROP call. */
const slopeOf = (attrs: tf.NamedAttrMap | undefined) => (attrs?.alpha as number | undefined) ?? 0;

const reluGradients: tf.GradConfig[] = [
  ...['Relu', 'LeakyRelu'].map((kernelName) => ({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], [x]: tf.Tensor[], attrs: tf.NamedAttrMap) => ({
      x: () => reluBackprop(dy as tf.Tensor, x, slopeOf(attrs)),
    }),
  })),
  // Linear in dY, piecewise constant in X: second derivatives through ReLU stay defined.
  {
    kernelName: RELU_BACKPROP,
    inputsToSave: ['x'],
    gradFunc: (g, [x], attrs) => ({
      dy: () => reluBackprop(g as tf.Tensor, x, slopeOf(attrs)),
      x: () => tf.zerosLike(x),
    }),
  },
];

const gradientsRegistered = new Set<string>();

/**
 * Runs one of our fused kernels (cross-entropy.ts, batch-norm.ts), registering its gradient on
 * first use rather than on import or with the kernels: wherever the kernel runs, so can its
 * gradient, whatever registration a caller did.
 */
export function runWithGradient(
  gradient: tf.GradConfig,
  inputs: tf.NamedTensorMap,
  attrs?: tf.NamedAttrMap,
): tf.Tensor | tf.Tensor[] {
  if (!gradientsRegistered.has(gradient.kernelName)) tf.registerGradient(gradient);
  gradientsRegistered.add(gradient.kernelName);
  return tf.engine().runKernel(gradient.kernelName, inputs, attrs);
}

/** dY of a fused layer's pre-activation, from dY of its output y: ReLU's gradient or dY. */
function beforeActivation(dy: tf.Tensor, y: tf.Tensor, activation: unknown): tf.Tensor {
  if (activation === 'relu') return reluBackprop(dy, y);
  if (activation === 'linear') return dy;
  throw new Error(`No gradient for a fused layer's ${String(activation)} activation`);
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;

/**
 * The gradient of FusedConv2D as graph/ops.ts calls it directly (applyFusedRelu: a bias per
 * output channel, linear or ReLU), by the kernels the separate ops' gradients run. TF.js
 * registers none: tf.fused wraps the kernel in a gradient of its own.
 */
const fusedGradients: tf.GradConfig[] = [
  {
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, [x, filter, y], attrs) => {
      const { strides, pad, dataFormat, dimRoundingMode, activation } =
        attrs as unknown as tf.FusedConv2DAttrs;
      const dz = beforeActivation(dy as tf.Tensor, y, activation);
      const conv = { strides, pad, dataFormat, dimRoundingMode };
      return {
        x: () => run('Conv2DBackpropInput', { dy: dz, filter }, { ...conv, inputShape: x.shape }),
        filter: () =>
          run('Conv2DBackpropFilter', { x, dy: dz }, { ...conv, filterShape: filter.shape }),
        bias: () => tf.sum(dz, [0, 1, 2]),
      };
    },
  },
];

/**
 * Inference-mode batch norm y = (x − μ)·r·γ + β with r = 1/√(σ² + ε): a frozen teacher's
 * BatchNorm layers, through which DeepInversion, moment matching and the attacks differentiate
 * images. TF.js's gradient computes x − μ and dy·γ over the whole activation before it knows
 * which inputs need a gradient, and tiles r to the activation's shape for dx: five passes over
 * it where dx = dy·(γr) per channel is one. The same formulas, each only when asked for.
 */
const batchNormGradient: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  // TF.js saves the scale as its own gradient does: a batch norm without one cannot be
  // differentiated (the engine fails to save it); graph/ops.ts always passes γ.
  gradFunc: (dy, [x, mean, variance, gamma], attrs) => {
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const g = dy as tf.Tensor;
    const r = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    // A per-channel gradient sums over the positions its statistic was broadcast to.
    const reduce = (t: tf.Tensor) => tf.reshape(axes.length ? tf.sum(t, axes) : t, mean.shape);
    return {
      x: () => tf.mul(g, tf.mul(r, gamma)),
      mean: () => reduce(tf.mul(g, tf.neg(tf.mul(r, gamma)))),
      variance: () => {
        const minusHalfRCube = tf.mul(tf.mul(tf.mul(r, r), r), -0.5);
        return reduce(tf.mul(tf.mul(tf.sub(x, mean), g), tf.mul(minusHalfRCube, gamma)));
      },
      scale: () => reduce(tf.mul(g, tf.mul(tf.sub(x, mean), r))),
      offset: () => reduce(g),
    };
  },
};

/**
 * Replaces the stock Sum, Mean, Relu and FusedBatchNorm gradients and adds the fused
 * convolution's (idempotent; every backend).
 */
export function registerTrainingGradients(): void {
  [...reductionGradients, ...reluGradients, ...fusedGradients, batchNormGradient].forEach(
    (config) => tf.registerGradient(config),
  );
}
