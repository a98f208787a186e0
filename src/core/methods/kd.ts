import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import { sampleKShot } from '../data';
import { forward } from '../graph';
import { trainableVariables } from '../graph';
import { ScheduledAdam } from './optim';
import { ADAM_LEARNING_RATE, type ParamValues } from './params';
import { trainLoop } from './train';
import type { MethodSpec } from './types';

const params = {
  temperature: {
    kind: 'number',
    default: 4,
    min: 1,
    max: 50,
    live: true,
    help: 'Softmax temperature T of the soft targets (Hinton et al. use T = 20 for the MNIST MLPs).',
  },
  alpha: {
    kind: 'number',
    default: 0.9,
    min: 0,
    max: 1,
    live: true,
    help: 'Weight of the soft (teacher) term; 1 − alpha weighs the hard-label cross-entropy.',
  },
  learningRate: { ...ADAM_LEARNING_RATE, live: true },
  batchSize: { kind: 'int', default: 64, min: 1, max: 1024, help: 'Examples per step.' },
  shotsPerClass: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 6000,
    help: 'Train on K labelled examples per class (few-shot); 0 uses the whole training set.',
  },
  evalEvery: {
    kind: 'int',
    default: 250,
    min: 1,
    max: 100_000,
    help: 'Student test accuracy every this many steps (and before the first, and after the last).',
  },
} as const;

/** KL(softmax(z_T/T) ‖ softmax(z_S/T)), summed over classes, averaged over the batch. */
export function softTargetKl(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  temperature: number,
): tf.Scalar {
  const logQ = tf.logSoftmax(tf.div(studentLogits, temperature));
  const logP = tf.logSoftmax(tf.div(teacherLogits, temperature));
  return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1)) as tf.Scalar;
}

/**
 * Hinton, Vinyals & Dean 2015, arXiv:1503.02531:
 * L = (1 − α)·CE(y, softmax(z_S)) + α·T²·KL(softmax(z_T/T) ‖ softmax(z_S/T)).
 * The T² keeps the soft term's gradient scale independent of T (its gradient is ∝ 1/T²).
 */
export function kdLoss(
  studentLogits: tf.Tensor,
  teacherLogits: tf.Tensor,
  labels: tf.Tensor,
  temperature: number,
  alpha: number,
): { total: tf.Scalar; soft: tf.Scalar; hard: tf.Scalar } {
  const T = temperature;
  const soft = softTargetKl(studentLogits, teacherLogits, T);
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), studentLogits.shape[1]!);
  const hard = softmaxCrossEntropy(oneHot, studentLogits) as tf.Scalar;
  const total = tf.add(tf.mul(1 - alpha, hard), tf.mul(alpha * T * T, soft)) as tf.Scalar;
  return { total, soft, hard };
}

export const knowledgeDistillation: MethodSpec<typeof params> = {
  id: 'kd',
  title: 'Knowledge distillation',
  paper: 'Hinton, Vinyals & Dean 2015, arXiv:1503.02531',
  summary:
    'Train a smaller student on the teacher’s temperature-softened outputs plus the true labels.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'half',
  defaultSteps: 3000,
  params,
  // The student is the whole state; Adam's moments restart.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { teacher, student } = ctx;
    const indices =
      p.shotsPerClass > 0
        ? sampleKShot(ctx.train, p.shotsPerClass, ctx.rng.int(2 ** 31))
        : undefined;
    // tf.train.adam's ε (the backend's), so the numbers are those of tf.train.adam(rate).
    const optimizer = new ScheduledAdam(p.learningRate, 0.9, 0.999, tf.backend().epsilon());
    try {
      const last = yield* trainLoop({
        graph: student,
        data: ctx.train,
        indices,
        test: ctx.test,
        testIndices: Int32Array.from({ length: Math.min(2000, ctx.test.count) }, (_, i) => i),
        steps: ctx.steps,
        stepping: ctx.stepping,
        resumeFrom: ctx.resumeFrom,
        evalEvery: p.evalEvery,
        evalAtStart: true,
        batchSize: p.batchSize,
        optimizer,
        variables: trainableVariables(student),
        rng: ctx.rng,
        beforeStep: (step) => {
          // Temperature and α are read by the loss below; the step size lives in the optimiser.
          ctx.paramsAt(step);
          optimizer.setLearningRate(p.learningRate);
        },
        loss: (batch) => {
          // The teacher is frozen: its logits are constants of the student's loss.
          const teacherLogits = forward(teacher, batch.x).output;
          const studentLogits = forward(student, batch.x, { training: true }).output;
          const { total, soft, hard } = kdLoss(
            studentLogits,
            teacherLogits,
            batch.y,
            p.temperature,
            p.alpha,
          );
          // Only the terms α gives weight are charted: α = 1 optimises no hard term.
          return { total, ...(p.alpha > 0 && { soft }), ...(p.alpha < 1 && { hard }) };
        },
      });
      return { student, metrics: { finalLoss: last.total } };
    } finally {
      optimizer.dispose();
    }
  },
};
