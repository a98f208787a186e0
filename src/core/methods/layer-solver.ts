// Layer-by-layer few-shot compression: the shared engine of Cross Distillation ("Ours", "Ours-S")
// and plain layer-wise distillation ("Ours-NC"), Bai et al. AAAI 2020, arXiv:1911.09450, with the
// schedule of its reference code (METHODS.md §1.3): the student starts as a copy of the teacher;
// for each layer in module order, capture its inputs in teacher and student on the K-shot set,
// optimise only the student's layer with Adam on a loss between pre-activation outputs, apply
// the masked-gradient + proximal schedule, move on; then a short cross-entropy fine-tune.
import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import {
  compressedSize,
  Compressor,
  layerSparsity,
  planCompression,
  removePrunedChannels,
  type CompressionConfig,
  type LayerPlan,
} from '../compress';
import { sampleKShot, toTensors } from '../data';
import {
  applyNode,
  forward,
  layerIds,
  nodeById,
  recalibrateBatchNorm,
  trainableVariables,
  type Graph,
  type GraphNode,
  type NodeId,
} from '../graph';
import {
  accuracy,
  estimationErrorKey,
  estimationErrors,
  estimationErrorsOn,
  inputOptions,
  type ErrorStage,
} from '../metrics';
import { InvalidInputError } from '../runtime/errors';
import { beginState } from './method-state';
import { assertFinite } from '../runtime/guards';
import { COMPRESSION_PARAMS, SHOTS_PER_CLASS } from './compression-params';
import { LeastSquares, type LeastSquaresTerm } from './least-squares';
import { maskedStep } from './masked-step';
import { ScheduledAdam } from './optim';
import type { ParamValues } from './params';
import type { MethodResult, ResumeSupport, RunContext, RunEvent } from './types';

/** What a student layer is fitted to. */
export type LayerObjective =
  /** Ours-NC: ‖W^T*h^T − W^S*h^S‖² (plain layer-wise regression of pre-activations). */
  | { kind: 'regression' }
  /** Ours (Eq. 4): μ·‖W^T*h^T − W^S*h^T‖² + (1 − μ)·‖W^T*h^S − W^S*h^S‖². */
  | { kind: 'convex'; mu: number }
  /** Ours-S: ‖W^T*ĥ^T − W^S*ĥ^S‖², ĥ^T = α·h^T + (1−α)·h^S, ĥ^S = (1−β)·h^T + β·h^S. */
  | { kind: 'soft'; alpha: number; beta: number };

type LayerTerm = 'regression' | 'correction' | 'imitation';

/**
 * Which of the three layer losses an objective minimises: the rest are charted apart, as
 * measured-only, so a chart of the loss holds only what the run optimises.
 */
export function optimisedTerms(objective: LayerObjective): LayerTerm[] {
  switch (objective.kind) {
    case 'regression':
      return ['regression'];
    case 'convex': {
      const { mu } = objective;
      return mu === 1 ? ['correction'] : mu === 0 ? ['imitation'] : ['correction', 'imitation'];
    }
    case 'soft': {
      // Ours-S at its corners is one of the three; elsewhere its mixed term is none of them.
      const { alpha, beta } = objective;
      if (alpha === 1 && beta === 1) return ['regression'];
      if (alpha === 1 && beta === 0) return ['correction'];
      if (alpha === 0 && beta === 1) return ['imitation'];
      return [];
    }
  }
}

/** Mean over n·c·h·w, as the reference code divides the summed squares by D = n·co·h·w. */
const mse = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.squaredDifference(a, b)) as tf.Scalar;

const EVAL = { training: false, updateBatchNormStats: false } as const;

/**
 * The three losses of one layer on one batch, for charts: regression L^r (pre-activation,
 * Ours-NC), correction L^c (teacher input through both layers) and imitation L^i (student input
 * through both layers).
 */
export function crossDistillationTerms(
  teacherLayer: GraphNode,
  studentLayer: GraphNode,
  hT: tf.Tensor,
  hS: tf.Tensor,
  studentWeights?: Partial<Record<string, tf.Tensor>>,
): { regression: tf.Scalar; correction: tf.Scalar; imitation: tf.Scalar } {
  const s = { ...EVAL, weights: studentWeights };
  const yTT = applyNode(teacherLayer, [hT], EVAL);
  const yST = applyNode(teacherLayer, [hS], EVAL);
  const yTS = applyNode(studentLayer, [hT], s);
  const ySS = applyNode(studentLayer, [hS], s);
  return { regression: mse(ySS, yTT), correction: mse(yTS, yTT), imitation: mse(ySS, yST) };
}

