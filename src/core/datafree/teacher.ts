/** What the data-free methods read from the fixed teacher: logits and its BatchNorm layers' inputs. */
import * as tf from '@tensorflow/tfjs';
import { forward, type Graph, type GraphNode } from '../graph';
import { InvalidInputError } from '../runtime/errors';
import type { BatchNormInput } from './losses';

/** The teacher's BatchNorm nodes; refuses a teacher without any, naming why they are needed. */
export function batchNormNodes(teacher: Graph, method: string): GraphNode[] {
  const nodes = teacher.nodes.filter((n) => n.op === 'batchNorm');
  if (nodes.length === 0) {
    throw new InvalidInputError(
      `Teacher '${teacher.name}' has no BatchNorm layer, and ${method} synthesises images by matching the statistics its BatchNorm layers stored during training`,
      'Pick a teacher with BatchNorm (bnnet-mnist, bnnet-fashion, vggsmall-fashion), or DAFL, which needs none.',
    );
  }
  return nodes;
}

/**
 * The teacher in inference mode on `x`: its logits and, for every BatchNorm layer, the layer's
 * input on this batch beside the running statistics it was trained with. Not tidied: callers use
 * the tensors inside a gradient closure.
 */
export function scoreWithStatistics(
  teacher: Graph,
  bnNodes: GraphNode[],
  x: tf.Tensor,
): { logits: tf.Tensor2D; layers: BatchNormInput[] } {
  const inputs = bnNodes.map((n) => n.inputs[0]);
  const { output, tapped } = forward(teacher, x, { taps: inputs });
  return {
    logits: output as tf.Tensor2D,
    layers: bnNodes.map((n, i) => ({
      x: tapped.get(inputs[i])!,
      movingMean: n.weights.movingMean,
      movingVariance: n.weights.movingVariance,
    })),
  };
}
