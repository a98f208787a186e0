import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import {
  batchNormMomentLoss,
  batchNormNodes,
  competitionLoss,
  jitter,
  l2Prior,
  scoreWithStatistics,
  totalVariation,
} from '../datafree';
import { forward, inferShapes, trainableVariables, type Graph, type GraphNode } from '../graph';
import { accuracy } from '../metrics';
import { FusedAdam } from '../runtime/adam';
import { InvalidInputError } from '../runtime/errors';
import { assertFinite } from '../runtime/guards';
import type { Rng } from '../runtime/rng';
import { softTargetKl } from './kd';
import { ADAM_LEARNING_RATE, type ParamValues } from './params';
import { ScheduledAdam } from './optim';
import { batchViews, readBatch, sampleGrid } from './sample-views';
import { restoreState } from './method-state';
import type { MethodSpec, RunContext, RunEvent } from './types';

const params = {
  batchSize: {
    kind: 'int',
    default: 100,
    min: 10,
    max: 1024,
    help: 'Images synthesised per round, the classes in turn (the CIFAR code: 256). The BatchNorm statistics are matched over this batch.',
  },
  synthesisSteps: {
    kind: 'int',
    default: 150,
    min: 1,
    max: 20000,
    help: 'Adam steps on the pixels of each batch (the CIFAR code: 2000).',
  },
  synthesisLearningRate: {
    kind: 'number',
    default: 0.2,
    min: 1e-4,
    max: 1,
    log: true,
    live: true,
    help: 'Adam step size on the pixels (the paper’s CIFAR setting: 0.05 for 2000 steps).',
  },
  featureWeight: {
    kind: 'number',
    default: 10,
    min: 0,
    max: 1000,
    live: true,
    help: 'α_f, weight of the BatchNorm feature-statistics loss Σ‖μ − μ̂‖₂ + ‖σ² − σ̂²‖₂ (the paper: 10). 0 is DeepDream: only the class and the image priors.',
  },
  tvWeight: {
    kind: 'number',
    default: 2.5e-5,
    min: 0,
    max: 1,
    live: true,
    help: 'α_tv, weight of the total-variation prior (the CIFAR code: 2.5e-5).',
  },
  l2Weight: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    live: true,
    help: 'α_l2, weight of the L2 prior ‖x‖ (the CIFAR code: 0; the paper: 3e-8).',
  },
  competitionWeight: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 100,
    live: true,
    help: 'α_c, weight of ADI’s competition term 1 − JS(teacher, student): images the two disagree on. 0 is DeepInversion, > 0 Adaptive DeepInversion (the paper: 10).',
  },
  jitter: {
    kind: 'int',
    default: 2,
    min: 0,
    max: 16,
    help: 'Largest random circular shift in pixels, per step (the CIFAR code: 2).',
  },
  flip: {
    kind: 'boolean',
    default: false,
    help: 'Random horizontal flips while synthesising (ImageNet only in the code: a flipped digit is another symbol).',
  },
  temperature: {
    kind: 'number',
    default: 3,
    min: 1,
    max: 50,
    live: true,
    help: 'KD temperature τ of the distillation on the synthesised pool (the authors: 3).',
  },
  studentLearningRate: {
    ...ADAM_LEARNING_RATE,
    live: true,
    help: 'Adam step size of the student.',
  },
  kdBatchSize: {
    kind: 'int',
    label: 'KD batch size',
    default: 64,
    min: 1,
    max: 1024,
    help: 'Pool images per distillation step.',
  },
  kdStepsPerRound: {
    kind: 'int',
    label: 'KD steps per round',
    default: 100,
    min: 1,
    max: 10000,
    help: 'Distillation steps between two synthesised batches (the ADI paper: a new batch every 50 steps, made against the current student).',
  },
  evalEvery: {
    kind: 'int',
    default: 200,
    min: 1,
    max: 100000,
    help: 'Distillation steps between measurements of the student on the real test set.',
  },
} as const;