export interface LayerSolverOptions {
  teacherLayer: GraphNode;
  studentLayer: GraphNode;
  objective: LayerObjective;
  /** The compression of this one layer (masks, schedule, quantization). */
  compressor: Compressor;
  /** Read at every step: a live change of the step size takes effect at the next one. */
  learningRate: () => number;
  /** Also fit the layer's bias (the reference's convs have none; ours often do). */
  fitBias: boolean;
  /**
   * The batch stays fixed across iterations (the K shots fit in one): a conv or dense layer may
   * then be solved by matrix products on its patches (least-squares.ts). Same iterates.
   */
  fixedBatch: boolean;
}

/** The objective's terms on captured inputs; teacher outputs are constants, computed once. */
function objectiveTerms(
  objective: LayerObjective,
  teacherLayer: GraphNode,
  hT: tf.Tensor,
  hS: tf.Tensor,
): LeastSquaresTerm[] {
  const teacher = (h: () => tf.Tensor) => tf.tidy(() => applyNode(teacherLayer, [h()], EVAL));
  switch (objective.kind) {
    case 'regression': // L^r: W^S*h^S against W^T*h^T
      return [{ weight: 1, input: hS, target: teacher(() => hT) }];
    case 'convex':
      return [
        { weight: objective.mu, input: hT, target: teacher(() => hT) }, // L^c: W^S*h^T vs W^T*h^T
        { weight: 1 - objective.mu, input: hS, target: teacher(() => hS) }, // L^i: W^S*h^S vs W^T*h^S
      ];
    case 'soft': {
      const { alpha, beta } = objective;
      const mix = (a: number) => tf.add(tf.mul(hT, a), tf.mul(hS, 1 - a));
      const hMixS = tf.tidy(() => mix(1 - beta));
      return [{ weight: 1, input: hMixS, target: teacher(() => mix(alpha)) }];
    }
  }
}

/**
 * Optimises one student layer (its kernel, optionally its bias) against the teacher's layer with
 * Adam, on captured inputs. On one fixed batch a conv or dense layer is solved by matrix
 * products on its patches; otherwise every step runs the student layer on each term's input.
 */
export class LayerSolver {
  private optimizer: ScheduledAdam;
  private variables: tf.Variable[];
  private batch?: {
    hT: tf.Tensor;
    hS: tf.Tensor;
    /** Constants of the loss: term inputs that are mixes, and the teacher-side targets. */
    terms: LeastSquaresTerm[];
    leastSquares?: LeastSquares;
  };

  constructor(private o: LayerSolverOptions) {
    this.optimizer = new ScheduledAdam(o.learningRate());
    const w = o.studentLayer.weights;
    this.variables = [w.kernel ?? w.depthwiseKernel];
    if (o.fitBias && w.bias) this.variables.push(w.bias);
  }

  /** How the current batch is solved: by products on its patches, or running the layer. */
  get form(): LeastSquares['form'] | 'direct' {
    return this.batch?.leastSquares?.form ?? 'direct';
  }

  /**
   * A changed objective (a live μ, α or β) from the next step on: the loss's constants are
   * rebuilt on the current batch.
   */
  setObjective(objective: LayerObjective): void {
    if (JSON.stringify(objective) === JSON.stringify(this.o.objective)) return;
    this.o = { ...this.o, objective };
    if (this.batch) this.setBatch(this.batch.hT, this.batch.hS);
  }

  /** The captured layer inputs of teacher (h^T) and student (h^S); the caller owns them. */
  setBatch(hT: tf.Tensor, hS: tf.Tensor): void {
    this.disposeConstants();
    const { teacherLayer, studentLayer: s, objective } = this.o;
    const terms = objectiveTerms(objective, teacherLayer, hT, hS);
    // Patches are formed once per batch: worth it when the batch is reused every step.
    const leastSquares =
      this.o.fixedBatch && (s.op === 'conv2d' || s.op === 'dense')
        ? LeastSquares.of(s, terms, this.variables.length > 1 ? 'fitted' : 'fixed')
        : undefined;
    this.batch = { hT, hS, terms, leastSquares };
  }

