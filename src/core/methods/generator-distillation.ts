/**
 * The loop DAFL and generative moment matching share: generators make a batch, the fixed
 * teacher scores it (the generators' loss), the student is distilled on the same batch, and
 * both are updated in one step. The student sees the images as constants (the DAFL reference's
 * `detach`), so the distillation loss never reaches the generators.
 */
import * as tf from '@tensorflow/tfjs';
import { Generator } from '../datafree';
import { forward, trainableVariables, type Graph } from '../graph';
import { accuracy } from '../metrics';
import { assertFinite } from '../runtime/guards';
import type { Rng } from '../runtime/rng';
import { softTargetKl } from './kd';
import { ScheduledAdam } from './optim';
import { batchViews } from './sample-views';
import { beginState, type MethodState } from './method-state';
import type { RunContext, RunEvent } from './types';

/** The student's schedule, a parameter of every method built on this loop. */
export const STUDENT_SCHEDULE = {
  kind: 'enum',
  default: 'constant',
  options: ['constant', 'step', 'cosine'],
  help: 'constant: the reference’s MNIST setting; step: the student’s step size ×0.1 after 40 % and after 80 % of the steps (the reference’s CIFAR schedule on this run’s length); cosine: from its value down to 0 along half a cosine over the run.',
} as const;

/** The student's step size at `step` of `steps` under `schedule` (STUDENT_SCHEDULE). */
export function studentStepSize(
  schedule: 'constant' | 'step' | 'cosine',
  base: number,
  step: number,
  steps: number,
): number {
  if (schedule === 'cosine') return (base * (1 + Math.cos((Math.PI * (step - 1)) / steps))) / 2;
  // The reference's CIFAR schedule (×0.1 at epochs 800 and 1600 of 2000), on this run's length.
  const drops = schedule === 'step' ? Number(step > 0.4 * steps) + Number(step > 0.8 * steps) : 0;
  return base * 0.1 ** drops;
}

/** Student updates per generator update, a parameter of every method built on this loop. */
export const STUDENT_STEPS = {
  kind: 'int',
  default: 1,
  min: 1,
  max: 16,
  help: 'Student updates per generator update: the first on the generator’s own batch (the reference: only that one), each further one on a fresh batch of the just-updated generator, made without gradients and so much cheaper than a generator step.',
} as const;

/** The generators' loss on a batch: named terms, the last one minimised. */
export interface GeneratorObjective {
  readonly names: readonly string[];
  /** A term's weight in the minimised sum now (live parameters may change it); 0: measured only. */
  weight(name: string): number;
  /** The teacher's logits on `x` and the loss terms (`labels`: the class each image was made for). */
  evaluate(x: tf.Tensor4D, labels?: tf.Tensor1D): { logits: tf.Tensor2D; terms: tf.Scalar[] };
}

export interface GeneratorDistillationOptions {
  latentDim: number;
  generatorWidth: number;
  batchSize: number;
  generatorLearningRate: number;
  studentLearningRate: number;
  /** KD temperature: 1 in DAFL, the soft targets' τ (with the τ² factor) otherwise. */
  temperature: number;
  /** How the student's step size changes over the run (studentStepSize). */
  studentSchedule: 'constant' | 'step' | 'cosine';
  /** Student updates per generator update (STUDENT_STEPS); 1 when absent. */
  studentSteps?: number;
  /** One generator for every class, each making batchSize / classes images of its class. */
  perClass?: number;
  objective: GeneratorObjective;
}

/** What one step leaves for the caller to read and then dispose. */
export interface GeneratorStepOutput {
  /** The objective's terms, then the student's distillation loss. */
  losses: tf.Tensor1D;
  images: tf.Tensor4D;
  teacherLogits: tf.Tensor2D;
}

export class GeneratorDistillation {
  readonly generators: Generator[];
  private readonly optimizerG: ScheduledAdam;
  private readonly optimizerS: ScheduledAdam;
  private readonly studentVariables: tf.Variable[];
  private readonly noise: Rng;
  /** The extra student batches' own latents, so the generator's path does not depend on k. */
  private readonly studentNoise: Rng;
  /** The student's base step size, which its schedule scales (a live parameter may change it). */
  private studentRate: number;