export type DeepInversionParams = ParamValues<typeof params>;
type Params = DeepInversionParams;

const SYNTHESIS_TERMS = ['ce', 'feature', 'tv', 'l2', 'competition', 'synthesis'] as const;

/**
 * One batch of images optimised from noise: the teacher's cross-entropy for its target class,
 * its BatchNorm statistics, the image priors and (ADI) disagreement with the current student,
 * all on a randomly jittered copy. Returns the batch of the lowest total loss seen (read every
 * tenth step) and that step's loss terms.
 */
export async function synthesise(
  teacher: Graph,
  bn: GraphNode[],
  student: Graph,
  p: Params,
  rng: Rng,
): Promise<{ images: tf.Tensor4D; terms: number[] }> {
  const [h, w, c] = teacher.inputShape;
  const k = inferShapes(teacher).get(teacher.output)![0];
  const labels = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: p.batchSize }, (_, i) => i % k),
        'int32',
      ),
      k,
    ),
  );
  const noise = tf.randomNormal([p.batchSize, h, w, c], 0, 1, 'float32', rng.seedForTf());
  const x = tf.variable(noise);
  noise.dispose();
  const optimizer = new FusedAdam(p.synthesisLearningRate);
  let best: { images: tf.Tensor4D; terms: number[] } | undefined;
  try {
    for (let i = 1; i <= p.synthesisSteps; i++) {
      const shift = () => rng.int(2 * p.jitter + 1) - p.jitter;
      const [dy, dx, flip] = [shift(), shift(), p.flip && rng.next() < 0.5];
      let stacked: tf.Tensor1D | undefined;
      const read = i % 10 === 0 || i === p.synthesisSteps;
      tf.tidy(() => {
        optimizer.minimize(
          () => {
            const xj = jitter(x as tf.Tensor4D, dy, dx, flip);
            const { logits, layers } = scoreWithStatistics(teacher, bn, xj);
            const ce = softmaxCrossEntropy(labels, logits) as tf.Scalar;
            const feature = batchNormMomentLoss(layers, false);
            const tv = totalVariation(xj);
            const l2 = l2Prior(xj);
            const competition =
              p.competitionWeight > 0
                ? competitionLoss(logits, forward(student, xj).output as tf.Tensor2D, p.temperature)
                : tf.scalar(0);
            const total = tf.addN([
              ce,
              tf.mul(p.featureWeight, feature),
              tf.mul(p.tvWeight, tv),
              tf.mul(p.l2Weight, l2),
              tf.mul(p.competitionWeight, competition),
            ]) as tf.Scalar;
            if (read)
              stacked = tf.keep(tf.stack([ce, feature, tv, l2, competition, total]) as tf.Tensor1D);
            return total;
          },
          false,
          [x],
        );
      });
      if (stacked) {
        const terms = Array.from(await stacked.data());
        stacked.dispose();
        assertFinite(terms[5], 'synthesis loss', i);
        if (!best || terms[5] < best.terms[5]) {
          best?.images.dispose();
          best = { images: tf.clone(x) as tf.Tensor4D, terms };
        }
      }
    }
    return best!;
  } finally {
    tf.dispose([x, labels]);
    optimizer.dispose();
  }
}