  /** The objective computed by running the student layer on each term's input. */
  private directLoss(weights?: Partial<Record<string, tf.Tensor>>): tf.Scalar {
    const opts = { ...EVAL, weights };
    const parts = this.batch!.terms.map((t) =>
      tf.mul(t.weight, mse(applyNode(this.o.studentLayer, [t.input], opts), t.target)),
    );
    return tf.addN(parts) as tf.Scalar;
  }

  /** The objective the optimiser descends, as a differentiable function of S's layer. */
  private objective(): tf.Scalar {
    const { studentLayer: s, compressor } = this.o;
    const weights = compressor.overrides().get(s.id);
    const q = this.batch!.leastSquares;
    if (!q) return this.directLoss(weights);
    return q.value(weights?.kernel ?? s.weights.kernel, this.variables[1]);
  }

  /** The objective at the current weights, as the optimiser sees it (in its form). */
  async objectiveValue(): Promise<number> {
    const v = tf.tidy(() => this.objective());
    const value = (await v.data())[0];
    v.dispose();
    return value;
  }

  /**
   * One PGD iteration: Adam step on the masked gradient, then the proximal map. With `read`,
   * returns the objective and L^r, L^c, L^i after the step, each computed by running the layer.
   */
  async step(iter: number, read: boolean): Promise<Record<string, number> | undefined> {
    if (!this.batch) throw new Error('LayerSolver.step: no batch');
    const { compressor, studentLayer, teacherLayer } = this.o;
    const rate = this.o.learningRate() * compressor.rateFactor(iter);
    this.optimizer.setLearningRate(rate);
    maskedStep(this.optimizer, this.variables, () => ({ total: this.objective() }), {
      masks: compressor.gradientMasks(),
      read: false,
    });
    await compressor.project(iter, rate);
    if (!read) return undefined;
    const diag = tf.tidy(() => {
      const weights = compressor.overrides().get(studentLayer.id);
      const { hT, hS } = this.batch!;
      const d = crossDistillationTerms(teacherLayer, studentLayer, hT, hS, weights);
      return tf.stack([this.directLoss(weights), d.regression, d.correction, d.imitation]);
    });
    const v = await diag.data();
    diag.dispose();
    const out: Record<string, number> = {};
    ['total', 'regression', 'correction', 'imitation'].forEach((name, i) => {
      assertFinite(v[i], `loss ${name} of ${studentLayer.id}`, iter);
      out[name] = v[i];
    });
    return out;
  }

  private disposeConstants(): void {
    if (!this.batch) return;
    const { hT, hS, terms, leastSquares } = this.batch;
    // The inputs h^T, h^S belong to the caller; targets and mixed inputs are ours.
    tf.dispose(terms.flatMap((t) => [t.target, t.input]).filter((t) => t !== hT && t !== hS));
    leastSquares?.dispose();
    this.batch = undefined;
  }

  dispose(): void {
    this.disposeConstants();
    this.optimizer.dispose();
  }
}

/**
 * The layer-by-layer methods resume from their step: the layers before it are done, the one it
 * falls in goes on from there (its masks read from the checkpoint's zeros), and the checkpoint
 * keeps the fitted layers' final losses.
 */
export const LAYER_BY_LAYER_RESUME: ResumeSupport = { resumable: true };

/** Parameters of the layer-by-layer methods (layerwise, cross-distillation). */

