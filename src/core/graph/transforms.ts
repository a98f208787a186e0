import * as tf from '@tensorflow/tfjs';
import { initWeights } from './build';
import { inferShapes } from './shapes';
import type { Graph, GraphNode, NodeId } from './types';
import { isLayer } from './types';

/** Deep copy with its own variables, so a student can start as a copy of its teacher. */
export function cloneGraph(g: Graph, name = g.name): Graph {
  const nodes = g.nodes.map(
    (n) =>
      ({
        ...n,
        inputs: [...n.inputs],
        attrs: structuredClone(n.attrs),
        weights: Object.fromEntries(
          Object.entries(n.weights).map(([k, v]) => [k, tf.variable(v, v.trainable)]),
        ),
      }) as GraphNode,
  );
  return { ...g, name, nodes, inputShape: [...g.inputShape] };
}

export function disposeGraph(g: Graph): void {
  for (const n of g.nodes) for (const v of Object.values(n.weights)) v.dispose();
}

export function trainableVariables(g: Graph): tf.Variable[] {
  return g.nodes.flatMap((n) => Object.values(n.weights).filter((v) => v.trainable));
}

/** Nodes with a weight matrix (conv, depthwise, dense): the "layers" of per-layer views. */
export function layerIds(g: Graph): NodeId[] {
  return g.nodes.filter(isLayer).map((n) => n.id);
}

export function nodeById(g: Graph, id: NodeId): GraphNode {
  const node = g.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`No node '${id}' in graph '${g.name}'`);
  return node;
}

/** The layer that produces the logits: its width is fixed by the number of classes. */
export function outputLayer(g: Graph): NodeId {
  let id = g.output;
  for (;;) {
    const node = nodeById(g, id);
    if (isLayer(node)) return id;
    if (node.inputs.length !== 1) throw new Error(`Cannot find the output layer of '${g.name}'`);
    id = node.inputs[0];
  }
}

/**
 * The node holding layer `id`'s hidden representation h = σ(BN(W*x)), the paper's h that the
 * next layer reads: the layer followed through the BatchNorm, activation and dropout nodes that
 * only it feeds (the layer itself when none follows, e.g. the logits).
 */
export function hiddenRepresentation(g: Graph, id: NodeId): NodeId {
  const readers = consumerCounts(g);
  let at = id;
  for (;;) {
    if (at === g.output || readers.get(at) !== 1) return at;
    const next = g.nodes.find((n) => n.inputs.includes(at))!;
    if (!['batchNorm', 'activation', 'leakyRelu', 'dropout'].includes(next.op)) return at;
    at = next.id;
  }
}

/**
 * Derives a narrower network: every conv's filters and every dense layer's units times m
 * (rounded, at least 1), except the output layer. Weights are freshly initialised from `seed`.
 * This is how a "half" student is derived from any teacher (DAFL's LeNet-5-half = 0.5).
 */
export function widthMultiplier(g: Graph, m: number, seed: number, name?: string): Graph {
  const keep = outputLayer(g);
  const scale = (c: number) => Math.max(1, Math.round(c * m));
  const nodes: GraphNode[] = g.nodes.map((n) => {
    if (n.op === 'reshape') {
      throw new Error(`widthMultiplier: cannot rescale '${n.id}', a Reshape with a fixed shape`);
    }
    const attrs = structuredClone(n.attrs);
    if (n.id !== keep) {
      if (n.op === 'conv2d') (attrs as { filters: number }).filters = scale(n.attrs.filters);
      if (n.op === 'dense') (attrs as { units: number }).units = scale(n.attrs.units);
    }
    return { ...n, inputs: [...n.inputs], attrs, weights: {} } as GraphNode;
  });
  const student: Graph = {
    ...g,
    name: name ?? `${g.name}-x${m}`,
    nodes,
    inputShape: [...g.inputShape],
  };
  const shapes = inferShapes(student);
  nodes.forEach((n, i) => {
    const inShape = n.id === g.input ? g.inputShape : shapes.get(n.inputs[0])!;
    n.weights = initWeights(n, inShape, seed + i);
  });
  return student;
}

/** Nodes that read each node's output (the graph output counts as one reader). */
function consumerCounts(g: Graph): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(g.nodes.map((n) => [n.id, 0]));
  for (const n of g.nodes) for (const i of n.inputs) counts.set(i, (counts.get(i) ?? 0) + 1);
  counts.set(g.output, (counts.get(g.output) ?? 0) + 1);
  return counts;
}

/**
 * How a layer's kernel splits into input-channel groups (the groups of ‖W‖₂,₁ and of channel
 * pruning): `spatial` positions × `channels` × `out`. A conv kernel [kh, kw, C, out] is
 * [kh·kw, C, out]; a dense layer reading a flattened h×w×C map groups its rows p·C + c by
 * channel c, i.e. [h·w, C, out]; any other dense kernel [C, out] is [1, C, out].
 */