export const deepInversion: MethodSpec<typeof params> = {
  id: 'deepinversion',
  title: 'DeepInversion / ADI',
  paper: 'Yin et al., Dreaming to Distill, CVPR 2020, arXiv:1912.08795',
  summary:
    'Batches of images are optimised from noise until the fixed teacher’s BatchNorm statistics and class scores look like its training data’s; the student is distilled on the growing pool. ADI adds images teacher and student disagree on.',
  needs: { teacher: true, data: 'none' },
  defaultStudent: 'half',
  defaultSteps: 2000,
  // The checkpoint holds the student and the pool of synthesised images (announcePool).
  resume: { resumable: true },
  params,
  presets: {
    adi: {
      title: 'Adaptive DeepInversion',
      description:
        'Adds the competition term with the paper’s weight α_c = 10: each new batch is made of images the current student gets wrong.',
      steps: 2000,
      params: { competitionWeight: 10 },
    },
    paper: {
      title: 'the CIFAR code’s synthesis budget',
      description:
        '2000 Adam steps at 0.05 on batches of 256: about ten times the default’s synthesis time.',
      steps: 2000,
      params: { batchSize: 256, synthesisSteps: 2000, synthesisLearningRate: 0.05 },
    },
  },
  async *run(ctx, p: Params) {
    const { teacher, student, test } = ctx;
    const bn = batchNormNodes(teacher, 'DeepInversion');
    // tf.train.adam's ε, so that the numbers are those of the plain optimiser; its step is live.
    const optimizer = new ScheduledAdam(p.studentLearningRate, 0.9, 0.999, tf.backend().epsilon());
    const variables = trainableVariables(student);
    const rounds = p.kdStepsPerRound;
    const from = ctx.resumeFrom ?? 0;
    // A resumed run draws from streams of its own (named by its checkpoint's step): the steps
    // before it drew an unknown number of times from the originals.
    const streams = from > 0 ? `@${from}` : '';
    const synthesisRng = ctx.rng.fork(`synthesis${streams}`);
    const kdRng = ctx.rng.fork(`kd${streams}`);
    // The pool is the state a checkpoint keeps beside the student; `done` counts the
    // distillation steps of the current round (a full round: synthesise the next batch).
    let { pool, done } = from > 0 ? restorePool(ctx, from, p) : { pool: undefined, done: rounds };
    ctx.training(student, pool && { pool });
    let best = 0;
    let lastKd = NaN;
    yield {
      kind: 'log',
      level: 'info',
      message: `Matching ${bn.length} BatchNorm layers; ${p.batchSize} images every ${p.kdStepsPerRound} distillation steps${p.competitionWeight > 0 ? ', with the ADI competition term' : ''}. Real data is used only to measure the student on the test set.`,
    };
    try {
      // The untrained student's accuracy: the chart's baseline at step 0 (a resumed run has it).
      if (from === 0) {
        yield {
          kind: 'scalar',
          key: 'accuracy/test',
          step: 0,
          value: await accuracy(student, test),
        };
      }
      for (let step = from; step < ctx.steps;) {
        if (done === rounds) {
          yield { kind: 'progress', step, total: ctx.steps, phase: 'synthesising a batch' };
          // A round's weights and pixel step size are those in force when it starts.
          ctx.paramsAt(step);
          const batch = await synthesise(teacher, bn, student, p, synthesisRng);
          for (const [i, name] of SYNTHESIS_TERMS.entries()) {
            // Without the competition term (DeepInversion) there is nothing of it to show.
            if (name === 'competition' && p.competitionWeight === 0) continue;
            // The priors' raw values are hundreds of times the other terms: a chart of their own.
            const group =
              name === 'tv' || name === 'l2'
                ? 'prior'
                : name === 'feature' && p.featureWeight === 0
                  ? 'measured'
                  : 'loss';
            yield { kind: 'scalar', key: `${group}/${name}`, step, value: batch.terms[i] };
          }
          const logits = tf.tidy(() => forward(teacher, batch.images).output as tf.Tensor2D);
          yield* batchViews(batch.images, logits, teacher.preprocessing, step, 40, 'newest-batch');
          logits.dispose();
          const grown = pool ? tf.concat([pool, batch.images]) : batch.images;
          const next = tf.variable(grown, false) as tf.Variable<tf.Rank.R4>;
          tf.dispose([pool, grown, batch.images]);
          pool = next;
          ctx.training(student, { pool });
          done = 0;
          yield* showPool(pool, teacher, step, kdRng);
        }
        const images = pool!;
        for (; done < rounds && step < ctx.steps; done++) {
          step++;
          // The temperature is read below; the step size lives in the optimiser.
          ctx.paramsAt(step);
          optimizer.setLearningRate(p.studentLearningRate);
          const picks = Int32Array.from({ length: p.kdBatchSize }, () =>
            kdRng.int(images.shape[0]),
          );
          const loss = tf.tidy(() => {
            const x = tf.gather(images, tf.tensor1d(picks, 'int32'));
            const target = forward(teacher, x).output;
            const T = p.temperature;
            return optimizer.minimize(
              () =>
                tf.mul(
                  T * T,
                  softTargetKl(forward(student, x, { training: true }).output, target, T),
                ) as tf.Scalar,
              true,
              variables,
            )!;
          });
          if (step % 10 === 0 || step === ctx.steps || ctx.stepping()) {
            lastKd = (await loss.data())[0];
            assertFinite(lastKd, 'loss kd', step);
            yield { kind: 'scalar', key: 'loss/kd', step, value: lastKd };
            yield { kind: 'progress', step, total: ctx.steps, phase: 'distilling' };
          }
          loss.dispose();
          if (step % p.evalEvery === 0 || step === ctx.steps) {
            const acc = await accuracy(student, test);
            best = Math.max(best, acc);
            yield { kind: 'scalar', key: 'accuracy/test', step, value: acc };
          }
        }
      }
      return {
        student,
        metrics: { bestTestAccuracy: best, finalKdLoss: lastKd, poolSize: pool?.shape[0] ?? 0 },
      };
    } finally {
      pool?.dispose();
      optimizer.dispose();
    }
  },
};

