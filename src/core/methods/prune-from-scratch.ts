import * as tf from '@tensorflow/tfjs';
import {
  budgetedKeep,
  flopsTerms,
  followBatchStatistics,
  insertGates,
  pruneGatedChannels,
  removeGates,
} from '../dynamic';
import {
  cloneGraph,
  disposeGraph,
  forward,
  graphStats,
  nodeById,
  trainableVariables,
  widthMultiplier,
  type Graph,
} from '../graph';
import { InvalidInputError } from '../runtime/errors';
import type { ParamValues } from './params';
import { ScheduledAdam } from './optim';
import { crossEntropy, trainLoop } from './train';
import type { MethodSpec, RunContext, RunEvent } from './types';

const params = {
  from: {
    kind: 'enum',
    default: 'scratch',
    options: ['scratch', 'pretrained'] as const,
    help: 'scratch: learn gates on random frozen weights, train the pruned net from a fresh start (the paper); pretrained: learn the same gates on the teacher’s weights, keep them and fine-tune (the prune-after-training baseline).',
  },
  prunedRatio: {
    kind: 'number',
    default: 0.5,
    min: 0.01,
    max: 0.99,
    label: 'FLOPs removed',
    help: 'Fraction of the teacher’s FLOPs (multiply-accumulates) to remove: the budget the binary search meets.',
  },
  expansion: {
    kind: 'number',
    default: 1.25,
    min: 0.25,
    max: 4,
    help: 'Width of the random network the gates are learnt on, relative to the teacher (the code: 80 vs VGG’s 64 channels, 1.25). Only for from = scratch.',
  },
  gateSteps: {
    kind: 'int',
    default: 200,
    min: 1,
    max: 100000,
    help: 'Gate-learning steps (Adam on the gates alone, weights frozen); part of the step budget.',
  },
  sparsityTarget: {
    kind: 'number',
    default: 0.2,
    min: 0,
    max: 1,
    live: true,
    label: 'target mean gate r',
    help: 'r of λ·(mean |α| − r)²: the mean gate value the regulariser pulls towards (gates live in [0, 1]).',
  },
  lambda: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 100,
    live: true,
    help: 'λ, weight of the sparsity regulariser.',
  },
  gateLearningRate: {
    kind: 'number',
    default: 0.01,
    min: 1e-6,
    max: 1,
    log: true,
    live: true,
    help: 'Adam step size of the gates (the code: 0.01).',
  },
  learningRate: {
    kind: 'number',
    default: 0.1,
    min: 1e-6,
    max: 1,
    log: true,
    live: true,
    help: 'SGD step size (momentum 0.9, weight decay 1e-4) of the pruned network, ×0.1 at 50 % and 75 % of its steps; a tenth of it when fine-tuning pretrained weights.',
  },
  batchSize: { kind: 'int', default: 64, min: 1, max: 1024, help: 'Examples per step.' },
} as const;

type Params = ParamValues<typeof params>;

const WEIGHT_DECAY = 1e-4;

/**
 * Wang, Zhang, Xie, Zhou, Su, Zhang & Hu, "Pruning from Scratch", AAAI 2020 (code:
 * frankwang345/pruning-from-scratch). Spec: METHODS.md §6. Gates learnt on frozen weights rank
 * the channels; a binary search keeps the globally best ones within a FLOPs budget; the pruned
 * architecture is then trained — from scratch, or from the teacher's weights for the baseline.
 */
