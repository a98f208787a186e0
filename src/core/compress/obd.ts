import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import { applyNode, forward, isLayer, type Graph, type GraphNode, type NodeId } from '../graph';
import { InvalidInputError, UnsupportedLayerError } from '../runtime/errors';
import { topKMask } from './proximal';

/**
 * The objective whose curvature Optimal Brain Damage measures, the mean over the batch:
 * softmax cross-entropy against integer labels, or the mean squared error against targets
 * (tf.losses.meanSquaredError: the mean over every output element).
 */
export type ObdLoss = 'cross-entropy' | 'squared-error';

/** A batch of inputs and what the loss compares the output with (labels or targets). */
export interface ObdBatch {
  x: tf.Tensor;
  y: tf.Tensor;
}

/** Per conv/dense layer, one tensor per weight (kernel, bias) shaped like it. */
export type WeightDiagonal = Map<NodeId, Record<string, tf.Tensor>>;

export function obdLoss(output: tf.Tensor, y: tf.Tensor, loss: ObdLoss): tf.Scalar {
  if (loss === 'squared-error') return tf.losses.meanSquaredError(y, output) as tf.Scalar;
  const oneHot = tf.oneHot(tf.cast(y, 'int32'), output.shape[1]!);
  return softmaxCrossEntropy(oneHot, output) as tf.Scalar;
}

/**
 * ∂²E/∂z_i² of the loss with respect to each output z: 2/(elements) for the mean squared
 * error; p_i(1 − p_i)/N for softmax cross-entropy (the diagonal of diag(p) − ppᵀ, the exact
 * curvature of each logit alone).
 */
function outputCurvature(output: tf.Tensor, loss: ObdLoss): tf.Tensor {
  if (loss === 'squared-error') return tf.fill(output.shape, 2 / output.size);
  const p = tf.softmax(output);
  return tf.div(tf.mul(p, tf.sub(1, p)), output.shape[0]);
}

const INFERENCE = { training: false, updateBatchNormStats: false } as const;

/** The weight of a conv/dense layer that OBD deletes from (biases are kept). */
export function kernelName(node: GraphNode): 'kernel' | 'depthwiseKernel' {
  return node.op === 'depthwiseConv2d' ? 'depthwiseKernel' : 'kernel';
}

/**
 * One node of LeCun's recursion: from the curvature `d2y` of the node's output to that of each
 * input, adding the node's own weight curvature to `h`. A linear layer y = Wx + b sends back
 * (W∘W)ᵀ·d2y and has h_W = Σ d2y·x² — the vector-Jacobian products of the same layer with squared
 * weights and with squared inputs; an elementwise f sends f′(a)²·d2y (its VJP applied twice);
 * f″ terms are dropped (Levenberg–Marquardt). Routing nodes (max-pool, flatten, add, …) have 0/1
 * Jacobians, equal to their squares: their VJP is the rule.
 */
