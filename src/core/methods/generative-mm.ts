import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import {
  batchNormMomentLoss,
  batchNormNodes,
  l2Prior,
  oneHotLoss,
  scoreWithStatistics,
  totalVariation,
} from '../datafree';
import type { Graph } from '../graph';
import { ADAM_LEARNING_RATE, type ParamValues } from './params';
import {
  GeneratorDistillation,
  STUDENT_SCHEDULE,
  STUDENT_STEPS,
  type GeneratorObjective,
} from './generator-distillation';
import type { MethodSpec } from './types';

const params = {
  generators: {
    kind: 'enum',
    default: 'per-class',
    options: ['per-class', 'shared'],
    help: 'per-class: one generator for each class, trained towards that class (Luo et al.’s ensemble). shared: one generator for all, trained towards whatever class the teacher sees in each image, which lets it collapse onto a few classes.',
  },
  generatorWidth: {
    kind: 'int',
    default: 32,
    min: 4,
    max: 256,
    help: 'Channels of each generator’s first stage (the DAFL generator, as the reference code uses; 128 there).',
  },
  latentDim: { kind: 'int', default: 100, min: 2, max: 1000, help: 'Length of the noise z.' },
  batchSize: {
    kind: 'int',
    default: 200,
    min: 20,
    max: 2048,
    help: 'Generated images per step, split evenly over the generators. The BatchNorm statistics are matched over the whole batch.',
  },
  generatorLearningRate: {
    kind: 'number',
    default: 1e-2,
    min: 1e-5,
    max: 1,
    log: true,
    live: true,
    help: 'Adam step size of the generators (a DeepInversion-range value: the paper’s is not published).',
  },
  studentLearningRate: {
    ...ADAM_LEARNING_RATE,
    live: true,
    help: 'Adam step size of the student.',
  },
  momentWeight: {
    kind: 'number',
    default: 10,
    live: true,
    min: 0,
    max: 1000,
    help: 'λ_bn, weight of matching every teacher BatchNorm layer’s batch mean and variance to its running ones (Σ‖μ − μ̂‖₂ + ‖σ² − σ̂²‖₂); 0 leaves the inceptionism loss alone.',
  },
  tvWeight: {
    kind: 'number',
    default: 2.5e-5,
    live: true,
    min: 0,
    max: 1,
    help: 'λ_tv, weight of the total-variation prior.',
  },
  l2Weight: {
    kind: 'number',
    default: 0,
    live: true,
    min: 0,
    max: 1,
    help: 'λ_l2, weight of the L2 prior ‖x‖.',
  },
  temperature: {
    kind: 'number',
    default: 3,
    min: 1,
    max: 50,
    help: 'KD temperature τ of the distillation (τ²-scaled KL).',
  },
  studentSchedule: STUDENT_SCHEDULE,
  studentSteps: STUDENT_STEPS,
  evalEvery: {
    kind: 'int',
    default: 100,
    min: 1,
    max: 100000,
    help: 'Steps between measurements of the student on the real test set.',
  },
} as const;

export type GenerativeMmParams = ParamValues<typeof params>;

/**
 * Luo et al.'s generator loss: inceptionism (cross-entropy towards each image's class, with the
 * TV and L2 priors) plus moment matching of the teacher's BatchNorm statistics over the batch.
 * Without a class per image (one shared generator), the target is the teacher's own arg-max.
 */
export function momentMatchingObjective(teacher: Graph, p: GenerativeMmParams): GeneratorObjective {
  const bn = batchNormNodes(teacher, 'generative moment matching');
  return {
    names: ['ce', 'moments', 'tv', 'l2', 'generator'],
    weight: (name) => ({ moments: p.momentWeight, tv: p.tvWeight, l2: p.l2Weight })[name] ?? 1,
    evaluate(x, labels) {
      const { logits, layers } = scoreWithStatistics(teacher, bn, x);
      const ce = labels
        ? (softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar)
        : oneHotLoss(logits);
      const moments = batchNormMomentLoss(layers, false);
      const tv = totalVariation(x);
      const l2 = l2Prior(x);
      const total = tf.addN([
        ce,
        tf.mul(p.momentWeight, moments),
        tf.mul(p.tvWeight, tv),
        tf.mul(p.l2Weight, l2),
      ]) as tf.Scalar;
      return { logits, terms: [ce, moments, tv, l2, total] };
    },
  };
}

export const generativeMomentMatching: MethodSpec<typeof params> = {
  id: 'generative-mm',
  title: 'Generative moment matching',
  paper: 'Luo et al., Large-Scale Generative Data-Free Distillation, arXiv:2012.05578',
  summary:
    'One generator per class learns images the fixed teacher assigns to that class and whose BatchNorm statistics match the ones it stored in training; the student is distilled on them. No training data is used.',
  needs: { teacher: true, data: 'none' },
  defaultStudent: 'half',
  defaultSteps: 2000,
  params,
  // The checkpoint holds the student and the generators (GeneratorDistillation.begin).
  resume: { resumable: true },
  async *run(ctx, p: GenerativeMmParams) {
    const { teacher, student } = ctx;
    const objective = momentMatchingObjective(teacher, p);
    const classes = ctx.test.numClasses;
    const perClass = p.generators === 'per-class' ? classes : 1;
    const trainer = new GeneratorDistillation(
      teacher,
      student,
      {
        ...p,
        batchSize: Math.max(perClass, p.batchSize - (p.batchSize % perClass)),
        perClass,
        objective,
      },
      ctx.rng,
    );
    yield {
      kind: 'log',
      level: 'info',
      message: `${perClass} generator${perClass > 1 ? 's' : ''}, ${trainer.parameterCount.toLocaleString('en')} parameters in all. Real data is used only to measure the student on the test set.`,
    };
    try {
      trainer.begin(ctx);
      // The loss weights are read by the objective each step; the step sizes are the trainer's.
      const last = yield* trainer.train(ctx.steps, p.evalEvery, teacher, ctx.test, {
        beforeStep: (step) => {
          ctx.paramsAt(step);
          trainer.setLearningRates(p.generatorLearningRate, p.studentLearningRate);
        },
        stepping: ctx.stepping,
        from: ctx.resumeFrom,
      });
      return {
        student,
        metrics: {
          bestTestAccuracy: last.bestTestAccuracy,
          finalKdLoss: last.kd,
          ...(last.collapsedAtStep && { collapsedAtStep: last.collapsedAtStep }),
        },
      };
    } finally {
      trainer.dispose();
    }
  },
};
