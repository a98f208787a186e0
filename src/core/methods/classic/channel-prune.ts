import * as tf from '@tensorflow/tfjs';
import { keptChannels } from '../../compress';
import {
  channelProducer,
  disposeGraph,
  graphStats,
  layerIds,
  nodeById,
  nonZeroParams,
  pruneChannels,
  recalibrateBatchNorm,
  type Graph,
  type GraphNode,
  type GraphStats,
  type NodeId,
} from '../../graph';
import { graphToLayersJson } from '../../io';
import { inputOptions, timeInference } from '../../metrics';
import { batches, type Dataset } from '../../data';
import type { Rng } from '../../runtime/rng';
import { InvalidInputError } from '../../runtime/errors';
import { LAYER_RATIOS, parseLayerRatios } from '../compression-params';
import type { ParamValues } from '../params';
import { accuracyAtStart, RETRAIN_PARAMS, resumedPast, retrain, wholeRun } from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';

const params = {
  criterion: {
    kind: 'enum',
    default: 'l1',
    options: ['l1', 'l2'],
    label: 'Filter ranking',
    help: 'Norm each filter (a conv’s output channel, a dense layer’s unit) is ranked by: l1, the sum of |w| of Li et al. 2017, or l2.',
  },
  flopsReduction: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 0.95,
    help: 'Fraction of the network’s multiply-accumulates to remove: every prunable layer loses the same share of its filters, found by bisection so the FLOPs fall by this much.',
  },
  layerRatios: LAYER_RATIOS,
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 5e-4 },
  latencyBatch: {
    kind: 'int',
    default: 64,
    min: 1,
    max: 512,
    help: 'Batch size of the inference passes timed for the teacher and the pruned student, reported per image (batch 1 is timed too).',
  },
} as const;

/** Training images the pruned network's BatchNorm statistics are re-estimated on. */
const BATCHNORM_EXAMPLES = 1024;

/** A layer whose filters can go: the layer reading them loses the matching input channels. */
export interface PrunableLayer {
  producer: NodeId;
  consumer: NodeId;
  filters: number;
}

/**
 * Every conv/dense layer that some layer reads through per-channel nodes only (channelProducer):
 * the output layer reads others but is read by none, so its units are never pruned.
 */
function prunableLayers(g: Graph): PrunableLayer[] {
  return layerIds(g).flatMap((consumer) => {
    const producer = channelProducer(g, consumer);
    if (producer === null) return [];
    const node = nodeById(g, producer);
    return [
      {
        producer,
        consumer,
        filters:
          node.op === 'conv2d' ? node.attrs.filters : (node.attrs as { units: number }).units,
      },
    ];
  });
}

/** FLOPs of `g` with each producer narrowed to `kept` filters (shapes only, no weights made). */
function flopsWith(g: Graph, kept: ReadonlyMap<NodeId, number>): number {
  const nodes = g.nodes.map((n) => {
    const k = kept.get(n.id);
    const attrs =
      k === undefined
        ? n.attrs
        : n.op === 'conv2d'
          ? { ...n.attrs, filters: k }
          : { ...n.attrs, units: k };
    return { ...n, attrs, weights: {} } as GraphNode;
  });
  return graphStats({ ...g, nodes }).flops;
}

/**
 * The one share of filters every layer without an override loses, the smallest whose network
 * does at most (1 − reduction) of the FLOPs: a bisection (FLOPs fall as the share grows, in steps
 * of one filter). Throws when even one filter per layer does not get there.
 */
