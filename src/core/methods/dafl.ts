import * as tf from '@tensorflow/tfjs';
import { activationLoss, Generator, informationEntropyLoss, oneHotLoss } from '../datafree';
import { forward, trainableVariables, type Graph } from '../graph';
import { accuracy, median, type StepTiming } from '../metrics';
import { InvalidInputError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { assertFinite } from '../runtime/guards';
import { softTargetKl } from './kd';
import type { ParamValues } from './params';
import { classHistogram, classMeans, readBatch, sampleGrid } from './sample-views';
import type { MethodSpec, RunEvent } from './types';

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
    default: 0.2,
    min: 1e-5,
    max: 1,
    log: true,
    help: 'Adam step size of the generator (the reference’s MNIST default: 0.2).',
  },
  studentLearningRate: {
    kind: 'number',
    default: 2e-3,
    min: 1e-5,
    max: 1,
    log: true,
    help: 'Adam step size of the student (the reference’s MNIST default: 2e-3).',
  },
  oneHot: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 100,
    help: 'Weight of the one-hot loss (teacher confident on generated images); 0 turns it off.',
  },
  activation: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 100,
    help: 'Weight of the activation loss (large teacher features, −mean |f_T|); 0 turns it off.',
  },
  entropy: {
    kind: 'number',
    default: 5,
    min: 0,
    max: 100,
    help: 'Weight of the information-entropy loss (batches balanced over classes, Σ p̄ log10 p̄); 0 turns it off.',
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

const LOSS_NAMES = ['oneHot', 'activation', 'entropy', 'generator', 'kd'] as const;

/** What one step leaves for the caller to read and then dispose. */
export interface DaflStepOutput {
  /** [oneHot, activation, entropy, generator total, kd], in LOSS_NAMES order. */
  losses: tf.Tensor1D;
  images: tf.Tensor4D;
  teacherLogits: tf.Tensor2D;
}

/**
 * The reference training loop's state: the generator, the two Adam optimisers and the noise
 * stream. Each `step` generates a batch, scores it with the fixed teacher (the generator's loss),
 * distils the student on the same batch, and updates both. The student sees the images as
 * constants (the reference's `detach`), so the distillation loss does not reach the generator.
 */
export class DaflTrainer {
  readonly generator: Generator;
  readonly features: string;
  private readonly optimizerG: tf.Optimizer;
  private readonly optimizerS: tf.Optimizer;
  private readonly studentVariables: tf.Variable[];
  private readonly noise: Rng;

  constructor(
    private readonly teacher: Graph,
    private readonly student: Graph,
    private readonly p: DaflParams,
    rng: Rng,
  ) {
    const [height, width, channels] = teacher.inputShape;
    this.features = featureNode(teacher);
    this.generator = new Generator(
      { latentDim: p.latentDim, height, width, channels, base: p.generatorWidth },
      rng.fork('generator'),
    );
    this.noise = rng.fork('z');
    this.optimizerG = tf.train.adam(p.generatorLearningRate);
    this.optimizerS = tf.train.adam(p.studentLearningRate);
    this.studentVariables = trainableVariables(student);
  }

  /** A batch of latents from the run's noise stream. */
  latents(): tf.Tensor2D {
    const { batchSize, latentDim } = this.p;
    return tf.randomNormal([batchSize, latentDim], 0, 1, 'float32', this.noise.seedForTf());
  }

  /** One step on the latents `z` (fresh ones by default); `z` is disposed. */
  step(z = this.latents()): DaflStepOutput {
    const { p, teacher, features } = this;
    let images!: tf.Tensor4D;
    let teacherLogits!: tf.Tensor2D;
    let terms!: tf.Tensor1D;
    const gradsG = tf.variableGrads(() => {
      const x = this.generator.generate(z);
      const scored = forward(teacher, x, { taps: [features] });
      const logits = scored.output as tf.Tensor2D;
      const oh = oneHotLoss(logits);
      const act = activationLoss(scored.tapped.get(features)!);
      const ie = informationEntropyLoss(logits);
      const total = tf.addN([
        tf.mul(p.oneHot, oh),
        tf.mul(p.activation, act),
        tf.mul(p.entropy, ie),
      ]);
      images = tf.keep(x);
      teacherLogits = tf.keep(logits);
      terms = tf.keep(tf.stack([oh, act, ie, total]) as tf.Tensor1D);
      return total as tf.Scalar;
    }, this.generator.variables);
    z.dispose();
    const gradsS = tf.variableGrads(
      () =>
        softTargetKl(forward(this.student, images, { training: true }).output, teacherLogits, 1),
      this.studentVariables,
    );
    this.optimizerG.applyGradients(gradsG.grads);
    this.optimizerS.applyGradients(gradsS.grads);
    const losses = tf.tidy(() => tf.concat([terms, tf.reshape(gradsS.value, [1])]) as tf.Tensor1D);
    tf.dispose([terms, gradsG.value, gradsS.value]);
    tf.dispose([...Object.values(gradsG.grads), ...Object.values(gradsS.grads)]);
    return { losses, images, teacherLogits };
  }

  dispose(): void {
    this.optimizerG.dispose();
    this.optimizerS.dispose();
    this.generator.dispose();
  }
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
  const trainer = new DaflTrainer(teacher, student, p, new Rng(1, ['bench']));
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const start = performance.now();
      const out = trainer.step();
      await out.losses.data();
      tf.dispose([out.losses, out.images, out.teacherLogits]);
      if (i >= warmup) samples.push(performance.now() - start);
    }
  } finally {
    trainer.dispose();
  }
  return { samples, median: median(samples) };
}

