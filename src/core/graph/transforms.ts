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