/**
 * The pool a checkpoint at step `from` kept, and how many distillation steps of its last round
 * were done by then: the pool holds one batch per round begun, the last begun at step
 * (batches − 1)·kdStepsPerRound.
 */
function restorePool(
  ctx: RunContext,
  from: number,
  p: Params,
): { pool: tf.Variable<tf.Rank.R4>; done: number } {
  const saved = ctx.resumeState?.tensors.find((t) => t.name === 'pool');
  const batches = saved ? saved.shape[0] / p.batchSize : 0;
  const done = from - (batches - 1) * p.kdStepsPerRound;
  if (!saved || !Number.isInteger(batches) || done < 0 || done > p.kdStepsPerRound) {
    throw new InvalidInputError(
      saved
        ? `The checkpoint at step ${from} holds a pool of ${saved.shape[0]} images, which does not fit batches of ${p.batchSize} every ${p.kdStepsPerRound} steps`
        : `The checkpoint at step ${from} holds no pool of synthesised images (it was taken by an older version)`,
      'Resume with the settings the run was started with, or start it again from the beginning.',
    );
  }
  const zeros = tf.zeros(saved.shape as [number, number, number, number]);
  const pool = tf.variable(zeros, false) as tf.Variable<tf.Rank.R4>;
  zeros.dispose();
  restoreState({ pool }, ctx.resumeState!);
  return { pool, done };
}

/** 64 images drawn from the whole pool, so the grid shows what the student learns from. */
async function* showPool(
  pool: tf.Tensor4D,
  teacher: Graph,
  step: number,
  rng: Rng,
): AsyncGenerator<RunEvent> {
  const n = Math.min(64, pool.shape[0]);
  const picks = rng
    .fork(`pool-view-${step}`)
    .shuffle(Array.from({ length: pool.shape[0] }, (_, i) => i))
    .slice(0, n);
  const [images, logits] = tf.tidy(() => {
    const x = tf.gather(pool, tf.tensor1d(picks, 'int32'));
    return [x, forward(teacher, x).output as tf.Tensor2D];
  });
  const reading = await readBatch(images, logits, teacher.preprocessing);
  tf.dispose([images, logits]);
  yield { ...sampleGrid(reading, 'pool', step, n) };
}