export interface KernelGroups {
  weight: 'kernel' | 'depthwiseKernel';
  spatial: number;
  channels: number;
  out: number;
}

export function kernelGroups(
  g: Graph,
  layerId: NodeId,
  shapes: Map<NodeId, number[]> = inferShapes(g),
): KernelGroups {
  const node = nodeById(g, layerId);
  const inShape = node.id === g.input ? g.inputShape : shapes.get(node.inputs[0])!;
  switch (node.op) {
    case 'conv2d': {
      const [kh, kw] = node.attrs.kernelSize;
      return {
        weight: 'kernel',
        spatial: kh * kw,
        channels: inShape[2],
        out: node.attrs.filters,
      };
    }
    case 'depthwiseConv2d': {
      const [kh, kw] = node.attrs.kernelSize;
      return {
        weight: 'depthwiseKernel',
        spatial: kh * kw,
        channels: inShape[2],
        out: node.attrs.depthMultiplier,
      };
    }
    case 'dense': {
      const rows = inShape[0];
      let id = node.inputs[0];
      for (;;) {
        const n = nodeById(g, id);
        if (n.op === 'flatten') {
          const s = shapes.get(n.inputs[0])!;
          if (s.length === 3)
            return {
              weight: 'kernel',
              spatial: s[0] * s[1],
              channels: s[2],
              out: node.attrs.units,
            };
          break;
        }
        if (n.op !== 'activation' && n.op !== 'leakyRelu' && n.op !== 'dropout') break;
        id = n.inputs[0];
      }
      return { weight: 'kernel', spatial: 1, channels: rows, out: node.attrs.units };
    }
    default:
      throw new Error(`kernelGroups: '${layerId}' (${node.op}) is not a conv or dense layer`);
  }
}

/** The path from the layer that produces a consumer's input channels to the consumer. */
interface ChannelPath {
  producer: GraphNode;
  /** Per-channel nodes between producer and consumer, in forward order. */
  between: GraphNode[];
  /** h·w of a flatten on the path (the consumer is then dense), else 1. */
  spatial: number;
}

/**
 * Why the input channels of `layerId` cannot be physically removed, or null when they can:
 * the channels must come from one conv/dense layer through per-channel nodes only (activation,
 * BatchNorm, pooling, padding, dropout, depthwise conv with multiplier 1, global average pool,
 * one flatten before a dense layer, channel gates), none of which feeds anything else. A channel shared with a
 * residual add, a concat or a second branch cannot be removed on one side only.
 */
export function channelPruneBlocker(g: Graph, layerId: NodeId): string | null {
  const path = channelPath(g, layerId);
  return typeof path === 'string' ? path : null;
}

/**
 * The conv or dense layer whose filters (units) are `layerId`'s input channels, the one
 * `pruneChannels(g, layerId, …)` removes filters from; null where `channelPruneBlocker` says why
 * there is none.
 */
export function channelProducer(g: Graph, layerId: NodeId): NodeId | null {
  const path = channelPath(g, layerId);
  return typeof path === 'string' ? null : path.producer.id;
}

function channelPath(g: Graph, layerId: NodeId): ChannelPath | string {
  const layer = nodeById(g, layerId);
  if (layer.op !== 'conv2d' && layer.op !== 'dense') {
    return `'${layerId}' is a ${layer.op}, not a conv or dense layer`;
  }
  const shapes = inferShapes(g);
  const readers = consumerCounts(g);
  const between: GraphNode[] = [];
  let spatial = 1;
  let flatSegment = layer.op === 'dense';
  let flatBatchNorm = false;
  let id = layer.inputs[0];
  for (;;) {
    const node = nodeById(g, id);
    if (node.id === g.input) {
      return `'${layerId}' reads the network input: there is no layer producing its channels`;
    }
    if ((readers.get(id) ?? 0) !== 1) {
      return `the output of '${id}' feeds more than one node (a residual add or a branch shares its channels)`;
    }
    switch (node.op) {
      case 'conv2d':
      case 'dense':
        return { producer: node, between, spatial };
      case 'depthwiseConv2d':
        if (node.attrs.depthMultiplier !== 1) {
          return `'${id}' is a depthwise conv with depth multiplier ${node.attrs.depthMultiplier}`;
        }
        break;
      case 'flatten': {
        const s = shapes.get(node.inputs[0])!;
        if (layer.op !== 'dense' || !flatSegment) return `unexpected flatten '${id}'`;
        if (s.length === 3) spatial = s[0] * s[1];
        if (flatBatchNorm && spatial > 1) {
          return `a BatchNorm between '${id}' and '${layerId}' normalises flattened features, not channels`;
        }
        flatSegment = false;
        break;
      }
      case 'batchNorm':
        // On the flattened vector a BatchNorm normalises each h·w·C feature, not each channel.
        if (flatSegment) flatBatchNorm = true;
        break;
      case 'globalAvgPool':
        flatSegment = false;
        break;
      case 'activation':
      case 'leakyRelu':
      case 'dropout':
      case 'maxPool':
      case 'avgPool':
      case 'zeroPad':
      case 'channelGate':
      case 'decisionMask':
        break;
      default:
        return `'${id}' (${node.op}) between '${layerId}' and the layer producing its channels`;
    }
    between.unshift(node);
    id = node.inputs[0];
  }
}

