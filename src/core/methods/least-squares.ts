// The layer solver's losses are least squares in the layer's weights: a conv or dense layer is
// linear in its kernel, y = P·W (+ b) with P the input's patches (im2col), so on one fixed batch
// a step needs matrix products only, and with more patch rows than weights per output just
// ‖P·W − Y‖² = tr(WᵀGW) − 2·tr(WᵀB) + c with G = PᵀP, B = PᵀY, c = ‖Y‖², formed once. On the
// few-shot batches of the reference regime that is 10–50× less work per step than running the
// convolutions and their gradients, with the same iterates up to rounding.
import * as tf from '@tensorflow/tfjs';
import type { GraphNode } from '../graph';

/**
 * The rows the layer's kernel multiplies: [N·H_out·W_out, k_h·k_w·C] for a conv (ordered as the
 * kernel [k_h, k_w, C, out] flattens), [N, C] for a dense layer. A conv with an identity kernel
 * extracts them, so padding, strides and dilations are exactly the layer's own.
 */
export function layerPatches(node: GraphNode, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    if (node.op === 'dense') return tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
    if (node.op !== 'conv2d') throw new Error(`layerPatches: '${node.id}' is a ${node.op}`);
    const a = node.attrs;
    const [kh, kw] = a.kernelSize;
    const d = kh * kw * x.shape[3]!;
    const eye = tf.reshape(tf.eye(d), [kh, kw, x.shape[3]!, d]) as tf.Tensor4D;
    const p = tf.conv2d(x as tf.Tensor4D, eye, a.strides, a.padding, 'NHWC', a.dilations);
    return tf.reshape(p, [-1, d]) as tf.Tensor2D;
  });
}

/** Rows of the patch matrix and its width, without forming it (to choose the cheaper form). */
export function patchShape(node: GraphNode, x: tf.Tensor, y: tf.Tensor): [number, number] {
  const rows = y.size / y.shape[y.rank - 1]!;
  if (node.op === 'dense') return [rows, x.size / x.shape[0]];
  if (node.op !== 'conv2d') return [rows, Infinity];
  const [kh, kw] = node.attrs.kernelSize;
  return [rows, kh * kw * x.shape[3]!];
}

/** One least-squares term: weight · mean((P·W − Y)²) over the layer's output elements. */
export interface LeastSquaresTerm {
  weight: number;
  /** The layer's input (h^T, h^S or a mix of them). */
  input: tf.Tensor;
  /** The target output. */
  target: tf.Tensor;
}

/**
 * Σ weight·mean((P·W + b − Y)²) over the terms (they share the layer), by matrix products on
 * the patches instead of convolutions. Two forms, whichever is cheaper per step: the patch
 * form keeps the stacked rows √weight·P (rows·width·out a product), the Gram form their
 * G = Σ weight·PᵀP, B = Σ weight·PᵀY and c = Σ weight·‖Y‖² (width²·out; fewer when there
 * are more rows than weights per output). A `fitted` bias is W's last row, against a column of
 * ones appended to P; a `fixed` one (not optimised) is a constant moved into the target. Owns
 * its tensors: dispose() when the batch changes.
 */
export class LeastSquares {
  private constructor(
    readonly form: 'gram' | 'patches',
    /** gram: [G, B, c]; patches: [√w·P stacked, √w·Y stacked]. */
    private tensors: tf.Tensor[],
    /** Elements of the layer's output per term, the MSE's denominator (the reference's n·co·h·w). */
    private elements: number,
  ) {}

  static of(node: GraphNode, terms: LeastSquaresTerm[], bias: 'fitted' | 'fixed'): LeastSquares {
    const elements = terms[0].target.size;
    const b = node.weights.bias;
    const [rows, width] = patchShape(node, terms[0].input, terms[0].target);
    const form = width < rows * terms.length ? 'gram' : 'patches';
    const tensors = tf.tidy(() => {
      const parts = terms.map(({ weight, input, target }) => {
        let P = layerPatches(node, input);
        if (b && bias === 'fitted') P = tf.concat([P, tf.ones([P.shape[0], 1])], 1);
        let Y = tf.reshape(target, [P.shape[0], -1]) as tf.Tensor2D;
        if (b && bias === 'fixed') Y = tf.sub(Y, b);
        return { weight, P, Y };
      });
      if (form === 'patches') {
        const scaled = (m: 'P' | 'Y') =>
          tf.concat(parts.map((p) => tf.mul(p[m], Math.sqrt(p.weight))));
        return [scaled('P'), scaled('Y')];
      }
      const sum = (f: (p: (typeof parts)[number]) => tf.Tensor) =>
        tf.addN(parts.map((p) => tf.mul(f(p), p.weight)));
      return [
        sum(({ P }) => tf.matMul(P, P, true, false)),
        sum(({ P, Y }) => tf.matMul(P, Y, true, false)),
        sum(({ Y }) => tf.sum(tf.square(Y))),
      ];
    });
    return new LeastSquares(form, tensors, elements);
  }

  /** The loss at W = [kernel as (k·k·C) × out; bias row], differentiable in both. */
  value(kernel: tf.Tensor, bias?: tf.Tensor): tf.Scalar {
    const out = kernel.shape[kernel.rank - 1]!;
    let W = tf.reshape(kernel, [-1, out]) as tf.Tensor2D;
    if (bias) W = tf.concat([W, tf.reshape(bias, [1, out])], 0);
    if (this.form === 'patches') {
      const [P, Y] = this.tensors as [tf.Tensor2D, tf.Tensor2D];
      return tf.div(tf.sum(tf.squaredDifference(tf.matMul(P, W), Y)), this.elements) as tf.Scalar;
    }
    const [G, B, c] = this.tensors as [tf.Tensor2D, tf.Tensor2D, tf.Scalar];
    const quadratic = tf.sum(tf.mul(W, tf.matMul(G, W)));
    const linear = tf.sum(tf.mul(W, B));
    return tf.div(tf.add(tf.sub(quadratic, tf.mul(linear, 2)), c), this.elements) as tf.Scalar;
  }

  dispose(): void {
    tf.dispose(this.tensors);
  }
}
