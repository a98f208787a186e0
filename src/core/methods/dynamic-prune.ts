import * as tf from '@tensorflow/tfjs';
import { batches } from '../data';
import {
  decide,
  flopsTerms,
  followBatchStatistics,
  gatedFlops,
  gatedLayers,
  insertGates,
  normaliseHead,
  type GatedLayer,
} from '../dynamic';
import {
  disposeGraph,
  forward,
  graphStats,
  nodeById,
  trainableVariables,
  type Graph,
} from '../graph';
import { accuracy, inputOptions } from '../metrics';
import { toTensors } from '../data';
import { FusedAdam } from '../runtime/adam';
import { InvalidInputError } from '../runtime/errors';
import { assertFinite } from '../runtime/guards';
import type { Rng } from '../runtime/rng';
import { analyseDecisions } from './decision-analysis';
import type { ParamValues } from './params';
import { crossEntropy, optimizerStep } from './train';
import type { MethodSpec, RunEvent } from './types';

const params = {
  actions: {
    kind: 'int',
    default: 40,
    min: 2,
    max: 256,
    help: 'Channel masks m per decision unit, the actions its head chooses from (the code: 40).',
  },
  sparsityTarget: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 5,
    label: 'target mean mask r',
    help: 'r of λ·(mean |v| − r)²: the mean mask value the regulariser pulls towards (masks start at 1, live in [0, 5]; the code: 0.7 over 100 epochs).',
  },
  lambda: {
    kind: 'number',
    default: 10,
    min: 0,
    max: 100,
    live: true,
    help: 'λ, weight of the sparsity regulariser in the decision units’ loss (the code: 0.5).',
  },
  learningRate: {
    kind: 'number',
    default: 0.01,
    min: 1e-6,
    max: 1,
    log: true,
    help: 'SGD step size (momentum 0.9) of the backbone (the code: 0.01).',
  },
  decisionLearningRate: {
    kind: 'number',
    default: 0.05,
    min: 1e-6,
    max: 1,
    log: true,
    help: 'Adam step size of the decision units, heads and masks (the code: 0.01, the same as the backbone’s; 0.05 here, with λ 10 and r 0.1, so masks reach zero within one sitting).',
  },
  temperatureStart: {
    kind: 'number',
    default: 5,
    min: 0.01,
    max: 100,
    help: 'Gumbel-softmax temperature τ at the first step; it falls linearly to the end value (the released code never sets τ).',
  },
  temperatureEnd: {
    kind: 'number',
    default: 0.5,
    min: 0.01,
    max: 100,
    help: 'Gumbel-softmax temperature τ at the last decision-training step.',
  },
  fineTuneSteps: {
    kind: 'int',
    default: 200,
    min: 0,
    max: 100000,
    help: 'Backbone steps after decision training with deterministic (argmax) decisions, SGD at a tenth of the step size; part of the step budget (at most half of it).',
  },
  batchSize: { kind: 'int', default: 64, min: 1, max: 1024, help: 'Examples per step.' },
  evalEvery: {
    kind: 'int',
    default: 200,
    min: 1,
    max: 100000,
    help: 'Steps between measurements of accuracy and mean FLOPs per input on the test set.',
  },
  analysisExamples: {
    kind: 'int',
    default: 500,
    min: 0,
    max: 5000,
    help: 'Test images whose decision features, attacks, detectors and UMAP are computed after training (0: none).',
  },
  epsilon: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    label: 'attack ε',
    help: 'L∞ radius of FGSM and PGD in pixel units (pixels in [0, 1]).',
  },
  pgdSteps: {
    kind: 'int',
    label: 'PGD steps',
    default: 10,
    min: 1,
    max: 1000,
    help: 'PGD steps (step size 2.5·ε / steps, from a random start).',
  },
  attacks: {
    kind: 'enum',
    default: 'linf',
    options: ['linf', 'all'],
    label: 'attacks',
    help: 'linf: FGSM and PGD at ε. all: also BIM at ε (Kurakin’s 1/255 steps) and the minimal L2 attacks DeepFool and C&W (50 Adam steps × 3 values of c) — several times slower.',
  },
} as const;

type Params = ParamValues<typeof params>;

/** τ at decision-training step `step` of `steps`: linear from the start to the end value. */
export function gumbelTemperature(p: Params, step: number, steps: number): number {
  const t = steps <= 1 ? 1 : (step - 1) / (steps - 1);
  return p.temperatureStart + (p.temperatureEnd - p.temperatureStart) * t;
}

/**
 * The decision units' loss (the code's `L_dec`): cross-entropy plus λ·(mean |v| − r)², the mean
 * over every selected mask entry of every unit and input, `v` = the sampled one-hot · masks.
 */