/**
 * Removes input channels of a conv or dense layer, keeping `keepInputChannels` (ascending
 * indices): the layer's kernel loses those input groups, the layer producing them loses the
 * matching filters/units and bias entries, and every per-channel node in between (BatchNorm γ,
 * β and moving statistics, depthwise kernels) loses them too; a dense layer after a flatten of
 * an h×w×C map loses rows p·C + c (NHWC order). Pure: returns a new graph with its own
 * variables. When the removed groups of the layer's kernel are all zero, the new graph computes
 * exactly the same function with fewer parameters and FLOPs. Throws if `channelPruneBlocker`
 * gives a reason.
 */
export function pruneChannels(
  g: Graph,
  layerId: NodeId,
  keepInputChannels: ArrayLike<number>,
): Graph {
  const path = channelPath(g, layerId);
  if (typeof path === 'string')
    throw new Error(`pruneChannels: cannot prune '${layerId}': ${path}`);
  const groups = kernelGroups(g, layerId);
  const keep = Array.from(keepInputChannels);
  keep.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= groups.channels || (i > 0 && c <= keep[i - 1])) {
      throw new RangeError(
        `pruneChannels: channels to keep must be ascending integers in [0, ${groups.channels}), got [${keep.join(', ')}]`,
      );
    }
  });
  if (keep.length === 0) throw new RangeError(`pruneChannels: '${layerId}' must keep a channel`);

  const replaced = new Map<NodeId, { weights: Record<string, tf.Tensor>; attrs?: object }>();
  tf.tidy(() => {
    const idx = tf.tensor1d(keep, 'int32');
    const pick = (v: tf.Tensor, axis: number) => tf.keep(tf.gather(v, idx, axis));
    const { producer, between } = path;
    if (producer.op === 'conv2d') {
      const w: Record<string, tf.Tensor> = { kernel: pick(producer.weights.kernel, 3) };
      if (producer.weights.bias) w.bias = pick(producer.weights.bias, 0);
      replaced.set(producer.id, { weights: w, attrs: { ...producer.attrs, filters: keep.length } });
    } else if (producer.op === 'dense') {
      const w: Record<string, tf.Tensor> = { kernel: pick(producer.weights.kernel, 1) };
      if (producer.weights.bias) w.bias = pick(producer.weights.bias, 0);
      replaced.set(producer.id, { weights: w, attrs: { ...producer.attrs, units: keep.length } });
    }
    for (const n of between) {
      if (n.op === 'batchNorm') {
        replaced.set(n.id, {
          weights: Object.fromEntries(Object.entries(n.weights).map(([k, v]) => [k, pick(v, 0)])),
        });
      } else if (n.op === 'channelGate') {
        replaced.set(n.id, { weights: { gate: pick(n.weights.gate, 0) } });
      } else if (n.op === 'decisionMask') {
        replaced.set(n.id, { weights: { masks: pick(n.weights.masks, 1) } });
      } else if (n.op === 'depthwiseConv2d') {
        const w: Record<string, tf.Tensor> = {
          depthwiseKernel: pick(n.weights.depthwiseKernel, 2),
        };
        if (n.weights.bias) w.bias = pick(n.weights.bias, 0);
        replaced.set(n.id, { weights: w });
      }
    }
    const layer = nodeById(g, layerId);
    if (layer.op === 'conv2d') {
      replaced.set(layerId, {
        weights: { ...layer.weights, kernel: pick(layer.weights.kernel, 2) },
      });
    } else {
      const rows: number[] = [];
      for (let p = 0; p < groups.spatial; p++)
        for (const c of keep) rows.push(p * groups.channels + c);
      const kernel = tf.keep(tf.gather(layer.weights.kernel, tf.tensor1d(rows, 'int32'), 0));
      replaced.set(layerId, { weights: { ...layer.weights, kernel } });
    }
  });

  const nodes = g.nodes.map((n) => {
    const r = replaced.get(n.id);
    const weights = Object.fromEntries(
      Object.entries(n.weights).map(([k, v]) => {
        const value = r?.weights[k] ?? v;
        const variable = tf.variable(value, v.trainable);
        if (value !== v) value.dispose();
        return [k, variable];
      }),
    );
    return {
      ...n,
      inputs: [...n.inputs],
      attrs: structuredClone(r?.attrs ?? n.attrs),
      weights,
    } as GraphNode;
  });
  const pruned: Graph = { ...g, nodes, inputShape: [...g.inputShape] };
  inferShapes(pruned); // throws if the result were inconsistent
  return pruned;
}
