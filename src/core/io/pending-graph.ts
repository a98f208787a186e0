// The IR as an importer builds it from another format's dataflow graph: nodes emitted one at a
// time with their shapes checked as they come, weights kept as host arrays until the end (so a
// bias or scale found later can still be folded into them), then turned into a Graph.
import * as tf from '@tensorflow/tfjs';
import { weightShapes } from '../graph';
import type { Graph, GraphNode, NodeId, Op, OpAttrs, Preprocessing } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import { checkedShape } from './checks';
import type { HostTensor } from './onnx/proto';

export interface PendingNode {
  node: Omit<GraphNode, 'weights'>;
  weights: Record<string, HostTensor>;
}

/**
 * What the model does to its input before the first layer, per channel: x·scale + shift (one
 * entry per input channel, or one for all).
 */
export interface InputAffine {
  scale: number[];
  shift: number[];
}

/** A value known while importing (a weight, a shape): folded into nodes, never emitted. */
export interface ConstValue {
  kind: 'const';
  tensor: HostTensor;
}

export class PendingGraph {
  readonly nodes: PendingNode[] = [];
  private readonly shapes = new Map<NodeId, number[]>();
  private readonly ids = new Set<NodeId>();

  /** The IR input node 'input' of one example's NHWC shape. */
  constructor(readonly inputShape: number[]) {
    const node = { id: 'input', op: 'input' as const, inputs: [], attrs: { shape: inputShape } };
    this.ids.add('input');
    this.shapes.set('input', checkedShape({ ...node, weights: {} }, []));
    this.nodes.push({ node, weights: {} });
  }

  /** Appends a node named after `base` (made a unique, readable id); returns its id. */
  add<K extends Op>(
    base: string,
    op: K,
    inputs: NodeId[],
    attrs: OpAttrs[K],
    weights: Record<string, HostTensor> = {},
  ): NodeId {
    const id = this.uniqueId(base);
    const node = { id, op, inputs, attrs } as Omit<GraphNode, 'weights'>;
    const ins = inputs.map((i) => this.shape(i));
    const shape = checkedShape({ ...node, weights: {} } as GraphNode, ins);
    // The weights from the file must have the shapes the IR gives such a node.
    const expected = weightShapes({ ...node, weights: {} } as GraphNode, ins[0]);
    for (const [w, t] of Object.entries(weights)) {
      if (t.dims.join() !== expected[w]?.join()) {
        throw new InvalidModelError(
          `Node '${base}': its ${w} has shape [${t.dims.join(', ')}] where [${expected[w]?.join(', ') ?? ''}] is needed`,
          'The weights do not fit the layer; export the model again.',
        );
      }
    }
    this.shapes.set(id, shape);
    this.nodes.push({ node, weights });
    return id;
  }

  shape(id: NodeId): number[] {
    return this.shapes.get(id)!;
  }

  node(id: NodeId): PendingNode {
    return this.nodes.find((p) => p.node.id === id)!;
  }

  private uniqueId(base: string): NodeId {
    let id = base.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.-]+|[_.-]+$/g, '') || 'node';
    if (this.ids.has(id)) {
      let k = 2;
      while (this.ids.has(`${id}_${k}`)) k++;
      id = `${id}_${k}`;
    }
    this.ids.add(id);
    return id;
  }

  /**
   * The Graph: NaN/Inf weights refused by name, weights made variables (BatchNorm statistics
   * non-trainable), the input's affine map (if any) read as the preprocessing's mean and std.
   */
  build(name: string, output: NodeId, affine: InputAffine = { scale: [1], shift: [0] }): Graph {
    for (const { node, weights } of this.nodes) {
      for (const [w, t] of Object.entries(weights)) {
        if (!t.values.every(Number.isFinite)) {
          throw new InvalidModelError(
            `Weight '${w}' of node '${node.id}' contains NaN or infinite values`,
            'The model is corrupt or diverged during training; export it from a healthy checkpoint.',
          );
        }
      }
    }
    // One number when every channel has the same (what the dataset loaders' files hold).
    const perChannel = (v: number[]) => (v.every((u) => u === v[0]) ? v[0] : v);
    const mean = affine.shift.map((b, k) => -b / affine.scale[k]);
    const std = affine.scale.map((a) => 1 / a);
    if (![...mean, ...std].every(Number.isFinite)) {
      throw new InvalidModelError(
        `The input normalisation of '${name}' gives mean [${mean}] and std [${std}]`,
        'Normalise by finite, non-zero constants; export the model again.',
      );
    }
    const preprocessing: Preprocessing = { mean: perChannel(mean), std: perChannel(std) };
    const nodes = this.nodes.map(({ node, weights }) => ({
      ...node,
      weights: Object.fromEntries(
        Object.entries(weights).map(([w, t]) => [
          w,
          tf.tidy(() =>
            tf.variable(tf.tensor(t.values, t.dims), w !== 'movingMean' && w !== 'movingVariance'),
          ),
        ]),
      ),
    })) as GraphNode[];
    return { name, nodes, input: 'input', output, inputShape: this.inputShape, preprocessing };
  }
}
