import * as tf from '@tensorflow/tfjs';
import { applyFusedRelu, applyNode, isFusable, type FusableNode } from './ops';
import type { Graph, NodeId } from './types';

export interface ForwardOptions {
  training?: boolean;
  /** Defaults to `training`: a teacher evaluated with training=false never touches its statistics. */
  updateBatchNormStats?: boolean;
  /** BatchNorm normalises with batch statistics; defaults to `training`. */
  batchStatistics?: boolean;
  /** Node outputs to return besides the graph output. */
  taps?: Iterable<NodeId>;
  /** Replace a node's output with the given tensor; the node itself is not run. */
  splices?: ReadonlyMap<NodeId, tf.Tensor>;
  /** Run a node with replacement weights (masked kernels, candidate weights). */
  weightOverrides?: ReadonlyMap<NodeId, Partial<Record<string, tf.Tensor>>>;
  /** Stop after this node and return its value as the output (a prefix of the graph). */
  until?: NodeId;
  nextSeed?: () => number;
  /** Gumbel-softmax temperature: in training, decision units sample their actions with it. */
  gumbelTemperature?: number;
}

export interface ForwardResult {
  output: tf.Tensor;
  tapped: Map<NodeId, tf.Tensor>;
}

/**
 * Runs the graph on a batch. Taps read intermediate outputs (layer-wise losses, estimation
 * error, BatchNorm inputs); splices feed a foreign tensor in place of a node's output (Cross
 * Distillation's teacher→student and student→teacher crossings). Does not tidy: callers own
 * the scope, so tapped tensors can be used in a gradient closure.
 */
export function forward(g: Graph, x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
  const training = opts.training ?? false;
  const updateBatchNormStats = opts.updateBatchNormStats ?? training;
  const taps = new Set(opts.taps ?? []);
  const values = new Map<NodeId, tf.Tensor>();
  const tapped = new Map<NodeId, tf.Tensor>();
  const stopAt = opts.until ?? g.output;
  if (!g.nodes.some((n) => n.id === stopAt)) throw new Error(`forward: no node '${stopAt}'`);
  for (const id of [...taps, ...(opts.splices?.keys() ?? [])]) {
    if (!g.nodes.some((n) => n.id === id))
      throw new Error(`forward: no node '${id}' to tap or splice`);
  }
  const fused = fusedRelus(g, stopAt, taps, opts.splices);
  const fusedLayers = new Set([...fused.values()].map((layer) => layer.id));
  const applyOptions = (id: NodeId) => ({
    training,
    updateBatchNormStats,
    batchStatistics: opts.batchStatistics,
    nextSeed: opts.nextSeed,
    gumbelTemperature: opts.gumbelTemperature,
    weights: opts.weightOverrides?.get(id),
  });
  for (const node of g.nodes) {
    // A layer fused with its ReLU runs when the ReLU's turn comes.
    if (fusedLayers.has(node.id)) continue;
    const layer = fused.get(node.id);
    const spliced = opts.splices?.get(node.id);
    const value =
      spliced ??
      (node.id === g.input
        ? x
        : layer !== undefined
          ? applyFusedRelu(layer, values.get(layer.inputs[0])!, applyOptions(layer.id))
          : applyNode(
              node,
              node.inputs.map((i) => values.get(i)!),
              applyOptions(node.id),
            ));
    values.set(node.id, value);
    if (taps.has(node.id)) tapped.set(node.id, value);
    if (node.id === stopAt) break;
  }
  return { output: values.get(stopAt)!, tapped };
}

/**
 * ReLU nodes whose input is a conv2d layer with a bias (isFusable) that nothing else reads — no
 * other node, no tap, no splice, not the output — mapped to that layer: the pair runs as one
 * fused op (applyFusedRelu), with the values of the two apart.
 */
function fusedRelus(
  g: Graph,
  stopAt: NodeId,
  taps: ReadonlySet<NodeId>,
  splices: ReadonlyMap<NodeId, tf.Tensor> | undefined,
): Map<NodeId, FusableNode> {
  const readers = new Map<NodeId, number>();
  for (const node of g.nodes) {
    for (const i of node.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  }
  const byId = new Map(g.nodes.map((node) => [node.id, node]));
  const fused = new Map<NodeId, FusableNode>();
  for (const node of g.nodes) {
    if (node.op !== 'activation' || node.attrs.fn !== 'relu' || node.inputs.length !== 1) continue;
    const layer = byId.get(node.inputs[0]);
    if (layer === undefined || !isFusable(layer) || layer.id === stopAt) continue;
    const hidden = !taps.has(layer.id) && !splices?.has(layer.id) && !splices?.has(node.id);
    if (hidden && readers.get(layer.id) === 1) fused.set(node.id, layer);
  }
  return fused;
}

/** Logits for a batch in inference mode, tidied. */
export function predict(g: Graph, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => forward(g, x).output);
}
