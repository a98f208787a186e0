// The IR as an importer builds it from another format's dataflow graph: nodes emitted one at a
// time with their shapes checked as they come, weights kept as host arrays until the end (so a
// bias or scale found later can still be folded into them), then turned into a Graph.
import * as tf from '@tensorflow/tfjs';
import { nodeShape } from '../graph';
import type { Graph, GraphNode, NodeId, Op, OpAttrs, Preprocessing } from '../graph';
import { InvalidModelError } from '../runtime/errors';
import type { HostTensor } from './onnx/proto';

export interface PendingNode {
  node: Omit<GraphNode, 'weights'>;
  weights: Record<string, HostTensor>;
}

/** What the model does to its input before the first layer, per channel: x·scale + shift. */
export interface InputAffine {
  scale: number[];
  shift: number[];
}

export class PendingGraph {
  readonly nodes: PendingNode[] = [];
  private readonly shapes = new Map<NodeId, number[]>();
  private readonly ids = new Set<NodeId>();

  /** The IR input node 'input' of one example's NHWC shape. */
  constructor(readonly inputShape: number[]) {
    this.ids.add('input');
    this.shapes.set('input', inputShape);
    this.nodes.push({
      node: { id: 'input', op: 'input', inputs: [], attrs: { shape: inputShape } },
      weights: {},
    });
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
    const shape = nodeShape(
      { ...node, weights: {} } as GraphNode,
      inputs.map((i) => this.shape(i)),
    );
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
    const preprocessing: Preprocessing = {
      mean: perChannel(affine.shift.map((b, k) => -b / affine.scale[k])),
      std: perChannel(affine.scale.map((a) => 1 / a)),
    };
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