export const LAYERWISE_PARAMS = {
  shotsPerClass: SHOTS_PER_CLASS,
  fitLayers: {
    kind: 'enum',
    default: 'conv',
    options: ['conv', 'all'],
    label: 'Layers fitted',
    help:
      'conv (reference code): fit and compress the convolutions only; dense layers keep the teacher’s weights until ' +
      'the fine-tune (on the logits layer correction and imitation are both solved by the teacher’s own weights). ' +
      'all: fit and compress dense layers too.',
  },
  itersPerLayer: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 20000,
    help:
      'PGD iterations per layer; 0 = the run’s step budget (default 3000) divided by the number of layers fitted, ' +
      'e.g. 750 for LeNet-5’s four pruned layers. The paper’s scripts use 3000 per layer (VGG-16, CIFAR-10) ' +
      'with learningRate 5e-4.',
  },
  learningRate: {
    kind: 'number',
    default: 5e-3,
    min: 1e-6,
    max: 1,
    log: true,
    live: true,
    help:
      'Adam step size of the layer solver (pgd_lr), ×0.1 after the first third for channel pruning. The reference ' +
      'scripts use 5e-4 with 3000 iterations per layer; with this tool’s default ~4× shorter budget 5e-3 fits better ' +
      '(LeNet-5/MNIST at 750 iterations: 97.2 % vs 95.5 %).',
  },
  batchSize: {
    kind: 'int',
    default: 128,
    min: 1,
    max: 1024,
    help: 'Images per solver step; a K-shot set this small or smaller is one fixed batch (reference).',
  },
  fitBias: {
    kind: 'boolean',
    default: true,
    help: 'Fit each layer’s bias with its kernel (the reference nets have bias-free convs).',
  },
  fineTuneSteps: {
    kind: 'int',
    default: 40,
    min: 0,
    max: 5000,
    help: 'Cross-entropy fine-tuning steps on the K shots after the layer-wise stage (reference: 40 one-batch “epochs”).',
  },
  fineTuneRate: {
    kind: 'number',
    default: 1e-5,
    min: 1e-7,
    max: 1,
    log: true,
    live: true,
    help: 'SGD (momentum 0.9, weight decay 5e-4) step size of the fine-tuning, ×0.1 at 50 % and 75 % (reference: 1e-5).',
  },
  ...COMPRESSION_PARAMS,
} as const;

export type LayerwiseParams = ParamValues<typeof LAYERWISE_PARAMS>;

/** Checks that the student has the teacher's layers with the same kernel shapes. */
export function assertSameLayers(teacher: Graph, student: Graph, method: string): void {
  for (const id of layerIds(teacher)) {
    const t = nodeById(teacher, id);
    const s = student.nodes.find((n) => n.id === id);
    const shape = (n: GraphNode) =>
      Object.entries(n.weights)
        .map(([k, v]) => `${k}:${v.shape.join('×')}`)
        .join(',');
    if (!s || s.op !== t.op || shape(s) !== shape(t)) {
      throw new InvalidInputError(
        `${method} compresses a copy of the teacher, but student '${student.name}' differs at layer '${id}'`,
        'Use the student "copy" (the default): the method feeds teacher and student hidden layers into each other.',
      );
    }
  }
}

/** Rows [start, start+size) of x, wrapping around its end (the reference's cyclic pseudo-loader). */
function cyclicSlice(x: tf.Tensor, start: number, size: number): tf.Tensor {
  const n = x.shape[0];
  if (size >= n) return x.clone();
  const s = start % n;
  if (s + size <= n) return tf.slice(x, s, size);
  return tf.tidy(() => tf.concat([tf.slice(x, s, n - s), tf.slice(x, 0, size - (n - s))]));
}

/**
 * The input of `layer` in `g` on x: the prefix of the graph up to the node feeding the layer,
 * its BatchNorms on the batch's statistics or on their moving ones.
 */
function captureInput(g: Graph, layer: NodeId, x: tf.Tensor, batchStatistics: boolean): tf.Tensor {
  const src = nodeById(g, layer).inputs[0];
  return tf.tidy(() => {
    const h = forward(g, x, { until: src, batchStatistics }).output;
    return h === x ? h.clone() : h;
  });
}

/** First n indices 0..n-1, capped at the dataset size. */
export const firstIndices = (count: number, n: number) =>
  Int32Array.from({ length: Math.min(count, n) }, (_, i) => i);

export interface LayerViewOptions {
  /** Test images the held-out estimation error is measured on (the first ones). */
  heldOut: number;
  /** Estimation error in the solver's BatchNorm mode: each batch on its own statistics. */
  batchStatistics: boolean;
  /** The K shots are fed in batches of this size (the solver's). */
  batchSize: number;
  stage: ErrorStage;
}

/**
 * The per-layer views every few-shot method streams: the estimation error (hidden representation
 * and pre-activation, held-out and on the K shots) and the sparsity. Returns them as metrics:
 * `estimation-error/<layer>` (hidden, held-out), `estimation-error-train/<layer>` (hidden, shots),
 * with `-fine-tuned` after `estimation-error` for the fine-tuned stage.
 */
