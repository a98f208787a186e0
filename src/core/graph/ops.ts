import * as tf from '@tensorflow/tfjs';
import type { ActivationFn, GraphNode } from './types';

export interface ApplyOptions {
  /** BatchNorm uses batch statistics and dropout is active. */
  training: boolean;
  /** In training mode, fold the batch statistics into the BatchNorm moving averages. */
  updateBatchNormStats: boolean;
  /**
   * BatchNorm normalises with the batch's own statistics (defaults to `training`); lets a
   * forward pass use batch statistics without dropout, as PyTorch's train() on a net without it.
   */
  batchStatistics?: boolean;
  /** Seed source for dropout masks, so runs are reproducible. */
  nextSeed?: () => number;
  /** Replacement weights for this node (e.g. a masked or candidate kernel). */
  weights?: Partial<Record<string, tf.Tensor>>;
  /** Gumbel-softmax temperature τ: in training, decision units sample their action with it. */
  gumbelTemperature?: number;
}

export function activate(x: tf.Tensor, fn: ActivationFn): tf.Tensor {
  switch (fn) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    case 'elu':
      return tf.elu(x);
    case 'linear':
      return x;
  }
}

/** Runs one node on already computed inputs. The only place that knows what an op computes. */
export function applyNode(node: GraphNode, inputs: tf.Tensor[], opts: ApplyOptions): tf.Tensor {
  const w = (name: string): tf.Tensor => opts.weights?.[name] ?? node.weights[name];
  const x = inputs[0];
  switch (node.op) {
    case 'input':
      return x;
    case 'conv2d':
    case 'depthwiseConv2d': {
      const a = node.attrs;
      const [conv, kernel] =
        node.op === 'conv2d'
          ? [tf.conv2d, 'kernel']
          : [tf.depthwiseConv2d as typeof tf.conv2d, 'depthwiseKernel'];
      const y = conv(
        x as tf.Tensor4D,
        w(kernel) as tf.Tensor4D,
        a.strides,
        a.padding,
        'NHWC',
        a.dilations,
      );
      return a.useBias ? tf.add(y, w('bias')) : y;
    }
    case 'dense': {
      const y = tf.matMul(x as tf.Tensor2D, w('kernel') as tf.Tensor2D);
      return node.attrs.useBias ? tf.add(y, w('bias')) : y;
    }
    case 'batchNorm':
      return batchNorm(node as Extract<GraphNode, { op: 'batchNorm' }>, x, opts, w);
    case 'activation':
      return activate(x, node.attrs.fn);
    case 'leakyRelu':
      return tf.leakyRelu(x, node.attrs.alpha);
    case 'maxPool': {
      const a = node.attrs;
      return tf.maxPool(x as tf.Tensor4D, a.poolSize, a.strides, a.padding);
    }
    case 'avgPool': {
      const a = node.attrs;
      return tf.avgPool(x as tf.Tensor4D, a.poolSize, a.strides, a.padding);
    }
    case 'globalAvgPool':
      return tf.mean(x, [1, 2]);
    case 'add':
      return inputs.slice(1).reduce((sum, t) => tf.add(sum, t), x);
    case 'concat':
      return tf.concat(inputs, node.attrs.axis);
    case 'flatten':
      return tf.reshape(x, [x.shape[0], -1]);
    case 'reshape':
      return tf.reshape(x, [x.shape[0], ...node.attrs.targetShape]);
    case 'dropout':
      return opts.training && node.attrs.rate > 0
        ? tf.dropout(x, node.attrs.rate, undefined, opts.nextSeed?.())
        : x;
    case 'zeroPad':
      return tf.pad(x, [[0, 0], ...node.attrs.padding, [0, 0]]);
    case 'decisionHead': {
      const pooled = x.rank === 4 ? tf.mean(tf.relu(x), [1, 2]) : tf.relu(x);
      return tf.softmax(tf.matMul(pooled as tf.Tensor2D, w('kernel') as tf.Tensor2D));
    }
    case 'gumbelSelect':
      return opts.training && opts.gumbelTemperature !== undefined
        ? gumbelStraightThrough(x as tf.Tensor2D, opts.gumbelTemperature, opts.nextSeed?.())
        : tf.oneHot(tf.argMax(x, 1), x.shape[1]!).toFloat();
    case 'decisionMask': {
      const v = tf.matMul(inputs[1] as tf.Tensor2D, w('masks') as tf.Tensor2D);
      return tf.mul(x, x.rank === 4 ? tf.reshape(v, [v.shape[0], 1, 1, v.shape[1]!]) : v);
    }
    case 'channelGate':
      return tf.mul(x, w('gate'));
    case 'circulantDense': {
      const n = x.shape[1]!;
      const y = tf.matMul(
        x as tf.Tensor2D,
        circulantMatrix(w('kernel') as tf.Tensor3D, n, node.attrs.units),
      );
      return node.attrs.useBias ? tf.add(y, w('bias')) : y;
    }
  }
}

