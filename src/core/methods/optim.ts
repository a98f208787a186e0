import * as tf from '@tensorflow/tfjs';

import { FusedAdam } from '../runtime/adam';

/** One accumulated-moment slot of tf.AdamOptimizer (private in its typings, public in its JS). */
interface MomentSlot {
  originalName: string;
  variable: tf.Variable;
}

interface AdamSlots {
  accumulatedFirstMoment: (MomentSlot | undefined)[];
  accumulatedSecondMoment: (MomentSlot | undefined)[];
}

/**
 * Adam (fused: runtime/adam.ts) whose step size can follow a schedule (tf.AdamOptimizer keeps it protected) and whose
 * moment estimates can be read and masked. Masking matters for pruning with hard masks: Cross
 * Distillation's reference code multiplies the gradient *and* Adam's first and second moments
 * by the mask before every step, so a pruned weight gets an update of exactly zero (otherwise
 * its old first moment would keep moving it away from zero for a few hundred steps).
 */
export class ScheduledAdam extends FusedAdam {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) {
    super(learningRate, beta1, beta2, epsilon);
  }

  get rate(): number {
    return this.learningRate;
  }

  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }

  private slots(): AdamSlots {
    // tfjs-core 4.x: AdamOptimizer keeps one slot per variable, named `${variable.name}/m` and
    // `${variable.name}/v`, created on the variable's first applyGradients.
    return this as unknown as AdamSlots;
  }

  /** The first and second moment estimates of a variable, once it has had a step. */
  moments(variableName: string): { m: tf.Variable; v: tf.Variable } | undefined {
    const { accumulatedFirstMoment: first, accumulatedSecondMoment: second } = this.slots();
    const i = first.findIndex((s) => s?.originalName === `${variableName}/m`);
    if (i < 0 || !second[i]) return undefined;
    return { m: first[i]!.variable, v: second[i]!.variable };
  }

  /**
   * Multiplies the moments of each named variable by its mask (same shape as the variable, 1 =
   * keep, 0 = pruned). Variables without a step yet have zero moments and are skipped.
   */
  maskMoments(masks: ReadonlyMap<string, tf.Tensor>): void {
    tf.tidy(() => {
      for (const [name, mask] of masks) {
        const slots = this.moments(name);
        if (!slots) continue;
        slots.m.assign(tf.mul(slots.m, mask));
        slots.v.assign(tf.mul(slots.v, mask));
      }
    });
  }
}

/** Half-cosine decay from `base` to 0 over `total` steps. */
export function cosineRate(base: number, step: number, total: number): number {
  return 0.5 * base * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}