function curvatureBack(
  g: Graph,
  node: GraphNode,
  inputs: tf.Tensor[],
  d2y: tf.Tensor,
  h: WeightDiagonal,
): (tf.Tensor | undefined)[] {
  const x = inputs[0];
  switch (node.op) {
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'dense': {
      const name = kernelName(node);
      const kernel = node.weights[name];
      const run = (input: tf.Tensor, w: tf.Tensor) =>
        applyNode(node, [input], { ...INFERENCE, weights: { [name]: w } });
      const squaredInput = tf.square(x);
      const own: Record<string, tf.Tensor> = {
        [name]: tf.grad((w) => run(squaredInput, w))(kernel, d2y),
      };
      if (node.attrs.useBias) {
        own.bias = tf.sum(
          d2y,
          d2y.shape.slice(0, -1).map((_, i) => i),
        );
      }
      h.set(node.id, own);
      if (node.inputs[0] === g.input) return [undefined];
      const squaredKernel = tf.square(kernel);
      return [tf.grad((input) => run(input, squaredKernel))(x, d2y)];
    }
    case 'batchNorm': {
      // In inference a per-channel affine map: x·γ/√(v + ε) + const.
      const w = node.weights;
      const scale = tf.div(w.gamma, tf.sqrt(tf.add(w.movingVariance, node.attrs.epsilon)));
      return [tf.mul(d2y, tf.square(scale))];
    }
    case 'activation':
    case 'leakyRelu': {
      if (node.op === 'activation' && node.attrs.fn === 'softmax') {
        throw new UnsupportedLayerError(
          `OBD's curvature recursion cannot pass the softmax '${node.id}' inside the network`,
          'Remove the softmax: the loss applies it to the logits.',
        );
      }
      const vjp = tf.grad((a) => applyNode(node, [a], INFERENCE));
      return [vjp(x, vjp(x, d2y))];
    }
    case 'avgPool':
    case 'globalAvgPool': {
      // Each input enters with weight 1/area, so the squared weight is the VJP over the area again.
      const area =
        node.op === 'avgPool'
          ? node.attrs.poolSize[0] * node.attrs.poolSize[1]
          : x.shape[1]! * x.shape[2]!;
      const back = tf.grad((a) => applyNode(node, [a], INFERENCE))(x, d2y);
      return [tf.div(back, area)];
    }
    case 'maxPool':
    case 'flatten':
    case 'reshape':
    case 'zeroPad':
    case 'dropout':
    case 'add':
    case 'concat':
      return tf.grads((...ins: tf.Tensor[]) => applyNode(node, ins, INFERENCE))(inputs, d2y);
    default:
      throw new UnsupportedLayerError(
        `OBD's curvature recursion cannot pass '${node.id}' (${node.op})`,
        'Use a network of conv, dense, BatchNorm, activation, pooling, flatten and add nodes.',
      );
  }
}

/**
 * LeCun, Denker & Solla (1989)'s diagonal Hessian of the loss over `batches` (their mean):
 * second derivatives back-propagated through the graph in inference mode, with the
 * Levenberg–Marquardt approximation (no f″ terms, so every h_kk ≥ 0) and the diagonal one (a
 * unit's curvature is the sum over its consumers, cross terms dropped). Exact for a linear model
 * under the squared error; for cross-entropy it is the Gauss–Newton diagonal minus the softmax's
 * off-diagonal terms. Returns kept tensors the caller disposes.
 */
export function hessianDiagonal(
  g: Graph,
  batches: Iterable<ObdBatch>,
  loss: ObdLoss,
): WeightDiagonal {
  let sum: WeightDiagonal | undefined;
  let count = 0;
  for (const batch of batches) {
    let next: WeightDiagonal = new Map();
    tf.tidy(() => {
      const { output, tapped } = forward(g, batch.x, { taps: g.nodes.map((n) => n.id) });
      const d2 = new Map<NodeId, tf.Tensor>([[g.output, outputCurvature(output, loss)]]);
      const h: WeightDiagonal = new Map();
      for (const node of [...g.nodes].reverse()) {
        const d2y = d2.get(node.id);
        if (!d2y || node.id === g.input) continue;
        const back = curvatureBack(
          g,
          node,
          node.inputs.map((i) => tapped.get(i)!),
          d2y,
          h,
        );
        back.forEach((t, i) => {
          if (!t) return;
          const id = node.inputs[i];
          const before = d2.get(id);
          d2.set(id, before ? tf.add(before, t) : t);
        });
      }
      const total: WeightDiagonal = new Map();
      for (const [id, own] of h) {
        const prev = sum?.get(id);
        total.set(
          id,
          Object.fromEntries(
            Object.entries(own).map(([k, t]) => [k, tf.keep(prev ? tf.add(prev[k], t) : t)]),
          ),
        );
      }
      next = total;
    });
    if (sum) disposeDiagonal(sum);
    sum = next;
    count++;
  }
  if (!sum) throw new RangeError('hessianDiagonal: no batch given');
  const mean = sum;
  const out: WeightDiagonal = new Map(
    [...mean].map(([id, own]) => [
      id,
      Object.fromEntries(Object.entries(own).map(([k, t]) => [k, tf.div(t, count)])),
    ]),
  );
  disposeDiagonal(mean);
  return out;
}