/**
 * The n×m matrix of a block-circulant kernel [⌈n/b⌉, ⌈m/b⌉, b]: each block's b×b circulant
 * C[i][j] = w[(j − i) mod b] gathered from its vector, the padding rows and columns cut off.
 * (The WASM backend registers no FFT kernel, so the product is this gather and a matmul; the
 * gather's gradient sums each block's b² entries back into its b-vector.)
 */
export function circulantMatrix(kernel: tf.Tensor3D, n: number, m: number): tf.Tensor2D {
  const [blocksIn, blocksOut, b] = kernel.shape;
  const index = tf.tensor1d(
    Int32Array.from({ length: b * b }, (_, k) => ((((k % b) - Math.floor(k / b)) % b) + b) % b),
    'int32',
  );
  const blocks = tf.reshape(tf.gather(kernel, index, 2), [blocksIn, blocksOut, b, b]);
  const full = tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]), [blocksIn * b, blocksOut * b]);
  return tf.slice(full, [0, 0], [n, m]) as tf.Tensor2D;
}

/** Forward the hard one-hot of its input, backward the identity (straight-through). */
const straightThrough = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const soft = args[0] as tf.Tensor;
  return {
    value: tf.oneHot(tf.argMax(soft, 1), soft.shape[1]!).toFloat(),
    gradFunc: (dy: tf.Tensor) => dy,
  };
});

/**
 * A Gumbel-softmax sample of the categorical `probs` (RelaxedOneHotCategorical(τ, π)):
 * y = softmax((log π + g) / τ) with g = −log(−log u), u ~ U(0, 1); the forward value is the
 * one-hot of argmax y, the gradient the relaxation's.
 */
function gumbelStraightThrough(probs: tf.Tensor2D, tau: number, seed?: number): tf.Tensor {
  // u in [1e-10, 1 − 1e-6]: a float32 draw can round to exactly 1, whose g = −log(0) = ∞
  // would turn the softmax, the straight-through gradient and then the head into NaN.
  const u = tf.randomUniform(probs.shape, 1e-10, 1 - 1e-6, 'float32', seed);
  const g = tf.neg(tf.log(tf.neg(tf.log(u))));
  const soft = tf.softmax(tf.div(tf.add(tf.log(tf.maximum(probs, 1e-20)), g), tau));
  return straightThrough(soft);
}

function batchNorm(
  node: Extract<GraphNode, { op: 'batchNorm' }>,
  x: tf.Tensor,
  opts: ApplyOptions,
  w: (name: string) => tf.Tensor,
): tf.Tensor {
  const { epsilon, momentum } = node.attrs;
  if (!(opts.batchStatistics ?? opts.training)) {
    return tf.batchNorm(x, w('movingMean'), w('movingVariance'), w('beta'), w('gamma'), epsilon);
  }
  const axes = x.rank === 4 ? [0, 1, 2] : [0];
  const { mean, variance } = tf.moments(x, axes);
  if (opts.updateBatchNormStats) {
    // Keras convention: moving = momentum·moving + (1 − momentum)·batch.
    const mm = node.weights.movingMean;
    const mv = node.weights.movingVariance;
    mm.assign(tf.add(tf.mul(mm, momentum), tf.mul(mean, 1 - momentum)));
    mv.assign(tf.add(tf.mul(mv, momentum), tf.mul(variance, 1 - momentum)));
  }
  return tf.batchNorm(x, mean, variance, w('beta'), w('gamma'), epsilon);
}
