import * as tf from '@tensorflow/tfjs';
import { forward, trainableVariables, type Graph, type NodeId } from '../graph';
import { kdLoss } from './kd';
import { accuracy } from '../metrics';
import { ScheduledAdam } from './optim';
import { ADAM_LEARNING_RATE } from './params';
import { crossEntropy, trainLoop } from './train';
import type { RunContext, RunEvent } from './types';

/** Test examples the accuracy curve of a retraining phase is measured on (the final number uses all). */
export const RETRAIN_TEST_EXAMPLES = 2000;

/** Test accuracy on the examples retrain() charts, so every point of a classic method's curve compares. */
export function curveAccuracy(ctx: RunContext, g: Graph): Promise<number> {
  const n = Math.min(RETRAIN_TEST_EXAMPLES, ctx.test.count);
  return accuracy(g, ctx.test, { indices: Int32Array.from({ length: n }, (_, i) => i) });
}

/** The student's accuracy at step 0 (before a compression, or right after it), charted and returned. */
export async function* accuracyAtStart(
  ctx: RunContext,
  g: Graph = ctx.student,
): AsyncGenerator<RunEvent, number> {
  const value = await curveAccuracy(ctx, g);
  yield { kind: 'scalar', key: 'accuracy/test', step: 0, value };
  return value;
}

/**
 * The one-shot compression of a copy of the teacher, charted: test accuracy before it and right
 * after it, both at step 0 (the drop the fine-tune then recovers). Returns the accuracy after.
 */
export async function* oneShot(
  ctx: RunContext,
  compress: () => void,
): AsyncGenerator<RunEvent, number> {
  yield* accuracyAtStart(ctx);
  compress();
  return yield* accuracyAtStart(ctx);
}

/**
 * Whether a resumed run's checkpoint was taken after the retraining that starts at `step` had
 * begun: the compression made before that retraining is in the checkpoint's student already.
 */
export function resumedPast(ctx: RunContext, step: number): boolean {
  return ctx.resumeFrom !== undefined && ctx.resumeFrom > step;
}

/** A retraining stage that is the whole run. */
export function wholeRun(ctx: RunContext, phase: string) {
  return { steps: ctx.steps, stepOffset: 0, total: ctx.steps, phase };
}

/** The retraining's parameters, shared by the classic methods (a method may change a default). */
export const RETRAIN_PARAMS = {
  learningRate: { ...ADAM_LEARNING_RATE, live: true, help: 'Adam step size of the retraining.' },
  batchSize: { kind: 'int', default: 64, min: 1, max: 1024, help: 'Examples per retraining step.' },
  evalEvery: {
    kind: 'int',
    default: 250,
    min: 1,
    max: 100_000,
    help: 'Test accuracy every this many retraining steps (and right after each compression, and after the last step).',
  },
} as const;

export interface RetrainOptions {
  ctx: RunContext;
  student: Graph;
  steps: number;
  /** Read before every step, so a live change of the step size takes effect at once. */
  learningRate: () => number;
  batchSize: number;
  weightDecay?: number;
  /**
   * Weights the forward pass computes with instead of the variables (a quantizer with a
   * straight-through gradient, weights gathered from a shared codebook), made inside the loss.
   */
  overrides?: () => ReadonlyMap<NodeId, Partial<Record<string, tf.Tensor>>>;
  /** Gradient and Adam-moment masks by variable name: pruned weights stay exactly zero. */
  masks?: () => ReadonlyMap<string, tf.Tensor>;
  /**
   * Learn from the teacher instead of the labels alone: Hinton's loss (kd.ts) with this
   * temperature and weight α of the soft term (the structured and factorised students).
   */
  distill?: { teacher: Graph; temperature: number; alpha: number };
  /** What the optimiser moves; default every trainable variable of the student. */
  variables?: tf.Variable[];
  /** After every optimiser step (clip BinaryConnect's real weights, round to fixed point). */
  afterStep?(step: number): void;
  /** Names the phase on the progress bar and prefixes its loss keys (`<phase>/loss`). */
  phase: string;
  /** Steps of earlier phases: this phase's events count on from there. */
  stepOffset: number;
  /** The run's whole budget, for progress. */
  total: number;
  evalEvery: number;
  /** Measure accuracy before the first step (where this phase's curve starts). */
  evalAtStart?: boolean;
}

/**
 * The retraining of the classic methods (Han et al.'s "retrain" after pruning, a quantized
 * network's fine-tune): cross-entropy on the training set's labels (or KD from the teacher), Adam, with the method's masks,
 * weight overrides and per-step projection. Live changes reach `learningRate` through
 * ctx.paramsAt. Returns the last losses and test accuracy.
 */
export async function* retrain(
  o: RetrainOptions,
): AsyncGenerator<RunEvent, Record<string, number>> {
  const { ctx, student } = o;
  // A resumed run's checkpoint may lie past this stage (nothing to do) or inside it.
  const resumeFrom = (ctx.resumeFrom ?? 0) - o.stepOffset;
  if (ctx.resumeFrom !== undefined && resumeFrom >= o.steps) return {};
  const optimizer = new ScheduledAdam(o.learningRate(), 0.9, 0.999, tf.backend().epsilon());
  try {
    return yield* trainLoop({
      graph: student,
      data: ctx.train,
      test: ctx.test,
      testIndices: Int32Array.from(
        { length: Math.min(RETRAIN_TEST_EXAMPLES, ctx.test.count) },
        (_, i) => i,
      ),
      steps: o.steps,
      batchSize: o.batchSize,
      optimizer,
      variables: o.variables ?? trainableVariables(student),
      rng: ctx.rng.fork(o.phase),
      stepping: ctx.stepping,
      evalEvery: o.evalEvery,
      evalAtStart: o.evalAtStart,
      ...(resumeFrom > 0 && { resumeFrom }),
      stepOffset: o.stepOffset,
      total: o.total,
      phase: o.phase,
      // One loss chart for all of a classic method's stages; the phases mark where each begins.
      plainLossKeys: true,
      masks: o.masks,
      weightDecay: o.weightDecay,
      beforeStep: (step) => {
        ctx.paramsAt(step);
        optimizer.setLearningRate(o.learningRate());
      },
      afterStep: o.afterStep,
      loss: (batch) => {
        const logits = forward(student, batch.x, {
          training: true,
          weightOverrides: o.overrides?.(),
        }).output;
        if (!o.distill) return { total: crossEntropy(logits, batch.y) };
        const { teacher, temperature, alpha } = o.distill;
        const { total, soft, hard } = kdLoss(
          logits,
          forward(teacher, batch.x).output,
          batch.y,
          temperature,
          alpha,
        );
        return { total, ...(alpha > 0 && { soft }), ...(alpha < 1 && { hard }) };
      },
    });
  } finally {
    optimizer.dispose();
  }
}
