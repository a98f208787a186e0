import type * as tf from '@tensorflow/tfjs';

/** Stable, human-readable node name: 'conv2', 'bn2', 'fc1'. */
export type NodeId = string;

export type Padding = 'same' | 'valid';
export type ActivationFn = 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu';

/** Per-op attributes; the union keeps every op's fields typed. */
export interface OpAttrs {
  input: { shape: number[] };
  conv2d: {
    filters: number;
    kernelSize: [number, number];
    strides: [number, number];
    padding: Padding;
    dilations: [number, number];
    useBias: boolean;
  };
  depthwiseConv2d: {
    kernelSize: [number, number];
    strides: [number, number];
    padding: Padding;
    dilations: [number, number];
    depthMultiplier: number;
    useBias: boolean;
  };
  dense: { units: number; useBias: boolean };
  batchNorm: { epsilon: number; momentum: number };
  activation: { fn: ActivationFn };
  /** max(x, alpha·x): ONNX LeakyRelu, Keras LeakyReLU. */
  leakyRelu: { alpha: number };
  maxPool: { poolSize: [number, number]; strides: [number, number]; padding: Padding };
  avgPool: { poolSize: [number, number]; strides: [number, number]; padding: Padding };
  globalAvgPool: Record<string, never>;
  add: Record<string, never>;
  concat: { axis: number };
  flatten: Record<string, never>;
  reshape: { targetShape: number[] };
  dropout: { rate: number };
  zeroPad: { padding: [[number, number], [number, number]] };
  /**
   * Dynamic pruning's action head (Wang et al., AAAI 2020): softmax(GAP(ReLU(x))·A) over
   * `actions` channel masks, from the gated layer's input x; A's columns have unit norm.
   */
  decisionHead: { actions: number };
  /**
   * The action chosen from the head's probabilities, one-hot: argmax at inference; in training
   * with a Gumbel temperature a Gumbel-softmax sample, hard forward and soft backward.
   */
  gumbelSelect: Record<string, never>;
  /** y ⊙ v with v = onehot·masks: inputs [y, the gumbelSelect's one-hot]; masks [actions, C]. */
  decisionMask: { actions: number };
  /** y ⊙ α, one learned gate per channel (pruning from scratch's channel importance). */
  channelGate: Record<string, never>;
  /**
   * A dense layer whose n×m weight matrix is made of b×b circulant blocks (Cheng et al. 2015,
   * arXiv 1502.03436), n and m padded up to multiples of b: block (p, q) is defined by one
   * b-vector w, C[i][j] = w[(j − i) mod b], so y_q = Σ_p x_p ⊛ w_pq (circular convolution).
   * Kernel [⌈n/b⌉, ⌈m/b⌉, b]: n·m/b parameters instead of n·m.
   */
  circulantDense: { units: number; blockSize: number; useBias: boolean };
}

export type Op = keyof OpAttrs;

/** Weight names per op (TF.js Layers order, which the io module relies on). */
export const WEIGHT_NAMES: { [K in Op]: readonly string[] } = {
  input: [],
  conv2d: ['kernel', 'bias'],
  depthwiseConv2d: ['depthwiseKernel', 'bias'],
  dense: ['kernel', 'bias'],
  batchNorm: ['gamma', 'beta', 'movingMean', 'movingVariance'],
  activation: [],
  leakyRelu: [],
  maxPool: [],
  avgPool: [],
  globalAvgPool: [],
  add: [],
  concat: [],
  flatten: [],
  reshape: [],
  dropout: [],
  zeroPad: [],
  decisionHead: ['kernel'],
  gumbelSelect: [],
  decisionMask: ['masks'],
  channelGate: ['gate'],
  circulantDense: ['kernel', 'bias'],
};

export interface GraphNodeOf<K extends Op> {
  id: NodeId;
  op: K;
  inputs: NodeId[];
  attrs: OpAttrs[K];
  /** Trainable weights and BatchNorm statistics, as variables so methods can train them. */
  weights: Record<string, tf.Variable>;
}

export type GraphNode = { [K in Op]: GraphNodeOf<K> }[Op];

/** What a stored pixel p (0..255) is scaled to: unit p / 255, raw p, signed p / 127.5 − 1. */
export type InputRange = 'unit' | 'raw' | 'signed';

/** How images of another size reach the model's: zero-pad around them, or bilinear resize. */
export type ResizeMode = 'pad' | 'bilinear';

/**
 * The order of a colour model's input channels. Stored pixels are RGB; 'bgr' is what models
 * trained on OpenCV-read images or converted from Caffe expect.
 */
export type ChannelOrder = 'rgb' | 'bgr';

/**
 * How stored pixels become this model's input: channels put in `channelOrder`, p → 255 − p if
 * `invert`, scaled to `range`, then (x − mean) / std with one value for all channels or one per
 * channel (in the model's channel order). It belongs to the model (saved in its model.json) and
 * every method feeds it data through it. The optional fields' defaults (RGB, unit range, no
 * inversion, padding) are what files saved before they existed meant.
 */
export interface Preprocessing {
  mean: number | number[];
  std: number | number[];
  range?: InputRange;
  invert?: boolean;
  resize?: ResizeMode;
  channelOrder?: ChannelOrder;
}

export interface Graph {
  name: string;
  /** Nodes in topological order: every input of a node precedes it. */
  nodes: GraphNode[];
  input: NodeId;
  output: NodeId;
  /** Shape of one example, NHWC without the batch dimension, e.g. [32, 32, 1]. */
  inputShape: number[];
  preprocessing: Preprocessing;
}

/** Nodes that hold a weight matrix: the "layers" of per-layer charts. */
export const LAYER_OPS: ReadonlySet<Op> = new Set<Op>(['conv2d', 'depthwiseConv2d', 'dense']);

export function isLayer(node: GraphNode): boolean {
  return LAYER_OPS.has(node.op);
}