function uniformPruneRatio(
  g: Graph,
  layers: PrunableLayer[],
  overrides: ReadonlyMap<NodeId, number>,
  reduction: number,
): number {
  const budget = (1 - reduction) * graphStats(g).flops;
  const keptAt = (ratio: number) =>
    new Map(
      layers.map((l) => [l.producer, keptChannels(l.filters, overrides.get(l.producer) ?? ratio)]),
    );
  if (flopsWith(g, keptAt(1)) > budget) {
    const most = 1 - flopsWith(g, keptAt(1)) / graphStats(g).flops;
    throw new InvalidInputError(
      `Pruning filters of '${g.name}' can remove at most ${(100 * most).toFixed(1)} % of its FLOPs (one filter left in every prunable layer), not ${(100 * reduction).toFixed(1)} %`,
      'Ask for a smaller flopsReduction, or lower the per-layer ratios that hold layers back.',
    );
  }
  let [lo, hi] = [0, 1];
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (flopsWith(g, keptAt(mid)) <= budget) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Per filter of `producer`, the L1 or L2 norm of its weights (a conv's [kh, kw, C] slice, a unit's column). */
async function filterNorms(
  g: Graph,
  producer: NodeId,
  criterion: 'l1' | 'l2',
): Promise<Float32Array> {
  const norms = tf.tidy(() => {
    const kernel = nodeById(g, producer).weights.kernel;
    const columns = tf.reshape(kernel, [-1, kernel.shape.at(-1)!]);
    return criterion === 'l1' ? tf.sum(tf.abs(columns), 0) : tf.norm(columns, 2, 0);
  });
  const values = (await norms.data()) as Float32Array;
  norms.dispose();
  return values;
}

/** The `keep` highest-norm filters, ascending (what pruneChannels takes). */
function strongest(norms: Float32Array, keep: number): number[] {
  return Array.from(norms.keys())
    .sort((a, b) => norms[b] - norms[a] || a - b)
    .slice(0, keep)
    .sort((a, b) => a - b);
}

/**
 * Median ms per image of an inference pass at `batchSize` (timeInference), of `a` and `b` timed
 * in turn three times, each the fastest of its three medians: other work on the machine only
 * ever slows a pass down, so the minimum is the estimate least disturbed by it, and taking turns
 * exposes both to the same conditions.
 */
async function perImageLatency(a: Graph, b: Graph, batchSize: number): Promise<[number, number]> {
  const best = [Infinity, Infinity];
  for (let round = 0; round < 3; round++) {
    for (const [i, g] of [a, b].entries()) {
      best[i] = Math.min(best[i], (await timeInference(g, { batchSize })).median / batchSize);
    }
  }
  return [best[0], best[1]];
}

/**
 * Re-estimates the BatchNorm statistics of a pruned network on BATCHNORM_EXAMPLES training
 * images: a BatchNorm after a layer that lost input channels kept the wider network's (on
 * BN-VGG/Fashion-MNIST at −50 % FLOPs, 10 % accuracy before, 50 % after).
 */
export function recalibrateAfterPruning(g: Graph, data: Dataset, rng: Rng): void {
  if (!g.nodes.some((n) => n.op === 'batchNorm')) return;
  const batch = batches(data, {
    ...inputOptions(g, data),
    batchSize: BATCHNORM_EXAMPLES,
    rng,
  }).next().value!;
  recalibrateBatchNorm(g, batch.x, 256);
  tf.dispose([batch.x, batch.y]);
}

export interface FilterPruning {
  /** A new, smaller network (the input graph is left as it was). */
  graph: Graph;
  layers: PrunableLayer[];
  /** Per layer, the filters kept (ascending indices into the original's). */
  kept: number[][];
  /** The share of filters removed from every layer without an override. */
  ratio: number;
}

/**
 * Li et al.'s filter pruning, all layers ranked on the original weights ("independent"
 * pruning): each prunable layer keeps its highest-norm filters, a share fixed by `layerRatios`
 * or else the uniform one that removes `flopsReduction` of the FLOPs; the filters, their biases
 * and BatchNorm entries, and the next layer's matching input channels leave the network.
 */
export async function pruneFilters(
  g: Graph,
  opts: {
    criterion: 'l1' | 'l2';
    flopsReduction: number;
    layerRatios?: ReadonlyMap<NodeId, number>;
  },
): Promise<FilterPruning> {
  const layers = prunableLayers(g);
  if (layers.length === 0) {
    throw new InvalidInputError(
      `'${g.name}' has no layer whose filters can be removed`,
      'Channel pruning needs a conv or dense layer read by another one through per-channel nodes only (no residual add or branch).',
    );
  }
  const overrides = opts.layerRatios ?? new Map<NodeId, number>();
  const ratio = uniformPruneRatio(g, layers, overrides, opts.flopsReduction);
  const kept: number[][] = [];
  for (const l of layers) {
    const norms = await filterNorms(g, l.producer, opts.criterion);
    kept.push(strongest(norms, keptChannels(l.filters, overrides.get(l.producer) ?? ratio)));
  }
  let graph = g;
  try {
    layers.forEach((l, i) => {
      const next = pruneChannels(graph, l.consumer, kept[i]);
      if (graph !== g) disposeGraph(graph);
      graph = next;
    });
  } catch (e) {
    if (graph !== g) disposeGraph(graph);
    throw e;
  }
  return { graph, layers, kept, ratio };
}

export const channelPrune: MethodSpec<typeof params> = {
  id: 'channel-prune',
  title: 'Channel pruning (filter norms)',
  paper: 'Li, Kadav, Durdanovic, Samet & Graf 2017, arXiv:1608.08710',
  summary:
    'Remove each layer’s lowest-norm filters from the network, with the next layer’s matching inputs and BatchNorm entries, until the FLOPs fall by the target; re-estimate BatchNorm statistics, then retrain. The student is really smaller and faster.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1500,
  params,
  // The checkpoint's student is the pruned network: a resumed run goes on fine-tuning it.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { teacher } = ctx;
    const pruning = resumedPast(ctx, 0) ? undefined : yield* thinStudent(ctx, p);
    // A fresh pruned network is this run's until it is returned: a stop (a return at a yield)
    // or an error disposes it. A resumed run's is the runner's.
    const pruned = pruning?.graph ?? ctx.student;
    let returned = false;
    try {
      const last = yield* retrain({
        ctx,
        student: pruned,
        ...wholeRun(ctx, 'fine-tune'),
        learningRate: () => p.learningRate,
        batchSize: p.batchSize,
        phase: 'retrain',
        stepOffset: 0,
        total: ctx.steps,
        evalEvery: p.evalEvery,
      });
      yield { kind: 'progress', step: ctx.steps, total: ctx.steps, phase: 'latency' };
      const [teacherMs, studentMs] = await perImageLatency(teacher, pruned, p.latencyBatch);
      const [teacherOneMs, studentOneMs] = await perImageLatency(teacher, pruned, 1);
      const after = graphStats(pruned);
      const nonZero = await nonZeroParams(pruned);
      const { weightData } = await graphToLayersJson(pruned);
      returned = true;
      return {
        student: pruned,
        metrics: {
          ...(pruning && {
            'prune-ratio': pruning.ratio,
            'accuracy/before-retrain': pruning.beforeRetrain,
            'params/before': pruning.before.params,
            'flops/before': pruning.before.flops,
            'flops-reduction': 1 - after.flops / pruning.before.flops,
          }),
          'params/after': after.params,
          'flops/after': after.flops,
          'nonzero-params': nonZero,
          // The exported weight shard of the pruned network (float32, nothing left to mask).
          'encoded-bytes': weightData.byteLength,
          'latency-ms/teacher': teacherMs,
          'latency-ms/student': studentMs,
          speedup: teacherMs / studentMs,
          'latency-ms/teacher-batch1': teacherOneMs,
          'latency-ms/student-batch1': studentOneMs,
          'speedup-batch1': teacherOneMs / studentOneMs,
          ...(last.testAccuracy !== undefined && { 'accuracy/after-retrain': last.testAccuracy }),
        },
      };
    } finally {
      if (!returned && pruning) disposeGraph(pruned);
    }
  },
};

