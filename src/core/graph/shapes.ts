import * as tf from '@tensorflow/tfjs';
import { InvalidModelError } from '../runtime/errors';
import type { Graph, GraphNode, NodeId, Padding } from './types';

function convOut(size: number, k: number, stride: number, dilation: number, padding: Padding) {
  return padding === 'same'
    ? Math.ceil(size / stride)
    : Math.ceil((size - (k - 1) * dilation) / stride);
}

/** One node's output shape from its inputs' shapes (all without the batch dimension). */
export function nodeShape(node: GraphNode, ins: number[][]): number[] {
  const [s] = ins;
  const need = (rank: number) => {
    if (s.length !== rank) {
      throw new InvalidModelError(
        `Node '${node.id}' (${node.op}) expects a rank-${rank + 1} input but gets shape [batch, ${s.join(', ')}]`,
        'Check the model: a Flatten or Reshape may be missing before this layer.',
      );
    }
  };
  switch (node.op) {
    case 'input':
      return node.attrs.shape;
    case 'conv2d':
    case 'depthwiseConv2d': {
      need(3);
      const a = node.attrs;
      const h = convOut(s[0], a.kernelSize[0], a.strides[0], a.dilations[0], a.padding);
      const w = convOut(s[1], a.kernelSize[1], a.strides[1], a.dilations[1], a.padding);
      const c = node.op === 'conv2d' ? node.attrs.filters : s[2] * node.attrs.depthMultiplier;
      if (h < 1 || w < 1) {
        throw new InvalidModelError(
          `Node '${node.id}' gets a ${s[0]}×${s[1]} input, too small for its ${a.kernelSize.join('×')} kernel`,
          'Use a larger input or "same" padding.',
        );
      }
      return [h, w, c];
    }
    case 'maxPool':
    case 'avgPool': {
      need(3);
      const a = node.attrs;
      return [
        convOut(s[0], a.poolSize[0], a.strides[0], 1, a.padding),
        convOut(s[1], a.poolSize[1], a.strides[1], 1, a.padding),
        s[2],
      ];
    }
    case 'dense':
    case 'circulantDense':
      need(1);
      return [node.attrs.units];
    case 'globalAvgPool':
      need(3);
      return [s[2]];
    case 'flatten':
      return [s.reduce((a, b) => a * b, 1)];
    case 'reshape':
      return node.attrs.targetShape;
    case 'concat': {
      const axis = node.attrs.axis < 0 ? s.length + node.attrs.axis : node.attrs.axis - 1;
      const out = [...s];
      out[axis] = ins.reduce((sum, t) => sum + t[axis], 0);
      return out;
    }
    case 'add':
      for (const t of ins) {
        if (t.join() !== s.join()) {
          throw new InvalidModelError(
            `Node '${node.id}' adds tensors of different shapes [${s}] and [${t}]`,
            'Both branches of a residual add must have the same shape.',
          );
        }
      }
      return s;
    case 'zeroPad': {
      const [[t, b], [l, r]] = node.attrs.padding;
      return [s[0] + t + b, s[1] + l + r, s[2]];
    }
    case 'decisionHead':
      if (s.length !== 3 && s.length !== 1) need(3);
      return [node.attrs.actions];
    case 'gumbelSelect':
      need(1);
      return s;
    case 'batchNorm':
    case 'activation':
    case 'leakyRelu':
    case 'dropout':
    case 'decisionMask':
    case 'channelGate':
      return s;
  }
}

/** Output shape of every node, without the batch dimension. Throws on inconsistent graphs. */
export function inferShapes(g: Graph): Map<NodeId, number[]> {
  const shapes = new Map<NodeId, number[]>();
  for (const node of g.nodes) {
    const ins = node.id === g.input ? [g.inputShape] : node.inputs.map((i) => shapes.get(i)!);
    shapes.set(node.id, nodeShape(node, ins));
  }
  return shapes;
}

export interface NodeStats {
  id: NodeId;
  op: GraphNode['op'];
  outputShape: number[];
  params: number;
  /** Multiply-accumulates of one example: the FLOPs convention of the pruning papers. */
  flops: number;
  /** Dense float32 storage of the node's weights. */
  bytes: number;
}

export interface GraphStats {
  nodes: NodeStats[];
  params: number;
  flops: number;
  bytes: number;
}

function nodeFlops(node: GraphNode, inShape: number[], outShape: number[]): number {
  switch (node.op) {
    case 'conv2d': {
      const [kh, kw] = node.attrs.kernelSize;
      return outShape[0] * outShape[1] * kh * kw * inShape[2] * outShape[2];
    }
    case 'depthwiseConv2d': {
      const [kh, kw] = node.attrs.kernelSize;
      return outShape[0] * outShape[1] * kh * kw * outShape[2];
    }
    case 'dense':
      return inShape[0] * outShape[0];
    case 'decisionHead':
      return inShape[inShape.length - 1] * outShape[0];
    case 'circulantDense': {
      // The FFT form (Cheng et al.): an rfft of each input block and an inverse of each output
      // block (≈ b·log₂b each), and per block pair a product of b/2 + 1 complex bins (4 real).
      const b = node.attrs.blockSize;
      const blocksIn = Math.ceil(inShape[0] / b);
      const blocksOut = Math.ceil(outShape[0] / b);
      const fft = b * Math.max(1, Math.log2(b));
      return Math.round((blocksIn + blocksOut) * fft + blocksIn * blocksOut * 4 * (b / 2 + 1));
    }
    default:
      return 0;
  }
}

export function graphStats(g: Graph): GraphStats {
  const shapes = inferShapes(g);
  const nodes = g.nodes.map((node): NodeStats => {
    const params = Object.values(node.weights).reduce((sum, v) => sum + v.size, 0);
    const inShape = node.id === g.input ? g.inputShape : shapes.get(node.inputs[0])!;
    const outputShape = shapes.get(node.id)!;
    return {
      id: node.id,
      op: node.op,
      outputShape,
      params,
      flops: nodeFlops(node, inShape, outputShape),
      bytes: params * 4,
    };
  });
  const total = (k: 'params' | 'flops' | 'bytes') => nodes.reduce((s, n) => s + n[k], 0);
  return { nodes, params: total('params'), flops: total('flops'), bytes: total('bytes') };
}

/** Parameters that are not zero (weights, biases, BatchNorm statistics): what pruning leaves. */
export async function nonZeroParams(g: Graph): Promise<number> {
  const variables = g.nodes.flatMap((n) => Object.values(n.weights));
  const counts = tf.tidy(() =>
    tf.stack(variables.map((v) => tf.sum(tf.cast(tf.notEqual(v, 0), 'float32')))),
  );
  const values = Array.from(await counts.data());
  counts.dispose();
  return values.reduce((a, b) => a + b, 0);
}