export async function* layerViews(
  ctx: RunContext,
  student: Graph,
  plans: LayerPlan[],
  shotsX: tf.Tensor,
  step: number,
  o: LayerViewOptions,
): AsyncGenerator<RunEvent, Record<string, number>> {
  const { batchStatistics, stage } = o;
  const heldOut = await estimationErrors(ctx.teacher, student, ctx.test, {
    indices: firstIndices(ctx.test.count, o.heldOut),
    batchStatistics,
  });
  const shots = await estimationErrorsOn(ctx.teacher, student, shotsX, {
    batchStatistics,
    batchSize: o.batchSize,
  });
  for (const [data, errors] of [
    ['held-out', heldOut],
    ['shots', shots],
  ] as const) {
    for (const [representation, values] of [
      ['hidden', errors.hidden],
      ['pre-activation', errors.preActivation],
    ] as const) {
      const key = estimationErrorKey({ representation, stage, data });
      yield { kind: 'layers', key, step, ...values };
    }
  }
  const sparsity = await layerSparsity(student, plans);
  yield { kind: 'layers', key: 'sparsity', step, ...sparsity };
  const metrics: Record<string, number> = {};
  const prefix = stage === 'fine-tuned' ? 'estimation-error-fine-tuned' : 'estimation-error';
  heldOut.hidden.labels.forEach((id, i) => {
    metrics[`${prefix}/${id}`] = heldOut.hidden.values[i];
    metrics[`${prefix}-train/${id}`] = shots.hidden.values[i];
  });
  sparsity.labels.forEach((id, i) => (metrics[`sparsity/${id}`] = sparsity.values[i]));
  return metrics;
}

/** Test accuracy on the first 1000 test images (the run's final number uses all of them). */
export async function subsetAccuracy(ctx: RunContext, g: Graph): Promise<number> {
  return accuracy(g, ctx.test, { indices: firstIndices(ctx.test.count, 1000) });
}

export interface FineTuneOptions {
  student: Graph;
  x: tf.Tensor;
  y: tf.Tensor1D;
  compressor: Pick<Compressor, 'overrides' | 'gradientMasks' | 'rateFactor' | 'project'>;
  optimizer: tf.Optimizer;
  /** Runs before every step with the step as events number it (live parameters). */
  beforeStep?(step: number): void;
  /** Step size at fine-tuning step i (before the compressor's factor). */
  rate(i: number): number;
  setRate(rate: number): void;
  steps: number;
  batchSize: number;
  weightDecay: number;
  /** BatchNorm on batch statistics, moving statistics re-estimated on `x` at the end. */
  batchStatistics: boolean;
  /** Global step of the first fine-tuning step, and the run's total, for events. */
  stepOffset: number;
  total: number;
  phase: string;
  logEvery: number;
  /** RunContext.stepping: when true, every step is logged. */
  stepping?: () => boolean;
  /** Steps done before (a run resumed from a checkpoint): go on from the next. */
  from?: number;
}

/**
 * Cross-entropy training of the whole student on the K shots (cyclic batches; BatchNorm on batch
 * statistics or frozen, per `batchStatistics`), with the compressor's masks, proximal maps and
 * straight-through quantization.
 */
