import * as tf from '@tensorflow/tfjs';
import { activationLoss, informationEntropyLoss, oneHotLoss } from '../datafree';
import { forward, type Graph } from '../graph';
import { InvalidInputError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { timeRepeated, type StepTiming } from '../runtime/timing';
import {
  GeneratorDistillation,
  STUDENT_SCHEDULE,
  STUDENT_STEPS,
  type GeneratorObjective,
} from './generator-distillation';
import type { ParamValues } from './params';
import type { MethodSpec } from './types';

const params = {
  generatorWidth: {
    kind: 'int',
    default: 32,
    min: 4,
    max: 256,
    help: 'Channels of the generator’s first stage (the second has half). The paper: 128.',
  },
  latentDim: { kind: 'int', default: 100, min: 2, max: 1000, help: 'Length of the noise z.' },
  batchSize: {
    kind: 'int',
    default: 128,
    min: 16,
    max: 2048,
    help: 'Generated images per step. The information-entropy loss is a batch statistic: small batches weaken it (the paper: 512 on MNIST).',
  },
  generatorLearningRate: {
    kind: 'number',
    default: 0.1,
    min: 1e-5,
    max: 1,
    log: true,
    live: true,
    help: 'Adam step size of the generator. The reference’s MNIST value, 0.2 (--preset paper), made our generator and the authors’ collapse at batch 128 (docs/results/data-free.md); 0.1 did not.',
  },
  studentLearningRate: {
    kind: 'number',
    default: 2e-3,
    min: 1e-5,
    max: 1,
    log: true,
    live: true,
    help: 'Adam step size of the student (the reference’s MNIST default: 2e-3).',
  },
  oneHot: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 100,
    live: true,
    help: 'Weight of the one-hot loss (teacher confident on generated images); 0 turns it off.',
  },
  activation: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 100,
    live: true,
    help: 'Weight of the activation loss (large teacher features, −mean |f_T|); 0 turns it off.',
  },
  entropy: {
    kind: 'number',
    default: 5,
    min: 0,
    max: 100,
    live: true,
    help: 'Weight of the information-entropy loss (batches balanced over classes, Σ p̄ log10 p̄); 0 turns it off.',
  },
  studentSchedule: STUDENT_SCHEDULE,
  studentSteps: {
    ...STUDENT_STEPS,
    default: 8,
    help: `${STUDENT_STEPS.help} 8 here: with the reference's 1 the student levelled off near 96 %, with 4 near 96.5–97 % (docs/results/data-free.md).`,
  },
  evalEvery: {
    kind: 'int',
    default: 120,
    min: 1,
    max: 100000,
    help: 'Steps between measurements of the student on the real test set (the reference: every epoch of 120 steps).',
  },
} as const;

export type DaflParams = ParamValues<typeof params>;

/**
 * The teacher's feature vector f_T for the activation loss: what its classifier reads. In the
 * reference LeNet-5 that is conv3's 120 outputs, the input of the first dense layer after the
 * convolutions; a net without convolutions (an MLP) uses the input of its last dense layer.
 */
export function featureNode(g: Graph): string {
  const dense = g.nodes.filter((n) => n.op === 'dense');
  if (dense.length === 0) {
    throw new InvalidInputError(
      `Teacher '${g.name}' has no dense layer, so it has no feature vector for DAFL's activation loss`,
      'Use a teacher whose classifier is a dense layer (LeNet-5, an MLP, BN-VGG), or set --activation 0.',
    );
  }
  const hasConv = g.nodes.some((n) => n.op === 'conv2d' || n.op === 'depthwiseConv2d');
  const reader = hasConv ? dense[0] : dense[dense.length - 1];
  return reader.inputs[0];
}

/**
 * DAFL's generator loss (the reference's weights oh, a, ie): the teacher confident (one-hot),
 * strongly activated (activation) and balanced over the classes (information entropy).
 */