function decisionLoss(
  g: Graph,
  gated: GatedLayer[],
  x: tf.Tensor,
  y: tf.Tensor,
  p: Params,
  forwardOpts: Parameters<typeof forward>[2],
) {
  const { output, tapped } = forward(g, x, { ...forwardOpts, taps: gated.map((u) => u.select!) });
  const ce = crossEntropy(output, y);
  const v = gated.map((u) =>
    tf.matMul(tapped.get(u.select!)! as tf.Tensor2D, nodeById(g, u.gate).weights.masks),
  );
  const meanMask = tf.mean(tf.abs(tf.concat(v, 1))) as tf.Scalar;
  const sparsity = tf.mul(p.lambda, tf.square(tf.sub(meanMask, p.sparsityTarget))) as tf.Scalar;
  return { total: tf.add(ce, sparsity) as tf.Scalar, crossEntropy: ce, sparsity, meanMask };
}

/**
 * The code's two-pass update of one mini-batch: (1) the decision units (heads and masks) by Adam
 * on `L_dec` with Gumbel-sampled decisions, masks clamped to [0, 5] and head rows renormalised;
 * (2) the backbone by SGD with momentum 0.9 on cross-entropy, with fresh samples. Without a
 * temperature (fine-tuning) only pass 2 runs, on argmax decisions, at a tenth of the step size.
 */
export class DynamicTrainer {
  private readonly decisionVars: tf.Variable[];
  private readonly backboneVars: tf.Variable[];
  private readonly adam: tf.Optimizer;
  private readonly sgd: tf.Optimizer;
  private readonly fineTune: tf.Optimizer;
  private readonly nextSeed: () => number;

  constructor(
    private readonly graph: Graph,
    private readonly gated: GatedLayer[],
    private readonly p: Params,
    rng: Rng,
  ) {
    this.decisionVars = gated.flatMap((u) => [
      nodeById(graph, u.head!).weights.kernel,
      nodeById(graph, u.gate).weights.masks,
    ]);
    this.backboneVars = trainableVariables(graph).filter((v) => !this.decisionVars.includes(v));
    this.adam = new FusedAdam(p.decisionLearningRate);
    this.sgd = tf.train.momentum(p.learningRate, 0.9);
    this.fineTune = tf.train.momentum(p.learningRate / 10, 0.9);
    const seeds = rng.fork('gumbel');
    this.nextSeed = () => seeds.seedForTf();
  }

  /** One batch; with `read`, the losses by name (decision/… for pass 1, loss for pass 2). */
  async step(
    x: tf.Tensor,
    y: tf.Tensor,
    temperature: number | undefined,
    read: boolean,
  ): Promise<[string, number][]> {
    const { graph, gated, p, nextSeed } = this;
    const out: [string, number][] = [];
    const readTerms = async (t: ReturnType<typeof optimizerStep>, prefix: string) => {
      if (!t) return;
      const v = await t.values.data();
      t.values.dispose();
      t.names.forEach((name, i) => {
        if (prefix === '' || name !== 'total')
          out.push([prefix ? `${prefix}/${name}` : 'loss', v[i]]);
      });
    };
    if (temperature !== undefined) {
      const opts = { training: true, gumbelTemperature: temperature, nextSeed };
      const t = optimizerStep(
        this.adam,
        this.decisionVars,
        () => decisionLoss(graph, gated, x, y, p, opts),
        read,
      );
      for (const u of gated) {
        const masks = nodeById(graph, u.gate).weights.masks;
        tf.tidy(() => masks.assign(tf.clipByValue(masks, 0, 5)));
        normaliseHead(nodeById(graph, u.head!));
      }
      await readTerms(t, 'decision');
    }
    const t = optimizerStep(
      temperature !== undefined ? this.sgd : this.fineTune,
      this.backboneVars,
      () => {
        const logits = forward(graph, x, {
          training: true,
          gumbelTemperature: temperature,
          nextSeed,
        }).output;
        return { total: crossEntropy(logits, y) };
      },
      read,
    );
    await readTerms(t, '');
    return out;
  }

  dispose(): void {
    [this.adam, this.sgd, this.fineTune].forEach((o) => o.dispose());
  }
}

/**
 * Wang, Zhang, Hu, Zhang & Su, "Dynamic Network Pruning with Interpretable Layerwise Channel
 * Selection", AAAI 2020 (code: frankwang345/dynamic-pruning). Spec: METHODS.md §5.
 */