  constructor(
    private readonly teacher: Graph,
    private readonly student: Graph,
    private readonly o: GeneratorDistillationOptions,
    rng: Rng,
  ) {
    const [height, width, channels] = teacher.inputShape;
    const config = { latentDim: o.latentDim, height, width, channels, base: o.generatorWidth };
    this.generators = Array.from(
      { length: o.perClass ?? 1 },
      (_, i) => new Generator(config, rng.fork(`generator-${i}`)),
    );
    this.noise = rng.fork('z');
    this.studentNoise = rng.fork('student-z');
    // PyTorch's Adam (ε = 1e-8, TF.js' default is 1e-7), as the reference code runs.
    this.optimizerG = new ScheduledAdam(o.generatorLearningRate);
    this.optimizerS = new ScheduledAdam(o.studentLearningRate);
    this.studentRate = o.studentLearningRate;
    this.studentVariables = trainableVariables(student);
  }

  /** The generators' weights, by name: what a checkpoint keeps beside the student. */
  get state(): MethodState {
    return Object.fromEntries(
      this.generators.flatMap((g, i) => g.variables.map((v, j) => [`generator-${i}/${j}`, v])),
    );
  }

  /**
   * Ties the run's checkpoints to the student and the generators, and, in a resumed run, writes
   * the checkpoint's generators back and draws the latents the steps before it drew, so the steps
   * left see what an uninterrupted run's would (the optimisers' moments restart).
   */
  begin(ctx: RunContext): void {
    if (!beginState(ctx, this.student, this.state, 'generator')) return;
    for (let step = 0; step < ctx.resumeFrom!; step++) {
      this.noise.seedForTf();
      for (let extra = 1; extra < (this.o.studentSteps ?? 1); extra++)
        this.studentNoise.seedForTf();
    }
  }

  /** New step sizes from the next step on (the student's still follows its schedule). */
  setLearningRates(generator: number, student: number): void {
    this.optimizerG.setLearningRate(generator);
    this.studentRate = student;
  }

  get names(): string[] {
    return [...this.o.objective.names, 'kd'];
  }

  get parameterCount(): number {
    return this.generators.reduce((n, g) => n + g.parameterCount, 0);
  }

  /** Latents for one step: batchSize rows, split evenly over the generators. */
  latents(noise = this.noise): tf.Tensor2D {
    const { batchSize, latentDim } = this.o;
    return tf.randomNormal([batchSize, latentDim], 0, 1, 'float32', noise.seedForTf());
  }

  /** The class each generator's share of `n` latents is made for (none with one generator). */
  private classLabels(n: number): tf.Tensor1D | undefined {
    const k = this.generators.length;
    if (k === 1) return undefined;
    const per = Math.floor(n / k);
    return tf.tensor1d(
      Array.from({ length: k * per }, (_, i) => Math.floor(i / per)),
      'int32',
    );
  }

  /** Images for `z`: each generator makes its share of the rows, in order. */
  private generate(z: tf.Tensor2D): tf.Tensor4D {
    const k = this.generators.length;
    if (k === 1) return this.generators[0].generate(z);
    const per = Math.floor(z.shape[0] / k);
    return tf.concat(
      this.generators.map((g, i) =>
        g.generate(tf.slice(z, [i * per, 0], [per, -1]) as tf.Tensor2D),
      ),
    ) as tf.Tensor4D;
  }