export const pruneFromScratch: MethodSpec<typeof params> = {
  id: 'prune-from-scratch',
  title: 'Pruning from scratch',
  paper: 'Wang, Zhang, Xie, Zhou, Su, Zhang & Hu, AAAI 2020 (Pruning from Scratch)',
  summary:
    'Learn channel gates on random frozen weights, keep the best channels within a FLOPs budget, train the pruned network from scratch; or the same from the pretrained teacher, fine-tuned.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 800,
  // From the training phase on, the checkpoint's student is the pruned network being trained.
  resume: { resumable: true },
  params,
  async *run(ctx, p: Params) {
    const scratch = p.from === 'scratch';
    const teacherFlops = graphStats(ctx.teacher).flops;
    const gateSteps = Math.min(p.gateSteps, ctx.steps - 1);
    const trainSteps = ctx.steps - gateSteps;
    const testIndices = Int32Array.from({ length: Math.min(2000, ctx.test.count) }, (_, i) => i);
    const owned: Graph[] = [];
    const sgd = tf.train.momentum(scratch ? p.learningRate : p.learningRate / 10, 0.9);
    try {
      let student: Graph;
      let kept: number | undefined;
      if (ctx.resumeFrom === undefined) {
        ({ student, kept } = yield* learnGatesAndPrune(ctx, p, gateSteps, testIndices, owned));
      } else if (ctx.resumeFrom > gateSteps) {
        student = ctx.student;
        followBatchStatistics(student);
      } else {
        throw new InvalidInputError(
          `The checkpoint at step ${ctx.resumeFrom} is from the gate-learning phase (steps 1–${gateSteps}), whose network is not kept`,
          'Start the run again from the beginning.',
        );
      }
      const flops = graphStats(student).flops;
      yield {
        kind: 'log',
        level: 'info',
        message: `${kept === undefined ? 'The pruned network' : `Kept ${kept} channels`}: ${flops} FLOPs, ${((100 * flops) / teacherFlops).toFixed(1)} % of the teacher's (budget ${(100 * (1 - p.prunedRatio)).toFixed(1)} %); ${scratch ? 'training it from a fresh random start' : "fine-tuning the teacher's kept weights"} for ${trainSteps} steps`,
      };
      // A tenth of the step size when fine-tuning pretrained weights; read live at every step.
      const rate = () => (scratch ? p.learningRate : p.learningRate / 10);
      const variables = trainableVariables(student);
      const last = yield* trainLoop({
        graph: student,
        stepping: ctx.stepping,
        data: ctx.train,
        test: ctx.test,
        testIndices,
        steps: trainSteps,
        stepOffset: gateSteps,
        ...(ctx.resumeFrom !== undefined && { resumeFrom: ctx.resumeFrom - gateSteps }),
        batchSize: p.batchSize,
        optimizer: sgd,
        variables,
        rng: ctx.rng.fork('train'),
        loss: (batch) => {
          const logits = forward(student, batch.x, { training: true }).output;
          const ce = crossEntropy(logits, batch.y);
          // SGD's weight decay as its loss term: ∇(wd/2·‖w‖²) = wd·w.
          const decay = tf.mul(
            WEIGHT_DECAY / 2,
            tf.addN(variables.map((v) => tf.sum(tf.square(v)))),
          );
          return { total: tf.add(ce, decay) as tf.Scalar, crossEntropy: ce };
        },
        // MultiStep ×0.1 at 50 % and 75 % of the training steps, as train_pruned.py: the step
        // after `done` steps uses the factor of `done`.
        beforeStep: (step) => {
          ctx.paramsAt(step);
          const done = step - 1 - gateSteps;
          sgd.setLearningRate(
            rate() * (done >= 0.75 * trainSteps ? 0.01 : done >= 0.5 * trainSteps ? 0.1 : 1),
          );
        },
      });
      if (owned.includes(student)) owned.splice(owned.indexOf(student), 1);
      return {
        student,
        metrics: {
          'flops-ratio': flops / teacherFlops,
          ...(kept !== undefined && { 'kept-channels': kept }),
          finalLoss: last.total,
        },
      };
    } finally {
      owned.forEach(disposeGraph);
      sgd.dispose();
    }
  },
};

/**
 * The gate phase: channel gates learnt on the frozen network (random weights at `expansion`×
 * width, or the teacher's), then the channels kept within the FLOPs budget, as a plain network
 * (re-initialised from scratch) named to the run as what it trains. The graphs made go to `owned`.
 */