/**
 * The student's filters removed (a new, narrower network, named to the run as what it trains),
 * its BatchNorm statistics re-estimated; its accuracy then, unretrained.
 */
async function* thinStudent(
  ctx: RunContext,
  p: ParamValues<typeof params>,
): AsyncGenerator<
  RunEvent,
  { graph: Graph; ratio: number; before: GraphStats; beforeRetrain: number }
> {
  const { student } = ctx;
  // `layerRatios` is a 'text' parameter: its value is the string typed.
  const layerRatios = parseLayerRatios(
    p.layerRatios,
    prunableLayers(student).map((l) => l.producer),
  );
  const before = graphStats(student);
  yield* accuracyAtStart(ctx);
  const {
    graph: pruned,
    layers,
    kept,
    ratio,
  } = await pruneFilters(student, {
    criterion: p.criterion,
    flopsReduction: p.flopsReduction,
    layerRatios,
  });
  let made = false;
  try {
    const after = graphStats(pruned);
    ctx.training(pruned);
    yield {
      kind: 'log',
      level: 'info',
      message: `Removed ${(100 * ratio).toFixed(1)} % of the filters of every layer without an override: FLOPs ${before.flops} → ${after.flops} (−${(100 * (1 - after.flops / before.flops)).toFixed(1)} %), params ${before.params} → ${after.params}`,
    };
    yield {
      kind: 'layers',
      key: 'kept-filters',
      step: 0,
      labels: layers.map((l) => l.producer),
      values: layers.map((l, i) => kept[i].length / l.filters),
    };
    yield {
      kind: 'table',
      key: 'channel-prune',
      columns: ['layer', 'filters before', 'filters after', 'FLOPs before', 'FLOPs after'],
      rows: before.nodes
        .filter((n) => n.flops > 0)
        .map((n) => {
          const filters = n.outputShape.at(-1)!;
          const i = layers.findIndex((l) => l.producer === n.id);
          const flopsAfter = after.nodes.find((m) => m.id === n.id)!.flops;
          return [n.id, filters, i < 0 ? filters : kept[i].length, n.flops, flopsAfter];
        }),
    };
    recalibrateAfterPruning(pruned, ctx.train, ctx.rng.fork('batchnorm'));
    const beforeRetrain = yield* accuracyAtStart(ctx, pruned);
    made = true;
    return { graph: pruned, ratio, before, beforeRetrain };
  } finally {
    // A stop at one of the yields above (a return) or an error: the network is nobody's.
    if (!made) disposeGraph(pruned);
  }
}
