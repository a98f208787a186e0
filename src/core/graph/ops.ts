import * as tf from '@tensorflow/tfjs';
import type { ActivationFn, GraphNode, GraphNodeOf } from './types';
import { batchNormTraining } from '../runtime/batch-norm';

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
      const kernel = w('kernel') as tf.Tensor3D;
      const units = node.attrs.units;
      const y = backendHasFft()
        ? circulantFft(x as tf.Tensor2D, kernel, units)
        : tf.matMul(x as tf.Tensor2D, circulantMatrix(kernel, x.shape[1]!, units));
      return node.attrs.useBias ? tf.add(y, w('bias')) : y;
    }
  }
}

/** A layer that forward.ts may run fused with the ReLU after it. */
export type FusableNode = GraphNodeOf<'conv2d'>;

/**
 * Whether `node` can run with its ReLU as one fused op (applyFusedRelu): an undilated conv2d
 * with a bias. Dense layers are left apart: LeNet-5's step ran 0.17 ms slower with its dense
 * layer fused (the fused matmul takes batches of matrices: three reshapes each way).
 */
export function isFusable(node: GraphNode): node is FusableNode {
  return node.op === 'conv2d' && node.attrs.useBias && node.attrs.dilations.every((d) => d === 1);
}

/**
 * relu(conv2d + bias) as one kernel (FusedConv2D; ours on wasm, with the bias and ReLU in the
 * kernel's epilogue), called directly: tf.fused falls back to the three ops apart whenever a
 * gradient is being recorded. runtime/gradients.ts registers its gradient, by the same kernels
 * as the three ops' gradients, so values are those of the layers apart; two kernel calls, and
 * the tape's copies of their inputs, fewer.
 */
export function applyFusedRelu(node: FusableNode, x: tf.Tensor, opts: ApplyOptions): tf.Tensor {
  const w = (name: string): tf.Tensor => opts.weights?.[name] ?? node.weights[name];
  const [filter, bias] = [w('kernel'), w('bias')];
  const channels = filter.shape[3];
  // The fused kernels take one bias per output channel as a vector.
  if (bias.size !== channels) return tf.relu(applyNode(node, [x], opts));
  const { strides, padding, dilations } = node.attrs;
  return tf
    .engine()
    .runKernel(
      'FusedConv2D',
      { x, filter, bias: bias.rank === 1 ? bias : tf.reshape(bias, [channels]) },
      { strides, pad: padding, dataFormat: 'NHWC', dilations, activation: 'relu' },
    ) as tf.Tensor;
}

/**
 * The n×m matrix of a block-circulant kernel [⌈n/b⌉, ⌈m/b⌉, b]: each block's b×b circulant
 * C[i][j] = w[(j − i) mod b] gathered from its vector, the padding rows and columns cut off.
 * (The product where the backend has no FFT kernel, e.g. WASM; the gather's gradient sums each
 * block's b² entries back into its b-vector.)
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
  const { y, mean, variance } = batchNormTraining(x, w('gamma'), w('beta'), epsilon);
  if (opts.updateBatchNormStats) {
    // Keras convention: moving = momentum·moving + (1 − momentum)·batch.
    const mm = node.weights.movingMean;
    const mv = node.weights.movingVariance;
    mm.assign(tf.add(tf.mul(mm, momentum), tf.mul(mean, 1 - momentum)));
    mv.assign(tf.add(tf.mul(mv, momentum), tf.mul(variance, 1 - momentum)));
  }
  return y;
}

/** Whether the active backend has FFT kernels (CPU and WebGL do, WASM does not). */
function backendHasFft(): boolean {
  const backend = tf.getBackend();
  return ['FFT', 'IFFT'].every((k) => tf.getKernel(k, backend) !== undefined);
}

/** [.., L] real → [.., b-blocks, b] spectra: the signal zero-padded to blocks·b, then the FFT. */
function blockSpectra(t: tf.Tensor, blocks: number, b: number): tf.Tensor {
  const lead = t.shape.slice(0, -1);
  const padded = tf.pad(t, [
    ...lead.map((): [number, number] => [0, 0]),
    [0, blocks * b - t.shape[t.rank - 1]!],
  ]);
  const r = tf.reshape(padded, [...lead, blocks, b]);
  return tf.spectral.fft(tf.complex(r, tf.zerosLike(r)));
}