  /** One student update towards the teacher's logits on `images`; its KD loss, to dispose. */
  private distil(images: tf.Tensor4D, teacherLogits: tf.Tensor2D): tf.Scalar {
    const T = this.o.temperature;
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(this.student, images, { training: true }).output;
      return tf.mul(T * T, softTargetKl(logits, teacherLogits, T)) as tf.Scalar;
    }, this.studentVariables);
    (this.optimizerS as tf.Optimizer).applyGradients(grads);
    tf.dispose(Object.values(grads));
    return value;
  }

  /** One step on the latents `z` (fresh ones by default); `z` is disposed. */
  step(z = this.latents()): GeneratorStepOutput {
    const { objective } = this.o;
    let images!: tf.Tensor4D;
    let teacherLogits!: tf.Tensor2D;
    let terms!: tf.Tensor1D;
    const labels = this.classLabels(z.shape[0]);
    const gradsG = tf.variableGrads(
      () => {
        const x = this.generate(z);
        const scored = objective.evaluate(x, labels);
        images = tf.keep(x);
        teacherLogits = tf.keep(scored.logits);
        terms = tf.keep(tf.stack(scored.terms) as tf.Tensor1D);
        return scored.terms[scored.terms.length - 1];
      },
      this.generators.flatMap((g) => g.variables),
    );
    tf.dispose([z, labels]);
    const kd = this.distil(images, teacherLogits);
    (this.optimizerG as tf.Optimizer).applyGradients(gradsG.grads);
    for (let extra = 1; extra < (this.o.studentSteps ?? 1); extra++) {
      const fresh = tf.tidy(() => {
        const x = this.generate(this.latents(this.studentNoise));
        return { x, logits: forward(this.teacher, x).output as tf.Tensor2D };
      });
      tf.dispose([this.distil(fresh.x, fresh.logits), fresh.x, fresh.logits]);
    }
    const losses = tf.tidy(() => tf.concat([terms, tf.reshape(kd, [1])]) as tf.Tensor1D);
    tf.dispose([terms, gradsG.value, kd, ...Object.values(gradsG.grads)]);
    return { losses, images, teacherLogits };
  }

  /**
   * The run: `steps` steps, every loss read every tenth step (every step while `stepping`), the
   * samples, class means and class histogram and the student's real test accuracy every
   * `evalEvery` steps. `beforeStep` runs before each step (live parameters).
   */
  async *train(
    steps: number,
    evalEvery: number,
    teacher: Graph,
    test: Parameters<typeof accuracy>[1],
    hooks: {
      beforeStep?: (step: number) => void;
      stepping?: () => boolean;
      /** Steps done before (a resumed run): go on from the next. */
      from?: number;
    } = {},
  ): AsyncGenerator<RunEvent, Record<string, number>> {
    const last: Record<string, number> = {};
    let best = 0;
    let collapsedAt = 0;
    // The untrained student's accuracy: the chart's baseline at step 0 (a resumed run has it).
    if (!hooks.from) {
      yield {
        kind: 'scalar',
        key: 'accuracy/test',
        step: 0,
        value: await accuracy(this.student, test),
      };
    }
    for (let step = (hooks.from ?? 0) + 1; step <= steps; step++) {
      const evalNow = step % evalEvery === 0 || step === steps;
      hooks.beforeStep?.(step);
      this.optimizerS.setLearningRate(
        studentStepSize(this.o.studentSchedule, this.studentRate, step, steps),
      );
      const out = this.step();
      if (step % 10 === 0 || step === 1 || evalNow || hooks.stepping?.()) {
        const values = await out.losses.data();
        for (const [i, name] of this.names.entries()) {
          assertFinite(values[i], `loss ${name}`, step);
          last[name] = values[i];
          // A term weighted 0 (an ablation, a prior turned off) is measured, not optimised.
          const group = name !== 'kd' && this.o.objective.weight(name) === 0 ? 'measured' : 'loss';
          yield { kind: 'scalar', key: `${group}/${name}`, step, value: values[i] };
        }
        yield { kind: 'progress', step, total: steps };
        if (!collapsedAt && (await collapsed(out.images))) {
          collapsedAt = step;
          yield {
            kind: 'log',
            level: 'warn',
            message: `The generator collapsed at step ${step}: every image it makes is the same, so the student has nothing left to learn. DAFL's reference code falls into this too (generator step 0.2 at batch 128); lower the generator learning rate or raise the batch size and run again.`,
          };
        }
      }
      if (evalNow) {
        yield* batchViews(out.images, out.teacherLogits, teacher.preprocessing, step, 64);
      }
      tf.dispose([out.losses, out.images, out.teacherLogits]);
      if (evalNow) {
        const acc = await accuracy(this.student, test);
        best = Math.max(best, acc);
        yield { kind: 'scalar', key: 'accuracy/test', step, value: acc };
      }
    }
    return {
      bestTestAccuracy: best,
      ...last,
      ...(collapsedAt && { collapsedAtStep: collapsedAt }),
    };
  }

  dispose(): void {
    this.optimizerG.dispose();
    this.optimizerS.dispose();
    for (const g of this.generators) g.dispose();
  }
}

/**
 * Whether a generated batch is one image repeated: its pixels do not vary across the batch.
 * (The generator's last BatchNorm then maps that image to all zeros.)
 */
export async function collapsed(images: tf.Tensor4D): Promise<boolean> {
  const spread = tf.tidy(() => tf.max(tf.moments(images, 0).variance));
  const value = (await spread.data())[0];
  spread.dispose();
  return value < 1e-6;
}