export function daflObjective(teacher: Graph, p: DaflParams): GeneratorObjective {
  const features = featureNode(teacher);
  return {
    names: ['oneHot', 'activation', 'entropy', 'generator'],
    weight: (name) =>
      ({ oneHot: p.oneHot, activation: p.activation, entropy: p.entropy })[name] ?? 1,
    evaluate(x) {
      const scored = forward(teacher, x, { taps: [features] });
      const logits = scored.output as tf.Tensor2D;
      const oh = oneHotLoss(logits);
      const act = activationLoss(scored.tapped.get(features)!);
      const ie = informationEntropyLoss(logits);
      const total = tf.addN([
        tf.mul(p.oneHot, oh),
        tf.mul(p.activation, act),
        tf.mul(p.entropy, ie),
      ]) as tf.Scalar;
      return { logits, terms: [oh, act, ie, total] };
    },
  };
}

/** The reference loop: one generator, KD at temperature 1, both updated from the same batch. */
export function daflTrainer(
  teacher: Graph,
  student: Graph,
  p: DaflParams,
  rng: Rng,
): GeneratorDistillation {
  return new GeneratorDistillation(
    teacher,
    student,
    { ...p, temperature: 1, objective: daflObjective(teacher, p) },
    rng,
  );
}

/**
 * Wall time of DAFL steps (generator, teacher, student, both updates, losses read back), after
 * `warmup` untimed ones: `clab bench`'s data-free row.
 */
export async function timeDaflStep(
  teacher: Graph,
  student: Graph,
  p: DaflParams,
  { steps = 3, warmup = 1 } = {},
): Promise<StepTiming> {
  const trainer = daflTrainer(teacher, student, p, new Rng(1, ['bench']));
  try {
    return await timeRepeated(
      async () => {
        const out = trainer.step();
        await out.losses.data();
        tf.dispose([out.losses, out.images, out.teacherLogits]);
      },
      { steps, warmup },
    );
  } finally {
    trainer.dispose();
  }
}

export const dafl: MethodSpec<typeof params> = {
  id: 'dafl',
  title: 'DAFL (data-free learning)',
  paper: 'Chen et al., Data-Free Learning of Student Networks, ICCV 2019, arXiv:1904.01186',
  summary:
    'A generator learns images the fixed teacher is confident and active on, spread over all classes; the student is distilled on them. No training data is used.',
  needs: { teacher: true, data: 'none' },
  defaultStudent: 'half',
  defaultSteps: 1600,
  params,
  // The checkpoint holds the student and the generators (GeneratorDistillation.begin).
  resume: { resumable: true },
  presets: {
    paper: {
      title: 'the reference code’s MNIST schedule',
      description:
        'The paper’s generator (width 128), batch 512, 200 epochs of 120 steps: days on a laptop CPU.',
      steps: 24000,
      params: {
        generatorWidth: 128,
        batchSize: 512,
        generatorLearningRate: 0.2,
        studentLearningRate: 2e-3,
        studentSchedule: 'constant',
        studentSteps: 1,
      },
    },
  },
  async *run(ctx, p: DaflParams) {
    const trainer = daflTrainer(ctx.teacher, ctx.student, p, ctx.rng);
    yield {
      kind: 'log',
      level: 'info',
      message: `Generator: ${trainer.parameterCount.toLocaleString('en')} parameters, ${p.batchSize} images a step; the teacher's features are '${featureNode(ctx.teacher)}'. Real data is used only to measure the student on the test set.`,
    };
    try {
      trainer.begin(ctx);
      // The loss weights are read by daflObjective each step; the step sizes are the trainer's.
      const last = yield* trainer.train(ctx.steps, p.evalEvery, ctx.teacher, ctx.test, {
        beforeStep: (step) => {
          ctx.paramsAt(step);
          trainer.setLearningRates(p.generatorLearningRate, p.studentLearningRate);
        },
        stepping: ctx.stepping,
        from: ctx.resumeFrom,
      });
      return {
        student: ctx.student,
        metrics: {
          bestTestAccuracy: last.bestTestAccuracy,
          finalGeneratorLoss: last.generator,
          finalKdLoss: last.kd,
          ...(last.collapsedAtStep && { collapsedAtStep: last.collapsedAtStep }),
        },
      };
    } finally {
      trainer.dispose();
    }
  },
};
