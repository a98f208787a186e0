import * as tf from '@tensorflow/tfjs';
import { initWeights } from '../graph/build';
import { inferShapes } from '../graph/shapes';
import {
  cloneGraph,
  disposeGraph,
  nodeById,
  outputLayer,
  pruneChannels,
} from '../graph/transforms';
import type { Graph, GraphNode, NodeId } from '../graph/types';
import { UnsupportedLayerError } from '../runtime/errors';

/**
 * Channel gates as an IR transform, so any conv network — built in or uploaded — can be made
 * dynamic (Wang et al., "Dynamic Network Pruning with Interpretable Layerwise Channel Selection",
 * AAAI 2020) or have its channels ranked on random weights (Wang et al., "Pruning from Scratch",
 * AAAI 2020). A gate sits after a conv layer's BatchNorm (or after the conv when none follows)
 * and before its activation, as both papers' code places it.
 */

export type GateKind =
  /** A decision unit per layer: action head, Gumbel selection, a bank of `actions` masks. */
  | { kind: 'dynamic'; actions: number }
  /** One learned scalar per channel. */
  | { kind: 'static' };

export interface GatedLayer {
  /** The conv whose output channels the gate scales. */
  layer: NodeId;
  /** The `channelGate` or `decisionMask` node. */
  gate: NodeId;
  /** The decision unit's `decisionHead` and `gumbelSelect` nodes (dynamic gates only). */
  head?: NodeId;
  select?: NodeId;
  channels: number;
}

/** Nodes a channel passes through unchanged in identity (it may be scaled, pooled or padded). */
export const PER_CHANNEL = new Set<GraphNode['op']>([
  'activation',
  'leakyRelu',
  'batchNorm',
  'dropout',
  'maxPool',
  'avgPool',
  'zeroPad',
  'globalAvgPool',
  'flatten',
  'channelGate',
  'decisionMask',
]);

function readers(g: Graph, id: NodeId): GraphNode[] {
  return g.nodes.filter((n) => n.inputs.includes(id));
}

/** Whether `id`'s value comes from the image without a layer in between (the first conv). */
function readsImage(g: Graph, id: NodeId): boolean {
  let at = nodeById(g, id).inputs[0];
  for (;;) {
    if (at === g.input) return true;
    const node = nodeById(g, at);
    if (!PER_CHANNEL.has(node.op) || node.inputs.length !== 1) return false;
    at = node.inputs[0];
  }
}

/** The node a gate on `conv` follows: its BatchNorm when only that reads it, else the conv. */
function gatePoint(g: Graph, conv: NodeId): NodeId {
  const next = readers(g, conv);
  return next.length === 1 && next[0].op === 'batchNorm' && g.output !== conv ? next[0].id : conv;
}

function freshId(g: Graph, want: string): NodeId {
  let id = want;
  for (let i = 2; g.nodes.some((n) => n.id === id); i++) id = `${want}${i}`;
  return id;
}

/**
 * A copy of `g` with a gate on every conv layer except the output layer — and, for dynamic
 * gates, except convs that read the image (the paper's first layer has no decision unit).
 * Masks and gates start at 1, so the gated copy computes what `g` computes; action heads start
 * from `seed` with unit-norm columns.
 */
export function insertGates(
  g: Graph,
  kind: GateKind,
  seed: number,
): { graph: Graph; gated: GatedLayer[] } {
  const graph = cloneGraph(g, g.name);
  const last = outputLayer(graph);
  const convs = graph.nodes.filter(
    (n) =>
      n.op === 'conv2d' && n.id !== last && !(kind.kind === 'dynamic' && readsImage(graph, n.id)),
  );
  if (convs.length === 0) {
    throw new UnsupportedLayerError(
      `'${g.name}' has no conv layer to gate${kind.kind === 'dynamic' ? ' after its first' : ''}`,
      'Channel gates act on convolution channels: pick a conv teacher such as BN-VGG or LeNet-5.',
    );
  }
  const shapes = inferShapes(graph);
  const gated: GatedLayer[] = [];
  for (const conv of convs) {
    const point = gatePoint(graph, conv.id);
    const channels = shapes.get(conv.id)!.at(-1)!;
    const gate = freshId(graph, `${conv.id}_gate`);
    const after = readers(graph, point);
    let gateNode: GraphNode;
    const entry: GatedLayer = { layer: conv.id, gate, channels };
    if (kind.kind === 'dynamic') {
      const head = freshId(graph, `${conv.id}_head`);
      const select = freshId(graph, `${conv.id}_select`);
      const x = conv.inputs[0];
      const headNode = {
        id: head,
        op: 'decisionHead',
        inputs: [x],
        attrs: { actions: kind.actions },
        weights: {},
      } as GraphNode;
      headNode.weights = initWeights(headNode, shapes.get(x)!, seed + gated.length);
      normaliseHead(headNode);
      const selectNode = { id: select, op: 'gumbelSelect', inputs: [head], attrs: {}, weights: {} };
      graph.nodes.splice(graph.nodes.indexOf(conv), 0, headNode, selectNode as GraphNode);
      gateNode = {
        id: gate,
        op: 'decisionMask',
        inputs: [point, select],
        attrs: { actions: kind.actions },
        weights: {},
      } as GraphNode;
      Object.assign(entry, { head, select });
    } else {
      gateNode = { id: gate, op: 'channelGate', inputs: [point], attrs: {}, weights: {} };
    }
    gateNode.weights = initWeights(gateNode, [channels], seed);
    graph.nodes.splice(graph.nodes.findIndex((n) => n.id === point) + 1, 0, gateNode);
    for (const r of after) r.inputs = r.inputs.map((i) => (i === point ? gate : i));
    if (graph.output === point) graph.output = gate;
    gated.push(entry);
  }
  inferShapes(graph); // throws if the result were inconsistent
  return { graph, gated };
}

