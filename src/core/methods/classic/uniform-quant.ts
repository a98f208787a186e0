import * as tf from '@tensorflow/tfjs';
import {
  encodeAffine,
  layerKernels,
  packBits,
  quantizeAffine,
  storedBytes,
  straightThrough,
  type Granularity,
} from '../../compress/quantizers';
import { nonZeroParams, trainableVariables, type Graph, type NodeId } from '../../graph';
import { beginState } from '../method-state';
import type { ParamValues } from '../params';
import { oneShot, RETRAIN_PARAMS, retrain, wholeRun } from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';

const params = {
  bits: {
    kind: 'int',
    default: 8,
    min: 2,
    max: 16,
    help: 'Bits per weight of every conv/dense kernel (2^bits levels); biases stay float32.',
  },
  granularity: {
    kind: 'enum',
    default: 'per-tensor',
    options: ['per-tensor', 'per-channel'],
    help:
      'One range (scale, zero point) per kernel, or one per output channel (the last kernel axis). ' +
      'Per-channel is more accurate at low bits, but TF.js model files hold one scale per tensor, ' +
      'so only per-tensor kernels are written quantized in the export.',
  },
  mode: {
    kind: 'enum',
    default: 'qat',
    options: ['post-training', 'qat'],
    help:
      'post-training: quantize the trained weights once and evaluate (no training: the step budget ' +
      'is unused). qat: fine-tune with the quantizer in the forward pass and the straight-through ' +
      'gradient on float shadow weights, then store their quantization.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 1e-4 },
} as const;

/**
 * Quantization-aware training on float shadow weights (BinaryConnect's real-valued weights, QAT's
 * latent weights): the optimiser moves one shadow per layer kernel, the forward pass sees
 * `quantize(shadow)` through a straight-through gradient, and after every step the kernel itself
 * is set to the quantization `store(shadow)`, so the network evaluated and exported is always the
 * quantized one.
 */
export class ShadowKernels {
  readonly kernels: ReturnType<typeof layerKernels>;
  readonly shadows: tf.Variable[];

  constructor(private readonly g: Graph) {
    this.kernels = layerKernels(g);
    this.shadows = this.kernels.map((k) => tf.variable(k.kernel, true));
  }

  /**
   * Names the shadows to the run as what its checkpoints keep beside the student (whose kernels
   * hold only their stored values); in a resumed run writes the checkpoint's back. Returns whether
   * the run resumed.
   */
  begin(ctx: RunContext): boolean {
    const state = Object.fromEntries(
      this.shadows.map((v, i) => [`shadow/${this.kernels[i].id}`, v] as const),
    );
    return beginState(ctx, this.g, state, 'float shadow weights');
  }

  /** The shadows and every trainable weight that is not a kernel (biases, BatchNorm). */
  variables(): tf.Variable[] {
    const kernels = new Set(this.kernels.map((k) => k.kernel));
    return [...this.shadows, ...trainableVariables(this.g).filter((v) => !kernels.has(v))];
  }

  overrides(
    quantize: (w: tf.Tensor) => tf.Tensor,
  ): ReadonlyMap<NodeId, Partial<Record<string, tf.Tensor>>> {
    return new Map(
      this.kernels.map((k, i) => [k.id, { [k.name]: straightThrough(this.shadows[i], quantize) }]),
    );
  }

  /** Kernel ← store(shadow), optionally after projecting the shadow (BinaryConnect's clip). */
  store(store: (w: tf.Tensor) => tf.Tensor, project?: (w: tf.Tensor) => tf.Tensor): void {
    tf.tidy(() => {
      this.kernels.forEach((k, i) => {
        if (project) this.shadows[i].assign(project(this.shadows[i]));
        k.kernel.assign(store(this.shadows[i]));
      });
    });
  }

  /**
   * Fine-tunes the shadows with `quantize` in the forward pass, storing `store(shadow)` (after
   * `project`) into the kernels after every step.
   */
  retrain(
    ctx: RunContext,
    p: ParamValues<typeof RETRAIN_PARAMS>,
    phase: string,
    quantize: (w: tf.Tensor) => tf.Tensor,
    store: (w: tf.Tensor) => tf.Tensor,
    project?: (w: tf.Tensor) => tf.Tensor,
  ): AsyncGenerator<RunEvent, Record<string, number>> {
    return retrain({
      ctx,
      student: this.g,
      learningRate: () => p.learningRate,
      batchSize: p.batchSize,
      variables: this.variables(),
      overrides: () => this.overrides(quantize),
      afterStep: () => this.store(store, project),
      ...wholeRun(ctx, phase),
      evalEvery: p.evalEvery,
    });
  }

  dispose(): void {
    tf.dispose(this.shadows);
  }
}

/**
 * k-bit uniform affine quantization of the kernels (the "uniform quantization" of the survey by
 * Cheng et al., arXiv:1710.09282; asymmetric ranges with an integer zero point as in Jacob et al.
 * 2018), after training or with quantization-aware fine-tuning through a straight-through
 * estimator. The kernels are finally written exactly as a TF.js loader decodes their codes.
 */
export const uniformQuant: MethodSpec<typeof params> = {
  id: 'uniform-quant',
  title: 'Uniform quantization',
  paper:
    'Survey of Cheng et al. 2017, arXiv:1710.09282; affine scheme of Jacob et al. 2018, arXiv:1712.05877',
  summary:
    'Store every kernel as k-bit integer codes with a scale and zero point (per tensor or per channel), after training or with quantization-aware fine-tuning.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1000,
  params,
  // The checkpoint keeps the float shadow weights beside the student (ShadowKernels.begin).
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const granularity = p.granularity as Granularity;
    const quantize = (w: tf.Tensor) => quantizeAffine(w, p.bits, granularity);
    const shadows = new ShadowKernels(student);
    try {
      const beforeRetrain = shadows.begin(ctx)
        ? undefined
        : yield* oneShot(ctx, () => shadows.store(quantize));
      if (p.mode === 'qat') {
        yield* shadows.retrain(ctx, p, 'qat', quantize, quantize);
      } else {
        yield {
          kind: 'log',
          level: 'info',
          message: `Post-training quantization: no training, the budget of ${ctx.steps} steps is unused.`,
        };
      }
      const metrics = yield* writeCodes(student, shadows, p.bits, granularity, ctx.steps);
      return {
        student,
        metrics: {
          ...metrics,
          ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
        },
      };
    } finally {
      shadows.dispose();
    }
  },
};

/**
 * Encodes every kernel (from its shadow), writes the decoded weights into the student as TF.js
 * will decode them, and measures the packed size: k-bit codes plus a float32 scale and min per
 * range, everything else float32.
 */
async function* writeCodes(
  student: Graph,
  shadows: ShadowKernels,
  bits: number,
  granularity: Granularity,
  step: number,
): AsyncGenerator<RunEvent, Record<string, number>> {
  const encoded = new Map<tf.Variable, number>();
  for (const [i, k] of shadows.kernels.entries()) {
    const enc = await encodeAffine(shadows.shadows[i], bits, granularity);
    tf.tidy(() => k.kernel.assign(tf.tensor(enc.values, k.kernel.shape)));
    encoded.set(k.kernel, packBits(enc.codes, bits).byteLength + 8 * enc.scale.length);
  }
  yield {
    kind: 'layers',
    key: 'bits',
    step,
    labels: shadows.kernels.map((k) => k.id),
    values: shadows.kernels.map(() => bits),
  };
  const nonZero = await nonZeroParams(student);
  return {
    bits,
    'encoded-bytes': storedBytes(student, encoded),
    'nonzero-params': nonZero,
  };
}
