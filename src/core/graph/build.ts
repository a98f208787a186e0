import * as tf from '@tensorflow/tfjs';
import type {
  ActivationFn,
  Graph,
  GraphNode,
  GraphNodeOf,
  NodeId,
  Op,
  OpAttrs,
  Padding,
  Preprocessing,
} from './types';
import { inferShapes } from './shapes';

/** Weight shapes of a node given its input shape (no batch). */
export function weightShapes(node: GraphNode, inShape: number[]): Record<string, number[]> {
  const c = inShape[inShape.length - 1];
  switch (node.op) {
    case 'conv2d': {
      const a = node.attrs;
      const shapes: Record<string, number[]> = { kernel: [...a.kernelSize, c, a.filters] };
      if (a.useBias) shapes.bias = [a.filters];
      return shapes;
    }
    case 'depthwiseConv2d': {
      const a = node.attrs;
      const shapes: Record<string, number[]> = {
        depthwiseKernel: [...a.kernelSize, c, a.depthMultiplier],
      };
      if (a.useBias) shapes.bias = [c * a.depthMultiplier];
      return shapes;
    }
    case 'dense': {
      const shapes: Record<string, number[]> = { kernel: [c, node.attrs.units] };
      if (node.attrs.useBias) shapes.bias = [node.attrs.units];
      return shapes;
    }
    case 'batchNorm':
      return { gamma: [c], beta: [c], movingMean: [c], movingVariance: [c] };
    case 'decisionHead':
      return { kernel: [c, node.attrs.actions] };
    case 'decisionMask':
      return { masks: [node.attrs.actions, c] };
    case 'channelGate':
      return { gate: [c] };
    case 'circulantDense': {
      const { units, blockSize: b, useBias } = node.attrs;
      const shapes: Record<string, number[]> = {
        kernel: [Math.ceil(c / b), Math.ceil(units / b), b],
      };
      if (useBias) shapes.bias = [units];
      return shapes;
    }
    default:
      return {};
  }
}

/** Fresh weights, Keras defaults: Glorot-uniform kernels, zero biases, identity BatchNorm. */
export function initWeights(
  node: GraphNode,
  inShape: number[],
  seed: number,
): Record<string, tf.Variable> {
  const weights: Record<string, tf.Variable> = {};
  for (const [name, shape] of Object.entries(weightShapes(node, inShape))) {
    let value: tf.Tensor;
    if (name === 'kernel' || name === 'depthwiseKernel') {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * shape[shape.length - 2];
      const fanOut = receptive * shape[shape.length - 1];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      value = tf.randomUniform(shape, -limit, limit, 'float32', seed);
    } else if (['gamma', 'movingVariance', 'gate', 'masks'].includes(name)) {
      value = tf.ones(shape);
    } else {
      value = tf.zeros(shape);
    }
    const trainable = name !== 'movingMean' && name !== 'movingVariance';
    weights[name] = tf.variable(value, trainable);
    value.dispose();
  }
  return weights;
}

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/**
 * Builds a sequential-or-branching graph with fresh seeded weights. Used by the zoo; every
 * add() names its node so per-layer charts and checkpoints have stable ids.
 */
export class GraphBuilder {
  private nodes: GraphNode[] = [];
  private shapes = new Map<NodeId, number[]>();
  private last: NodeId;

  constructor(
    private name: string,
    private inputShape: number[],
    private seed: number,
    private preprocessing: Preprocessing = { mean: 0, std: 1 },
  ) {
    this.last = 'input';
    this.push({ id: 'input', op: 'input', inputs: [], attrs: { shape: inputShape }, weights: {} });
  }

  /** The most recently added node, to start a branch from. */
  get head(): NodeId {
    return this.last;
  }

  add<K extends Op>(op: K, id: NodeId, attrs: OpAttrs[K], inputs: NodeId[] = [this.last]): this {
    const node = { id, op, inputs, attrs, weights: {} } as GraphNodeOf<K> as GraphNode;
    if (this.shapes.has(id)) throw new Error(`GraphBuilder: duplicate node id '${id}'`);
    node.weights = initWeights(node, this.shapes.get(inputs[0])!, this.seed + this.nodes.length);
    return this.push(node);
  }

  conv(
    id: NodeId,
    filters: number,
    kernel: Pair,
    opts: { strides?: Pair; padding?: Padding; useBias?: boolean } = {},
  ): this {
    return this.add('conv2d', id, {
      filters,
      kernelSize: pair(kernel),
      strides: pair(opts.strides ?? 1),
      padding: opts.padding ?? 'valid',
      dilations: [1, 1],
      useBias: opts.useBias ?? true,
    });
  }

  dense(id: NodeId, units: number): this {
    return this.add('dense', id, { units, useBias: true });
  }

  batchNorm(id: NodeId): this {
    return this.add('batchNorm', id, { epsilon: 1e-3, momentum: 0.99 });
  }

  act(id: NodeId, fn: ActivationFn = 'relu'): this {
    return this.add('activation', id, { fn });
  }

  maxPool(id: NodeId, size: Pair = 2): this {
    return this.add('maxPool', id, { poolSize: pair(size), strides: pair(size), padding: 'valid' });
  }

  private push(node: GraphNode): this {
    this.nodes.push(node);
    const g = this.peek();
    this.shapes.set(node.id, inferShapes(g).get(node.id)!);
    this.last = node.id;
    return this;
  }

  private peek(): Graph {
    return {
      name: this.name,
      nodes: this.nodes,
      input: 'input',
      output: this.last,
      inputShape: this.inputShape,
      preprocessing: this.preprocessing,
    };
  }

  build(): Graph {
    return { ...this.peek(), output: this.last, nodes: [...this.nodes] };
  }
}