async function* learnGatesAndPrune(
  ctx: RunContext,
  p: Params,
  gateSteps: number,
  testIndices: Int32Array,
  owned: Graph[],
): AsyncGenerator<RunEvent, { student: Graph; kept: number }> {
  const scratch = p.from === 'scratch';
  // The gated network is not a student: until the pruned one trains, nothing to checkpoint.
  ctx.training(undefined);
  const seed = ctx.rng.fork('init').int(2 ** 31);
  const base = scratch
    ? widthMultiplier(ctx.teacher, p.expansion, seed, `${ctx.teacher.name}-random`)
    : cloneGraph(ctx.teacher);
  const { graph: gatedNet, gated } = insertGates(base, { kind: 'static' }, seed);
  disposeGraph(base);
  owned.push(gatedNet);
  followBatchStatistics(gatedNet);
  const gates = gated.map((u) => nodeById(gatedNet, u.gate).weights.gate);
  // tf.train.adam's ε (the backend's), so the steps are those of tf.train.adam(rate).
  const adam = new ScheduledAdam(p.gateLearningRate, 0.9, 0.999, tf.backend().epsilon());
  try {
    yield {
      kind: 'log',
      level: 'info',
      message: `Learning ${gated.length} layers' channel gates on ${scratch ? `random weights (${p.expansion}× the teacher's width)` : "the teacher's weights"}, weights frozen, for ${gateSteps} steps`,
    };
    // BatchNorm in training mode, as the code's model.train(): its statistics follow, its
    // affine parameters are not in the optimiser.
    yield* trainLoop({
      graph: gatedNet,
      stepping: ctx.stepping,
      data: ctx.train,
      test: ctx.test,
      testIndices,
      steps: gateSteps,
      total: ctx.steps,
      phase: 'gates',
      evalAtStart: true,
      batchSize: p.batchSize,
      optimizer: adam,
      variables: gates,
      rng: ctx.rng.fork('gates'),
      beforeStep: (step) => {
        ctx.paramsAt(step);
        adam.setLearningRate(p.gateLearningRate);
      },
      loss: (batch) => {
        const logits = forward(gatedNet, batch.x, { training: true }).output;
        const ce = crossEntropy(logits, batch.y);
        const meanGate = tf.mean(tf.abs(tf.concat(gates))) as tf.Scalar;
        const sparsity = tf.mul(p.lambda, tf.square(tf.sub(meanGate, p.sparsityTarget)));
        return {
          total: tf.add(ce, sparsity) as tf.Scalar,
          crossEntropy: ce,
          sparsity: sparsity as tf.Scalar,
          meanGate,
        };
      },
      afterStep: () => gates.forEach((a) => tf.tidy(() => a.assign(tf.clipByValue(a, 0, 1)))),
    });
  } finally {
    adam.dispose();
  }
  const scores = new Map(
    await Promise.all(gated.map(async (u, i) => [u.gate, await gates[i].data()] as const)),
  );
  const teacherFlops = graphStats(ctx.teacher).flops;
  const budget = (1 - p.prunedRatio) * teacherFlops;
  const chosen = budgetedKeep(scores, flopsTerms(gatedNet), budget);
  if (!chosen.withinBudget) {
    yield {
      kind: 'log',
      level: 'warn',
      message: `Even one channel per layer costs ${chosen.flops} FLOPs, over the budget of ${Math.round(budget)}: kept one per layer`,
    };
  }
  yield {
    kind: 'layers',
    key: 'kept-channels',
    step: gateSteps,
    labels: gated.map((u) => u.layer),
    values: gated.map((u) => chosen.keep.get(u.gate)!.length / u.channels),
  };
  yield {
    kind: 'table',
    key: 'pruned-architecture',
    columns: ['layer', 'channels (teacher)', 'learnt on', 'kept', 'mean gate of kept'],
    rows: gated.map((u) => {
      const keep = chosen.keep.get(u.gate)!;
      const s = scores.get(u.gate)!;
      return [
        u.layer,
        filtersOf(ctx.teacher, u.layer),
        u.channels,
        keep.length,
        +(keep.reduce((a, c) => a + s[c], 0) / keep.length).toFixed(4),
      ];
    }),
  };
  const pruned = pruneGatedChannels(gatedNet, chosen.keep);
  owned.push(pruned);
  const plain = removeGates(pruned);
  owned.push(plain);
  const student = scratch
    ? widthMultiplier(plain, 1, ctx.rng.fork('retrain').int(2 ** 31), `${ctx.teacher.name}-pfs`)
    : plain;
  if (scratch) owned.push(student);
  followBatchStatistics(student);
  ctx.training(student);
  return { student, kept: chosen.kept };
}

function filtersOf(g: Graph, id: string): number {
  const node = nodeById(g, id);
  return node.op === 'conv2d' ? node.attrs.filters : 0;
}