/**
 * Σ over the contracted block axis of complex products, as real batched matmuls over the
 * frequency axis (tfjs has no complex matmul): a [f, i, j] · b [f, j, k] → [f, i, k].
 */
function complexMatMul(
  ar: tf.Tensor3D,
  ai: tf.Tensor3D,
  br: tf.Tensor3D,
  bi: tf.Tensor3D,
): [tf.Tensor3D, tf.Tensor3D] {
  return [
    tf.sub(tf.matMul(ar, br), tf.matMul(ai, bi)),
    tf.add(tf.matMul(ar, bi), tf.matMul(ai, br)),
  ];
}

/** Moves the last axis first: [x, y, f] → [f, x, y] (and back with `back`). */
const freqFirst = (t: tf.Tensor, back = false) =>
  tf.transpose(t, back ? [1, 2, 0] : [2, 0, 1]) as tf.Tensor3D;

/**
 * y = x·C by FFT (Cheng et al.): per block pair a circular convolution, y_q = Σ_p
 * IFFT(FFT(x_p) ⊙ FFT(w_pq)). tfjs registers no gradients for FFT, IFFT or complex tensors, so
 * the gradients are written out: ∂L/∂x_p = Σ_q IFFT(G_q ⊙ conj W_pq) and ∂L/∂w_pq =
 * Σ_batch IFFT(G_q ⊙ conj X_p), circular correlations (G = FFT of the output gradient).
 * Returns x·C [B, m].
 */
export function circulantFft(x: tf.Tensor2D, kernel: tf.Tensor3D, m: number): tf.Tensor2D {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, kernel, save] = args as [tf.Tensor2D, tf.Tensor3D, tf.GradSaveFunc];
    const [blocksIn, blocksOut, b] = kernel.shape;
    const spectra = (t: tf.Tensor) => [freqFirst(tf.real(t)), freqFirst(tf.imag(t))] as const;
    const [xr, xi] = spectra(blockSpectra(x, blocksIn, b)); // [f, B, nb]
    const [wr, wi] = spectra(tf.spectral.fft(tf.complex(kernel, tf.zerosLike(kernel)))); // [f, nb, mb]
    const realOfIfft = (re: tf.Tensor3D, im: tf.Tensor3D) =>
      tf.real(tf.spectral.ifft(tf.complex(freqFirst(re, true), freqFirst(im, true))));
    const [yr, yi] = complexMatMul(xr, xi, wr, wi); // [f, B, mb]
    const y = tf.reshape(realOfIfft(yr, yi), [x.shape[0], blocksOut * b]);
    save([x, kernel]);
    return {
      value: tf.slice(y, [0, 0], [-1, m]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sk] = saved as [tf.Tensor2D, tf.Tensor3D];
        const [gr, gi] = spectra(blockSpectra(dy, blocksOut, b)); // [f, B, mb]
        const [xr2, xi2] = spectra(blockSpectra(sx, blocksIn, b));
        const [wr2, wi2] = spectra(tf.spectral.fft(tf.complex(sk, tf.zerosLike(sk))));
        // G ⊙ conj W summed over q: [f, B, mb]·[f, mb, nb] with W's imaginary part negated.
        const [dxr, dxi] = complexMatMul(
          gr,
          gi,
          tf.transpose(wr2, [0, 2, 1]),
          tf.neg(tf.transpose(wi2, [0, 2, 1])),
        );
        const dx = tf.reshape(realOfIfft(dxr, dxi), [sx.shape[0], blocksIn * b]);
        // conj X ⊙ G summed over the batch: [f, nb, B]·[f, B, mb].
        const [dwr, dwi] = complexMatMul(
          tf.transpose(xr2, [0, 2, 1]),
          tf.neg(tf.transpose(xi2, [0, 2, 1])),
          gr,
          gi,
        );
        return [tf.slice(dx, [0, 0], [-1, sx.shape[1]]), realOfIfft(dwr, dwi)];
      },
    };
  })(x, kernel) as tf.Tensor2D;
}
