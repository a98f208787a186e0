import * as tf from '@tensorflow/tfjs';
import { binarize, packBits, storedBytes } from '../../compress/quantizers';
import { nonZeroParams } from '../../graph';
import type { ParamValues } from '../params';
import { oneShot, RETRAIN_PARAMS } from '../retrain';
import type { MethodSpec } from '../types';
import { ShadowKernels } from './uniform-quant';

const params = {
  binarization: {
    kind: 'enum',
    default: 'deterministic',
    options: ['deterministic', 'stochastic'],
    help:
      'deterministic: w_b = sign(w) (0 → +1). stochastic: w_b = +1 with probability ' +
      'clip((w + 1)/2, 0, 1), drawn anew every step. The stored (test-time) network is sign(w) in both. ' +
      'Stochastic needs weights of order 1 (the paper’s nets); a LeNet-5 copy (|w| ≈ 0.05, so ' +
      'P(+1) ≈ ½) does not train with it.',
  },
  scale: {
    kind: 'enum',
    default: 'mean-abs',
    options: ['none', 'mean-abs'],
    help:
      'none: weights ±1 as in the paper, which relies on BatchNorm after every layer. mean-abs: ' +
      '±mean|W| per layer (XNOR-Net style, not in the BinaryConnect paper), so a net without ' +
      'BatchNorm such as LeNet-5 keeps its activation scale.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 1e-3 },
} as const;

/**
 * BinaryConnect (Courbariaux, Bengio & David, NIPS 2015, METHODS.md §7.2): the kernels are
 * binarised in the forward and backward pass, the real-valued shadow weights take the
 * straight-through gradient and are clipped to [−1, 1] after each step. Biases and BatchNorm
 * stay real.
 */
export const binaryConnect: MethodSpec<typeof params> = {
  id: 'binary-connect',
  title: 'BinaryConnect',
  paper: 'Courbariaux, Bengio & David, NIPS 2015, arXiv:1511.00363',
  summary:
    'Train with binary (±1) kernels on real-valued shadow weights; store one bit per weight.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 2000,
  params,
  // The checkpoint keeps the real-valued weights beside the student (ShadowKernels.begin).
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    // The layer's scale is a constant of the forward pass: the gradient goes straight to w.
    const scaled = (w: tf.Tensor, b: tf.Tensor) =>
      p.scale === 'mean-abs' ? tf.mul(b, tf.mean(tf.abs(w))) : b;
    const deterministic = (w: tf.Tensor) => scaled(w, binarize(w, false));
    const sampled = (w: tf.Tensor) => scaled(w, binarize(w, true, ctx.rng.int(2 ** 31)));
    const clip = (w: tf.Tensor) => tf.clipByValue(w, -1, 1);
    const shadows = new ShadowKernels(student);
    try {
      let beforeRetrain: number | undefined;
      if (shadows.begin(ctx)) {
        // Stochastic binarization goes on with the draws an uninterrupted run would make: one
        // per kernel a step.
        const drawn = p.binarization === 'stochastic' ? ctx.resumeFrom! : 0;
        for (let i = 0; i < drawn * shadows.kernels.length; i++) ctx.rng.int(2 ** 31);
      } else {
        beforeRetrain = yield* oneShot(ctx, () => shadows.store(deterministic, clip));
      }
      const forward = p.binarization === 'stochastic' ? sampled : deterministic;
      yield* shadows.retrain(ctx, p, 'binary-connect', forward, deterministic, clip);
      // One bit per weight (w_b ≥ 0) and, with mean-abs, one float32 scale per kernel.
      const encoded = new Map<tf.Variable, number>();
      for (const { kernel } of shadows.kernels) {
        const bits = Array.from(await kernel.data(), (v) => (v >= 0 ? 1 : 0));
        encoded.set(kernel, packBits(bits, 1).byteLength + (p.scale === 'mean-abs' ? 4 : 0));
      }
      yield {
        kind: 'layers',
        key: 'bits',
        step: ctx.steps,
        labels: shadows.kernels.map((k) => k.id),
        values: shadows.kernels.map(() => 1),
      };
      const nonZero = await nonZeroParams(student);
      return {
        student,
        metrics: {
          bits: 1,
          'encoded-bytes': storedBytes(student, encoded),
          'nonzero-params': nonZero,
          ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
        },
      };
    } finally {
      shadows.dispose();
    }
  },
};