export const dafl: MethodSpec<typeof params> = {
  id: 'dafl',
  title: 'DAFL (data-free learning)',
  paper: 'Chen et al., Data-Free Learning of Student Networks, ICCV 2019, arXiv:1904.01186',
  summary:
    'A generator learns images the fixed teacher is confident and active on, spread over all classes; the student is distilled on them. No training data is used.',
  needs: { teacher: true, data: 'none' },
  defaultStudent: 'half',
  defaultSteps: 3000,
  params,
  presets: {
    paper: {
      title: 'the reference code’s MNIST schedule',
      description:
        'The paper’s generator (width 128), batch 512, 200 epochs of 120 steps: hours on a laptop CPU.',
      steps: 24000,
      params: {
        generatorWidth: 128,
        batchSize: 512,
        generatorLearningRate: 0.2,
        studentLearningRate: 2e-3,
      },
    },
  },
  async *run(ctx, p: DaflParams) {
    const { teacher, student, test } = ctx;
    const trainer = new DaflTrainer(teacher, student, p, ctx.rng);
    yield {
      kind: 'log',
      level: 'info',
      message: `Generator: ${trainer.generator.parameterCount.toLocaleString('en')} parameters, ${p.batchSize} images a step; the teacher's features are '${trainer.features}'. Real data is used only to measure the student on the test set.`,
    };
    const last: Record<string, number> = {};
    let best = 0;
    try {
      for (let step = 1; step <= ctx.steps; step++) {
        const evalNow = step % p.evalEvery === 0 || step === ctx.steps;
        const out = trainer.step();
        if (step % 10 === 0 || step === 1 || evalNow) {
          const values = await out.losses.data();
          for (const [i, name] of LOSS_NAMES.entries()) {
            assertFinite(values[i], `loss ${name}`, step);
            last[name] = values[i];
            yield { kind: 'scalar', key: `loss/${name}`, step, value: values[i] };
          }
          yield { kind: 'progress', step, total: ctx.steps };
        }
        if (evalNow) yield* showSamples(out.images, out.teacherLogits, teacher, step);
        tf.dispose([out.losses, out.images, out.teacherLogits]);
        if (evalNow) {
          const acc = await accuracy(student, test);
          best = Math.max(best, acc);
          yield { kind: 'scalar', key: 'accuracy/test', step, value: acc };
        }
      }
      return {
        student,
        metrics: {
          bestTestAccuracy: best,
          finalGeneratorLoss: last.generator,
          finalKdLoss: last.kd,
        },
      };
    } finally {
      trainer.dispose();
    }
  },
};

/** The sample grid, the per-class means and the class histogram of one generated batch. */
async function* showSamples(
  images: tf.Tensor4D,
  teacherLogits: tf.Tensor2D,
  teacher: Graph,
  step: number,
): AsyncGenerator<RunEvent> {
  const batch = await readBatch(images, teacherLogits, teacher.preprocessing);
  yield sampleGrid(batch, 'samples', step, 64);
  yield classMeans(batch, 'class-means', step);
  const { shares, entropyBits } = classHistogram(batch);
  yield {
    kind: 'layers',
    key: 'teacher-classes',
    step,
    labels: shares.map((_, c) => String(c)),
    values: shares,
  };
  yield { kind: 'scalar', key: 'class-entropy/bits', step, value: entropyBits };
}