export const dynamicPrune: MethodSpec<typeof params> = {
  id: 'dynamic-prune',
  title: 'Dynamic channel pruning',
  paper: 'Wang, Zhang, Hu, Zhang & Su, AAAI 2020 (Interpretable Layerwise Channel Selection)',
  summary:
    'Decision units pick a channel mask per input (Gumbel-softmax); the regulariser drives masks to 0, so each input skips channels. Then its decision features, attacks, UMAP and an adversarial detector.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 800,
  // The checkpoint's student is the gated network; its phase follows from the step.
  resume: { resumable: true },
  params,
  presets: {
    paper: {
      title: 'the reference code’s CIFAR schedule',
      description:
        'λ 0.5, r 0.7, both step sizes 0.01, batch 128, 100 epochs of decision training (MNIST: 469 steps an epoch) and a fine-tune: hours on a laptop CPU.',
      steps: 47000,
      params: {
        lambda: 0.5,
        sparsityTarget: 0.7,
        decisionLearningRate: 0.01,
        batchSize: 128,
        fineTuneSteps: 100,
      },
    },
  },
  async *run(ctx, p) {
    const from = ctx.resumeFrom;
    const { graph, gated } =
      from === undefined
        ? insertGates(
            ctx.student,
            { kind: 'dynamic', actions: p.actions },
            ctx.rng.fork('heads').int(2 ** 31),
          )
        : { graph: ctx.student, gated: gatedLayers(ctx.student) };
    if (gated.length === 0) {
      throw new InvalidInputError(
        `The checkpoint at step ${from} holds no decision units (it was taken by an older version, which kept the network it started from)`,
        'Start the run again from the beginning.',
      );
    }
    followBatchStatistics(graph);
    const teacherFlops = graphStats(ctx.teacher).flops;
    const terms = flopsTerms(graph);
    const trainer = new DynamicTrainer(graph, gated, p, ctx.rng);
    const steps = ctx.steps;
    // Fine-tuning takes at most half the budget, so a short run still trains its decisions.
    const decisionSteps = steps - Math.min(p.fineTuneSteps, Math.floor(steps / 2));
    const testIndices = Int32Array.from({ length: Math.min(2000, ctx.test.count) }, (_, i) => i);
    const shuffle = ctx.rng.fork('batches');
    const last: Record<string, number> = {};
    yield {
      kind: 'log',
      level: 'info',
      message:
        `${gated.length} decision units (${gated.map((u) => `${u.layer}: ${u.channels} channels`).join(', ')}), ` +
        `${p.actions} masks each; τ falls linearly from ${p.temperatureStart} to ${p.temperatureEnd} over ${decisionSteps} steps, then ${steps - decisionSteps} fine-tune steps with argmax decisions`,
    };

    /** Accuracy and the mean FLOPs per input of the deterministic network on the test subset. */
    const evaluate = async function* (step: number): AsyncGenerator<RunEvent> {
      const acc = await accuracy(graph, ctx.test, { indices: testIndices });
      const { x } = toTensors(
        ctx.test,
        testIndices.subarray(0, 500),
        inputOptions(graph, ctx.test),
      );
      const d = await decide(graph, gated, terms, x);
      x.dispose();
      assertFinite(d.features, 'the decision units’ action probabilities', step);
      const meanFlops = d.flops.reduce((a, b) => a + b, 0) / d.flops.length;
      last.testAccuracy = acc;
      last.flopsRatio = meanFlops / teacherFlops;
      yield { kind: 'scalar', key: 'accuracy/test', step, value: acc };
      yield { kind: 'scalar', key: 'flops-ratio', step, value: meanFlops / teacherFlops };
      const masks = await Promise.all(
        gated.map(async (u) => Array.from(await nodeById(graph, u.gate).weights.masks.data())),
      );
      yield {
        kind: 'layers',
        key: 'active-masks',
        step,
        labels: gated.map((u) => u.layer),
        values: masks.map((m) => m.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) / m.length),
      };
    };

    let finished = false;
    ctx.training(graph);
    try {
      if (from === undefined) yield* evaluate(0);
      let step = from ?? 0;
      // A resumed run passes over the batches drawn before its checkpoint (as trainLoop does);
      // the Gumbel noise and the optimisers' moments start afresh.
      let skip = step;
      const perEpoch = Math.ceil(ctx.train.count / p.batchSize);
      while (step < steps) {
        const skipNow = Math.min(skip, perEpoch);
        skip -= skipNow;
        for (const batch of batches(ctx.train, {
          ...inputOptions(graph, ctx.train),
          batchSize: p.batchSize,
          rng: shuffle,
          skip: skipNow,
        })) {
          step++;
          // λ is read by decisionLoss each step.
          ctx.paramsAt(step);
          const deciding = step <= decisionSteps;
          const temperature = gumbelTemperature(p, step, decisionSteps);
          const read = step % 25 === 0 || step === steps || ctx.stepping();
          const values = await trainer.step(
            batch.x,
            batch.y,
            deciding ? temperature : undefined,
            read,
          );
          tf.dispose([batch.x, batch.y]);
          if (read) {
            for (const [key, value] of values) {
              assertFinite(value, key, step);
              last[key] = value;
              yield { kind: 'scalar', key, step, value };
            }
            if (deciding) yield { kind: 'scalar', key: 'temperature', step, value: temperature };
            yield {
              kind: 'progress',
              step,
              total: steps,
              phase: deciding ? 'decisions' : 'fine-tune',
            };
          }
          if (step % p.evalEvery === 0 || step === steps) yield* evaluate(step);
          if (step >= steps) break;
        }
      }
      const metrics: Record<string, number> = {
        'flops-ratio': last.flopsRatio,
        'mean-flops': last.flopsRatio * teacherFlops,
        'gated-full-flops': gatedFlops(terms, () => 1),
      };
      if (p.analysisExamples > 0) {
        const analysis = yield* analyseDecisions(graph, gated, terms, ctx, p);
        Object.assign(metrics, analysis);
      }
      finished = true;
      return { student: graph, metrics };
    } finally {
      trainer.dispose();
      // Stopped: the runner keeps its own student (a resumed run's is the graph trained here).
      if (!finished && from === undefined) disposeGraph(graph);
    }
  },
};