export function disposeDiagonal(h: WeightDiagonal): void {
  for (const own of h.values()) tf.dispose(Object.values(own));
}

/** Largest number of weights `exactHessianDiagonal` accepts (two gradient passes per weight). */
export const EXACT_DIAGONAL_LIMIT = 5000;

/**
 * The true Hessian diagonal of the loss on `batch` with respect to every conv/dense weight, by
 * central differences of the gradient, h_kk = (g_k(u + εe_k) − g_k(u − εe_k)) / 2ε, one weight at
 * a time: exact for a quadratic loss up to rounding, and slow (two passes per weight), hence only
 * for small models, to check `hessianDiagonal` against.
 */
export function exactHessianDiagonal(
  g: Graph,
  batch: ObdBatch,
  loss: ObdLoss,
  epsilon = 1e-4,
): WeightDiagonal {
  const layers = g.nodes.filter(isLayer);
  const size = layers.reduce(
    (s, n) => s + Object.values(n.weights).reduce((t, v) => t + v.size, 0),
    0,
  );
  if (size > EXACT_DIAGONAL_LIMIT) {
    throw new InvalidInputError(
      `The exact Hessian diagonal of '${g.name}' needs 2 gradient passes for each of its ${size} weights; refused above ${EXACT_DIAGONAL_LIMIT}`,
      'Use hessianDiagonal (the back-propagated Levenberg–Marquardt diagonal) or a smaller model.',
    );
  }
  const h: WeightDiagonal = new Map();
  for (const node of layers) {
    const own: Record<string, tf.Tensor> = {};
    for (const [name, w] of Object.entries(node.weights)) {
      const values = new Float32Array(w.size);
      const gradientAt = (k: number, delta: number) =>
        tf.tidy(() => {
          const step = new Float32Array(w.size);
          step[k] = delta;
          const shifted = tf.add(w, tf.tensor(step, w.shape));
          const dw = tf.grad((v) =>
            obdLoss(
              forward(g, batch.x, { weightOverrides: new Map([[node.id, { [name]: v }]]) }).output,
              batch.y,
              loss,
            ),
          )(shifted);
          return tf.reshape(dw, [-1]).slice([k], [1]).dataSync()[0];
        });
      for (let k = 0; k < w.size; k++) {
        values[k] = (gradientAt(k, epsilon) - gradientAt(k, -epsilon)) / (2 * epsilon);
      }
      own[name] = tf.tensor(values, w.shape);
    }
    h.set(node.id, own);
  }
  return h;
}

/** OBD's saliency of deleting each weight: s_k = h_kk·u_k²/2 (the loss rise it predicts). */
export function saliency(h: tf.Tensor, u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.mul(h, tf.square(u)), 2));
}

/**
 * 0/1 masks deleting the `sparsity` fraction of weights with the lowest scores, either over all
 * layers together (global: a layer loses what its scores say it can spare) or the same fraction
 * of every layer. Entries scored −∞ (already deleted) go first.
 */
export function deletionMasks(
  scores: ReadonlyMap<NodeId, Float32Array>,
  sparsity: number,
  scope: 'global' | 'layer',
): Map<NodeId, Float32Array> {
  if (!(sparsity >= 0 && sparsity <= 1)) {
    throw new RangeError(`deletionMasks: sparsity must be in [0, 1], got ${sparsity}`);
  }
  const keepOf = (n: number) => n - Math.round(n * sparsity);
  const out = new Map<NodeId, Float32Array>();
  if (scope === 'layer') {
    for (const [id, s] of scores) out.set(id, topKMask(s, keepOf(s.length)));
    return out;
  }
  const all = new Float32Array([...scores.values()].reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of scores.values()) {
    all.set(s, at);
    at += s.length;
  }
  const mask = topKMask(all, keepOf(all.length));
  at = 0;
  for (const [id, s] of scores) {
    out.set(id, mask.slice(at, at + s.length));
    at += s.length;
  }
  return out;
}