export async function* fineTuneOnShots(
  o: FineTuneOptions,
): AsyncGenerator<RunEvent, number | undefined> {
  const variables = trainableVariables(o.student);
  let last: number | undefined;
  for (let i = o.from ?? 0; i < o.steps; i++) {
    o.beforeStep?.(o.stepOffset + i + 1);
    const rate = o.rate(i) * o.compressor.rateFactor(i);
    o.setRate(rate);
    const read = (i + 1) % o.logEvery === 0 || i === o.steps - 1 || o.stepping?.() === true;
    const xb = cyclicSlice(o.x, i * o.batchSize, o.batchSize);
    const yb = cyclicSlice(o.y, i * o.batchSize, o.batchSize) as tf.Tensor1D;
    let terms: ReturnType<typeof maskedStep>;
    try {
      terms = maskedStep(
        o.optimizer,
        variables,
        () => {
          const logits = forward(o.student, xb, {
            ...EVAL,
            batchStatistics: o.batchStatistics,
            weightOverrides: o.compressor.overrides(),
          }).output;
          const oneHot = tf.oneHot(tf.cast(yb, 'int32'), logits.shape[1]!);
          return { total: softmaxCrossEntropy(oneHot, logits) as tf.Scalar };
        },
        { masks: o.compressor.gradientMasks(), weightDecay: o.weightDecay, read },
      );
    } finally {
      tf.dispose([xb, yb]);
    }
    await o.compressor.project(i, rate);
    if (terms) {
      const v = (await terms.values.data())[0];
      terms.values.dispose();
      const step = o.stepOffset + i + 1;
      assertFinite(v, 'cross-entropy', step);
      last = v;
      yield { kind: 'scalar', key: 'loss/cross-entropy', step, value: v };
      yield { kind: 'progress', step, total: o.total, phase: o.phase };
    }
  }
  if (o.batchStatistics) recalibrateBatchNorm(o.student, o.x, o.batchSize);
  return last;
}

/**
 * The K-shot set of a run (its images fetched, where the training set comes in parts). Draw it
 * first from the run's Rng, as `kd` does, so both agree.
 */
export async function fewShotSet(ctx: RunContext, g: Graph, shotsPerClass: number) {
  const indices = sampleKShot(ctx.train, shotsPerClass, ctx.rng.int(2 ** 31));
  await ctx.train.ensure?.(indices);
  return { indices, ...toTensors(ctx.train, indices, inputOptions(g, ctx.train)) };
}

/**
 * Physically removes zero channels at the end of a run, yielding its notes; returns the smaller
 * student (or the same one), the channel counts kept, the non-zero parameters and (quantized
 * runs) the bytes at `bits` per kernel weight.
 */
export async function* removeChannelsStage(
  student: Graph,
  plans: LayerPlan[],
  bits: number,
): AsyncGenerator<RunEvent, { graph: Graph; metrics: Record<string, number> }> {
  const report = await removePrunedChannels(student, plans);
  for (const message of report.notes) yield { kind: 'log', level: 'info', message };
  const metrics: Record<string, number> = {};
  for (const [id, keep] of report.kept) metrics[`kept-channels/${id}`] = keep.length;
  const size = await compressedSize(report.graph, plans, bits);
  metrics['nonzero-params'] = size.nonZeroParams;
  if (plans.some((p) => p.mode === 'quantize')) metrics['quantized-bytes'] = size.quantizedBytes;
  return { graph: report.graph, metrics };
}

/**
 * The layer-by-layer method body (layerwise and cross-distillation differ only in `objective`,
 * read at every step: cross distillation's μ, α and β may change mid-run).
 * Budget: `itersPerLayer` PGD iterations for every layer that has something to fit (0 = the run's
 * steps divided among them), then `fineTuneSteps`; `progress` counts both.
 */