/** Unit-norm columns of an action head's kernel: the reference renormalises A's rows each step. */
export function normaliseHead(node: GraphNode): void {
  const k = node.weights.kernel;
  tf.tidy(() => k.assign(tf.div(k, tf.maximum(tf.norm(k, 2, 0, true), 1e-12))));
}

/** The gates found in a graph (e.g. one reloaded from a saved run), in graph order. */
export function gatedLayers(g: Graph): GatedLayer[] {
  const shapes = inferShapes(g);
  return g.nodes
    .filter((n) => n.op === 'channelGate' || n.op === 'decisionMask')
    .map((n) => {
      let layer = n.inputs[0];
      while (nodeById(g, layer).op === 'batchNorm') layer = nodeById(g, layer).inputs[0];
      const entry: GatedLayer = { layer, gate: n.id, channels: shapes.get(n.id)!.at(-1)! };
      if (n.op === 'decisionMask') {
        entry.select = n.inputs[1];
        entry.head = nodeById(g, entry.select).inputs[0];
      }
      return entry;
    });
}

/** The conv or dense layer that reads a gate's channels (through per-channel nodes). */
export function gateReader(g: Graph, gate: NodeId): NodeId {
  let at = gate;
  for (;;) {
    const next = readers(g, at).filter((n) => n.op !== 'decisionHead');
    if (next.length !== 1) {
      throw new Error(`gate '${gate}': the channels of '${at}' go to ${next.length} nodes`);
    }
    const n = next[0];
    if (n.op === 'conv2d' || n.op === 'dense' || !PER_CHANNEL.has(n.op)) return n.id;
    at = n.id;
  }
}

/**
 * Removes static gates, folding each gate α into what it follows (α·(γx̂ + β) is a BatchNorm
 * with γα, βα; α·(Wx + b) a conv with αW, αb), so the result computes the same function.
 */
export function removeGates(g: Graph): Graph {
  const out = cloneGraph(g, g.name);
  for (const gate of out.nodes.filter((n) => n.op === 'channelGate' || n.op === 'decisionMask')) {
    if (gate.op === 'decisionMask') {
      throw new UnsupportedLayerError(
        `'${gate.id}' is a decision unit: its channels change with every input`,
        'Only static channel gates can be folded into the layers.',
      );
    }
    const before = nodeById(out, gate.inputs[0]);
    const alpha = gate.weights.gate;
    const scale = (name: string) => {
      const v = before.weights[name];
      if (v) tf.tidy(() => v.assign(tf.mul(v, alpha)));
    };
    if (before.op === 'batchNorm') ['gamma', 'beta'].forEach(scale);
    else if (before.op === 'conv2d') ['kernel', 'bias'].forEach(scale);
    else throw new Error(`removeGates: '${gate.id}' follows a ${before.op}`);
    for (const r of readers(out, gate.id)) {
      r.inputs = r.inputs.map((i) => (i === gate.id ? before.id : i));
    }
    if (out.output === gate.id) out.output = before.id;
    out.nodes.splice(out.nodes.indexOf(gate), 1);
    alpha.dispose();
  }
  return out;
}

/**
 * Physically keeps only `keep.get(gate)` output channels (ascending) of each gated layer:
 * the layer, its BatchNorm, its gate and the reading layer's inputs shrink (`pruneChannels`).
 */
export function pruneGatedChannels(g: Graph, keep: ReadonlyMap<NodeId, number[]>): Graph {
  let current = cloneGraph(g, g.name);
  for (const [gate, channels] of keep) {
    const next = pruneChannels(current, gateReader(current, gate), channels);
    disposeGraph(current);
    current = next;
  }
  return current;
}

/**
 * PyTorch's BatchNorm momentum (0.1 of each batch, Keras' 0.9) on every BatchNorm of `g`: both
 * papers' code trains in train() mode with it, so the moving statistics follow the gated or
 * pruned activations within tens of steps; Keras' 0.99 lags by hundreds and leaves inference
 * describing the network as it was.
 */
export function followBatchStatistics(g: Graph): void {
  for (const n of g.nodes) if (n.op === 'batchNorm') n.attrs = { ...n.attrs, momentum: 0.9 };
}