export async function* compressLayerByLayer(
  ctx: RunContext,
  p: LayerwiseParams,
  objective: () => LayerObjective,
  method: string,
): AsyncGenerator<RunEvent, MethodResult> {
  const { teacher, student } = ctx;
  assertSameLayers(teacher, student, method);
  const cfg: CompressionConfig = p;
  const plans = planCompression(student, cfg, p.fitLayers);
  const isDense = (id: NodeId) => nodeById(student, id).op === 'dense';
  if (p.fitLayers === 'conv' && plans.every((pl) => isDense(pl.id))) {
    throw new InvalidInputError(
      `${method} with fitLayers 'conv' fits convolutions only, and '${teacher.name}' has none`,
      'Set fitLayers to all to fit and compress its dense layers.',
    );
  }
  // A layer needs fitting once it is compressed or anything before it changed; the layers
  // before the first compressed one see the teacher's own input with the teacher's own weights.
  // With fitLayers 'conv' dense layers are left to the fine-tune, as in the reference code.
  const firstChanged = plans.findIndex((pl) => pl.mode !== 'none');
  const fitted = (firstChanged < 0 ? [] : plans.slice(firstChanged)).filter(
    (pl) => p.fitLayers === 'all' || !isDense(pl.id),
  );
  const iters = p.itersPerLayer || Math.max(1, Math.floor(ctx.steps / Math.max(1, fitted.length)));
  const total = iters * fitted.length + p.fineTuneSteps;
  const logEvery = Math.max(1, Math.floor(iters / 25));
  const shots = await fewShotSet(ctx, student, p.shotsPerClass);
  const n = shots.indices.length;
  const bs = Math.min(p.batchSize, n);
  const batchStatistics = p.batchNorm === 'batch';
  const views = (stage: ErrorStage) => ({
    heldOut: p.heldOutExamples,
    batchStatistics,
    batchSize: bs,
    stage,
  });
  // Each fitted layer's final loss (NaN until fitted): the state a checkpoint keeps.
  const finalLosses = tf.tidy(() => tf.variable(tf.fill([Math.max(1, fitted.length)], NaN), false));
  let lastLoss = NaN;
  const from = ctx.resumeFrom ?? 0;
  let metrics: Record<string, number> = {};
  let step = from;
  yield {
    kind: 'log',
    level: 'info',
    message:
      `${method}: ${n} training images (K = ${p.shotsPerClass} per class), ${fitted.length} ${p.fitLayers === 'conv' ? 'conv ' : ''}layers × ${iters} iterations, ` +
      `compression ${p.compression}${p.compression === 'none' ? '' : ` (${p.compression === 'quantize' ? `${p.bits} bits` : `${p.proximal}`})`}`,
  };
  try {
    if (beginState(ctx, student, { 'layer-losses': finalLosses }, 'fitted layers’ losses')) {
      yield {
        kind: 'log',
        level: 'info',
        message: `Going on from step ${from}: layers fitted before it are kept as they are.`,
      };
    } else {
      // The student before any layer is fitted: the chart's baseline at step 0.
      yield {
        kind: 'scalar',
        key: 'accuracy/test',
        step: 0,
        value: await subsetAccuracy(ctx, student),
      };
    }
    for (const [li, plan] of fitted.entries()) {
      // Iterations of this layer done before a resumed run's checkpoint.
      const done = Math.min(iters, Math.max(0, from - li * iters));
      if (done === iters) continue;
      const tLayer = nodeById(teacher, plan.id);
      const sLayer = nodeById(student, plan.id);
      yield {
        kind: 'log',
        level: 'info',
        message:
          `Layer ${plan.id} (${li + 1}/${fitted.length}): ` +
          (plan.mode !== 'none' && plan.mode !== 'quantize' && p.proximal === 'soft-threshold'
            ? `${plan.mode === 'channels' ? 'group soft-thresholding of its input channels' : 'soft-thresholding of its weights'} (λ = ${p.lambda})`
            : plan.mode === 'channels'
              ? `keep ${plan.targetKeep} of ${plan.groups.channels} input channels`
              : plan.mode === 'weights'
                ? `keep ${plan.targetKeep} of ${plan.groups.spatial * plan.groups.channels * plan.groups.out} weights`
                : plan.mode === 'quantize'
                  ? `quantize to ${p.bits} bits`
                  : 'refit to the compressed layers before it'),
      };
      const compressor = await Compressor.create(student, [plan], cfg, {
        iters,
        resumed: done > 0,
      });
      const solver = new LayerSolver({
        teacherLayer: tLayer,
        studentLayer: sLayer,
        objective: objective(),
        compressor,
        learningRate: () => p.learningRate,
        fitBias: p.fitBias,
        fixedBatch: bs >= n,
      });
      let captured: [tf.Tensor, tf.Tensor] | undefined;
      let lastObjective = NaN;
      try {
        for (let i = done; i < iters; i++) {
          // One fixed batch when the K-shot set fits in one (reference); else cyclic slices,
          // each captured through the compressed-so-far student and the teacher.
          if (!captured || bs < n) {
            if (captured) tf.dispose(captured);
            const xb = cyclicSlice(shots.x, i * bs, bs);
            captured = [
              captureInput(teacher, plan.id, xb, batchStatistics),
              captureInput(student, plan.id, xb, batchStatistics),
            ];
            xb.dispose();
            solver.setBatch(...captured);
          }
          const read = (i + 1) % logEvery === 0 || i === iters - 1 || ctx.stepping();
          ctx.paramsAt(step + 1);
          solver.setObjective(objective());
          const terms = await solver.step(i, read);
          step++;
          if (terms) {
            lastObjective = terms.total;
            yield { kind: 'scalar', key: 'loss', step, value: terms.total };
            const optimised = optimisedTerms(objective());
            for (const name of ['regression', 'correction', 'imitation'] as const) {
              const group = optimised.includes(name) ? 'loss' : 'measured';
              yield { kind: 'scalar', key: `${group}/${name}`, step, value: terms[name] };
            }
            yield { kind: 'progress', step, total, phase: plan.id };
          }
        }
        compressor.finalize();
        if (batchStatistics) recalibrateBatchNorm(student, shots.x, bs);
      } finally {
        if (captured) tf.dispose(captured);
        solver.dispose();
        compressor.dispose();
      }
      const losses = Array.from(finalLosses.dataSync());
      losses[li] = lastObjective;
      tf.tidy(() => finalLosses.assign(tf.tensor1d(losses)));
      yield {
        kind: 'layers',
        key: 'layer-loss',
        step,
        labels: fitted.slice(0, li + 1).map((pl) => pl.id),
        values: losses.slice(0, li + 1),
      };
      metrics = yield* layerViews(ctx, student, plans, shots.x, step, views('fitted'));
      const acc = await subsetAccuracy(ctx, student);
      yield { kind: 'scalar', key: 'accuracy/test', step, value: acc };
      yield {
        kind: 'log',
        level: 'info',
        message: `${plan.id} done: loss ${lastObjective.toExponential(3)}, estimation error ${metrics[`estimation-error/${plan.id}`].toFixed(4)} (held-out) vs ${metrics[`estimation-error-train/${plan.id}`].toFixed(4)} (K-shot), accuracy ${(acc * 100).toFixed(2)}% (first 1000 test images)`,
      };
    }

    const fineTuneFrom = Math.max(0, from - iters * fitted.length);
    if (p.fineTuneSteps > 0 && fineTuneFrom < p.fineTuneSteps) {
      const compressor = await Compressor.create(student, plans, cfg, {
        iters: p.fineTuneSteps,
        frozen: true,
      });
      const optimizer = tf.train.momentum(p.fineTuneRate, 0.9);
      try {
        const ft = p.fineTuneSteps;
        yield* fineTuneOnShots({
          student,
          stepping: ctx.stepping,
          x: shots.x,
          y: shots.y,
          compressor,
          optimizer,
          beforeStep: (s) => ctx.paramsAt(s),
          // MultiStepLR ×0.1 at 50 % and 75 % of the "epochs" (reference channel learner).
          rate: (i) => p.fineTuneRate * (i >= 0.75 * ft ? 0.01 : i >= 0.5 * ft ? 0.1 : 1),
          setRate: (r) => optimizer.setLearningRate(r),
          steps: ft,
          batchSize: bs,
          weightDecay: 5e-4,
          batchStatistics,
          stepOffset: iters * fitted.length,
          from: fineTuneFrom,
          total,
          phase: 'fine-tune',
          logEvery: Math.max(1, Math.floor(ft / 20)),
        });
        compressor.finalize();
      } finally {
        compressor.dispose();
        optimizer.dispose();
      }
      step = iters * fitted.length + p.fineTuneSteps;
      metrics = {
        ...metrics,
        ...(yield* layerViews(ctx, student, plans, shots.x, step, views('fine-tuned'))),
      };
      yield {
        kind: 'scalar',
        key: 'accuracy/test',
        step,
        value: await subsetAccuracy(ctx, student),
      };
    } else if (fitted.length === 0) {
      metrics = yield* layerViews(ctx, student, plans, shots.x, step, views('fitted'));
    }
    if (fitted.length) lastLoss = finalLosses.dataSync()[fitted.length - 1];
    // The fitted layers' losses stay in the checkpoints through the removal of pruned channels:
    // a run stopped there (after its last fitting step) resumes with them.
    const removed = yield* removeChannelsStage(student, plans, p.bits);
    return {
      student: removed.graph,
      metrics: {
        ...metrics,
        ...removed.metrics,
        itersPerLayer: iters,
        shots: n,
        ...(Number.isFinite(lastLoss) && { finalLayerLoss: lastLoss }),
      },
    };
  } finally {
    ctx.training(student);
    tf.dispose([shots.x, shots.y, finalLosses]);
  }
}
