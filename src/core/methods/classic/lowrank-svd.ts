import * as tf from '@tensorflow/tfjs';
import { rankForEnergy, svd, type Svd } from '../../compress/svd';
import { graphStats, layerIds, type Graph, type GraphNode, type GraphNodeOf } from '../../graph';
import { modelSize } from '../../io';
import { accuracy } from '../../metrics';
import { InvalidInputError } from '../../runtime/errors';
import { LAYER_RATIOS, parseLayerRatios } from '../compression-params';
import type { ParamValues } from '../params';
import { accuracyAtStart, RETRAIN_PARAMS, resumedPast, retrain, wholeRun } from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';

export type Factorisable = GraphNodeOf<'dense'> | GraphNodeOf<'conv2d'>;

/**
 * A layer's weight as the matrix the factorisation splits (METHODS.md §7.5).
 * Dense kernel [n, m]: the n×m matrix itself (x·W ≈ (x·U_kΣ½)(Σ½V_kᵀ)).
 * Conv kernel [kh, kw, C, N] (NHWC): Tai et al.'s (C·kh) × (N·kw) matrix, rows (c, y), columns
 * (n, x), so that W[y, x, c, n] = Σ_k u_k[c, y]·σ_k·v_k[n, x]: a vertical kh×1 filter bank from
 * U_kΣ½ and a horizontal 1×kw one from Σ½V_kᵀ.
 */
export interface LayerMatrix {
  node: Factorisable;
  rows: number;
  cols: number;
  svd: Svd;
}

export async function layerMatrix(node: Factorisable): Promise<LayerMatrix> {
  const w = (await node.weights.kernel.data()) as Float32Array;
  if (node.op === 'dense') {
    const [n, m] = node.weights.kernel.shape;
    return { node, rows: n, cols: m, svd: svd(w, n, m) };
  }
  const [kh, kw, c, n] = node.weights.kernel.shape;
  const rows = c * kh;
  const cols = n * kw;
  const a = new Float64Array(rows * cols);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ci = 0; ci < c; ci++)
        for (let ni = 0; ni < n; ni++)
          a[(ci * kh + y) * cols + ni * kw + x] = w[((y * kw + x) * c + ci) * n + ni];
  return { node, rows, cols, svd: svd(a, rows, cols) };
}

/** A variable holding `t`, which it takes over (tf.variable would leave `t` to dispose). */
export function weightOf(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** Weights of the factorised pair at rank k: count k·(rows + cols) against rows·cols. */
export function factorisedParams(l: LayerMatrix, rank: number): number {
  return rank * (l.rows + l.cols);
}

/**
 * The two nodes replacing the layer at rank k: dense n→k (no bias) then k→m (the bias); conv
 * kh×1 (C→k, strides [sh, 1]) then 1×kw (k→N, strides [1, sw], the bias), both with the
 * layer's padding — 'same' pads each axis as the d×d conv did, 'valid' trims the same rows
 * and columns. The second keeps the layer's id, so whatever read the layer reads it still.
 */
export function factorNodes(l: LayerMatrix, rank: number): [GraphNode, GraphNode] {
  const { node, svd: d } = l;
  const root = Float64Array.from(d.s.subarray(0, rank), Math.sqrt);
  // first[i, j] = U[i, j]·√σ_j (rows × k); second[j, i] = √σ_j·V[i, j] (k × cols).
  const first = new Float32Array(l.rows * rank);
  const second = new Float32Array(rank * l.cols);
  for (let i = 0; i < l.rows; i++)
    for (let j = 0; j < rank; j++) first[i * rank + j] = d.u[i * d.k + j] * root[j];
  for (let j = 0; j < rank; j++)
    for (let i = 0; i < l.cols; i++) second[j * l.cols + i] = root[j] * d.v[i * d.k + j];
  const bias = (): Record<string, tf.Variable> =>
    node.weights.bias ? { bias: tf.variable(node.weights.bias) } : {};
  if (node.op === 'dense') {
    return [
      {
        id: `${node.id}_u`,
        op: 'dense',
        inputs: [...node.inputs],
        attrs: { units: rank, useBias: false },
        weights: { kernel: weightOf(tf.tensor2d(first, [l.rows, rank])) },
      },
      {
        id: node.id,
        op: 'dense',
        inputs: [`${node.id}_u`],
        attrs: { units: l.cols, useBias: node.attrs.useBias },
        weights: { kernel: weightOf(tf.tensor2d(second, [rank, l.cols])), ...bias() },
      },
    ];
  }
  const a = node.attrs;
  const [kh, kw, c, n] = node.weights.kernel.shape;
  // Vertical [kh, 1, C, k] from rows (c, y); horizontal [1, kw, k, N] from columns (n, x).
  const vertical = new Float32Array(kh * c * rank);
  for (let y = 0; y < kh; y++)
    for (let ci = 0; ci < c; ci++)
      for (let j = 0; j < rank; j++)
        vertical[(y * c + ci) * rank + j] = first[(ci * kh + y) * rank + j];
  const horizontal = new Float32Array(kw * rank * n);
  for (let x = 0; x < kw; x++)
    for (let j = 0; j < rank; j++)
      for (let ni = 0; ni < n; ni++)
        horizontal[(x * rank + j) * n + ni] = second[j * l.cols + ni * kw + x];
  return [
    {
      id: `${node.id}_v`,
      op: 'conv2d',
      inputs: [...node.inputs],
      attrs: {
        filters: rank,
        kernelSize: [kh, 1],
        strides: [a.strides[0], 1],
        padding: a.padding,
        dilations: [a.dilations[0], 1],
        useBias: false,
      },
      weights: { kernel: weightOf(tf.tensor4d(vertical, [kh, 1, c, rank])) },
    },
    {
      id: node.id,
      op: 'conv2d',
      inputs: [`${node.id}_v`],
      attrs: {
        filters: n,
        kernelSize: [1, kw],
        strides: [1, a.strides[1]],
        padding: a.padding,
        dilations: [1, a.dilations[1]],
        useBias: a.useBias,
      },
      weights: { kernel: weightOf(tf.tensor4d(horizontal, [1, kw, rank, n])), ...bias() },
    },
  ];
}

/** `g` with node `id` replaced by `nodes` (a new node list; the other nodes are shared). */
export function withReplaced(g: Graph, id: string, nodes: GraphNode[]): Graph {
  return { ...g, nodes: g.nodes.flatMap((n) => (n.id === id ? nodes : [n])) };
}

export function disposeNodes(nodes: GraphNode[]): void {
  for (const n of nodes) for (const v of Object.values(n.weights)) v.dispose();
}

/** Replaces node `id` of `g` in place by `nodes`, disposing its weights. */
export function replaceInPlace(g: Graph, id: string, nodes: GraphNode[]): void {
  const i = g.nodes.findIndex((n) => n.id === id);
  disposeNodes(g.nodes.splice(i, 1, ...nodes));
}

/** About `count` ranks from 1 to `full`, geometrically spaced, with `extra` among them. */
export function sweepRanks(full: number, count: number, extra: number[] = []): number[] {
  const ranks = new Set(extra.filter((r) => r >= 1 && r <= full));
  for (let i = 0; i < count; i++) ranks.add(Math.round(full ** (i / Math.max(count - 1, 1))));
  return [...ranks].sort((a, b) => a - b);
}

const params = {
  rankBy: {
    kind: 'enum',
    default: 'energy',
    options: ['energy', 'ratio'],
    label: 'Rank by',
    help: 'energy: the smallest rank keeping the given fraction of Σσ²; ratio: a fixed fraction of each layer’s full rank.',
  },
  energy: {
    kind: 'number',
    default: 0.9,
    min: 0.01,
    max: 1,
    help: 'Retained energy Σ_{i≤k} σ_i² / Σ σ_i² that picks each layer’s rank k (rankBy = energy).',
  },
  rankRatio: {
    kind: 'number',
    default: 0.25,
    min: 0,
    max: 1,
    help: 'Rank as a fraction of the layer’s full rank min(rows, cols), at least 1 (rankBy = ratio).',
  },
  layerRatios: {
    ...LAYER_RATIOS,
    help: 'Per-layer rank ratios (fraction of the full rank) as layer=ratio pairs; they override rankBy for the layers named.',
  },
  layers: {
    kind: 'enum',
    default: 'all',
    options: ['all', 'dense', 'conv'],
    help: 'Which layers to factorise: dense layers by truncated SVD, conv layers into vertical + horizontal convolutions (Tai et al.).',
  },
  fineTune: {
    kind: 'enum',
    default: 'labels',
    options: ['labels', 'distill'],
    label: 'Fine-tune on',
    help: 'How the run’s steps fine-tune the factorised network: cross-entropy on the labels, or Hinton KD from the teacher (T = 4, α = 0.9).',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 1e-4 },
  sweepExamples: {
    kind: 'int',
    default: 500,
    min: 100,
    max: 10000,
    help: 'Test images the rank sweep measures each rank’s accuracy on (no fine-tuning).',
  },
  sweepRanks: {
    kind: 'int',
    default: 6,
    min: 2,
    max: 20,
    help: 'Ranks per layer in the rank sweep (geometrically spaced from 1 to full rank, plus the chosen one).',
  },
} as const;

type Params = ParamValues<typeof params>;

function chosenRank(l: LayerMatrix, p: Params, ratios: Map<string, number>): number {
  const full = l.svd.k;
  const ratio = ratios.get(l.node.id) ?? (p.rankBy === 'ratio' ? p.rankRatio : undefined);
  if (ratio !== undefined) return Math.min(full, Math.max(1, Math.round(ratio * full)));
  return rankForEnergy(l.svd.s, p.energy);
}

const firstIndices = (count: number, n: number) =>
  Int32Array.from({ length: Math.min(count, n) }, (_, i) => i);

/**
 * What the compressed network costs (modelSize): params, FLOPs, the weights that are not zero,
 * and the real byte length of its exported TF.js weight file as its encoding.
 */
export async function sizeMetrics(g: Graph): Promise<Record<string, number>> {
  const size = await modelSize(g);
  return {
    params: size.params,
    flops: size.flops,
    'nonzero-params': size.nonZeroParams,
    'encoded-bytes': size.exportBytes,
  };
}

/**
 * For each layer alone (the rest as in `g`), a handful of ranks: the factorised pair's params
 * and FLOPs, and the network's test-subset accuracy without fine-tuning.
 */
async function* rankSweep(
  ctx: RunContext,
  g: Graph,
  layers: LayerMatrix[],
  chosen: Map<string, number>,
  p: Params,
): AsyncGenerator<RunEvent, void> {
  const indices = firstIndices(ctx.test.count, p.sweepExamples);
  const rows: (string | number)[][] = [];
  const series: { name: string; x: number[]; y: number[] }[] = [];
  for (const l of layers) {
    const s = { name: l.node.id, x: [] as number[], y: [] as number[] };
    for (const rank of sweepRanks(l.svd.k, p.sweepRanks, [chosen.get(l.node.id)!])) {
      const pair = factorNodes(l, rank);
      try {
        const trial = withReplaced(g, l.node.id, pair);
        const stats = graphStats(trial).nodes.filter((n) => pair.some((q) => q.id === n.id));
        const acc = await accuracy(trial, ctx.test, { indices });
        rows.push([
          l.node.id,
          rank,
          stats.reduce((sum, n) => sum + n.params, 0),
          stats.reduce((sum, n) => sum + n.flops, 0),
          acc,
        ]);
        s.x.push(rank);
        s.y.push(acc);
      } finally {
        disposeNodes(pair);
      }
    }
    series.push(s);
    yield {
      kind: 'log',
      level: 'info',
      message: `rank sweep of ${l.node.id}: ranks ${s.x.join(', ')}`,
    };
  }
  yield {
    kind: 'table',
    key: 'rank-sweep',
    columns: ['layer', 'rank', 'params', 'FLOPs', 'accuracy'],
    rows,
  };
  yield {
    kind: 'curve',
    key: 'rank-accuracy',
    step: 0,
    xLabel: 'rank',
    yLabel: 'test accuracy (%, no fine-tuning)',
    series,
  };
}

/**
 * Low-rank factorisation (METHODS.md §7.5): dense layers by truncated SVD into two dense
 * layers (Denton et al. 2014, Xue et al. 2013), conv layers into a vertical and a horizontal
 * convolution by Tai et al.'s closed form of Jaderberg et al.'s scheme 2; then optionally
 * fine-tuned for the run's steps.
 */
export const lowrankSvd: MethodSpec<typeof params> = {
  id: 'lowrank-svd',
  title: 'Low-rank factorisation (SVD)',
  paper:
    'Denton et al. 2014, arXiv:1404.0736; Jaderberg, Vedaldi & Zisserman 2014, arXiv:1405.3866; Tai et al. 2016, arXiv:1511.06067',
  summary:
    'Split each layer into two thinner ones from its truncated SVD (conv: d×1 then 1×d), chart the singular values and accuracy against rank, fine-tune.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 500,
  params,
  // The checkpoint's student is the factorised one: a resumed run goes on fine-tuning it.
  resume: { resumable: true },
  async *run(ctx, p: Params) {
    const { student } = ctx;
    const made = resumedPast(ctx, 0) ? undefined : yield* factorise(ctx, p);
    if (ctx.steps > 0) {
      yield* retrain({
        ctx,
        student,
        ...wholeRun(ctx, 'fine-tune'),
        learningRate: () => p.learningRate,
        batchSize: p.batchSize,
        distill:
          p.fineTune === 'distill'
            ? { teacher: ctx.teacher, temperature: 4, alpha: 0.9 }
            : undefined,
        phase: 'fine-tune',
        stepOffset: 0,
        total: ctx.steps,
        evalEvery: p.evalEvery,
      });
    }
    return {
      student,
      metrics: {
        ...(made && {
          'accuracy/before-retrain': made.beforeRetrain,
          'factorised-layers': made.factorised,
        }),
        ...(await sizeMetrics(student)),
      },
    };
  },
};

/**
 * Each chosen layer of the student replaced in place by its rank-k factor pair (the spectra and
 * the rank sweep charted first); the accuracy then, unretrained.
 */
async function* factorise(
  ctx: RunContext,
  p: Params,
): AsyncGenerator<RunEvent, { beforeRetrain: number; factorised: number }> {
  const { student } = ctx;
  yield* accuracyAtStart(ctx);
  const ratios = parseLayerRatios(p.layerRatios, layerIds(student));
  const candidates = student.nodes.filter(
    (n): n is Factorisable =>
      (n.op === 'dense' && p.layers !== 'conv') || (n.op === 'conv2d' && p.layers !== 'dense'),
  );
  if (candidates.length === 0) {
    throw new InvalidInputError(
      `The model has no ${p.layers === 'all' ? 'dense or conv' : p.layers} layers to factorise`,
      "Set layers to 'all'.",
    );
  }
  const layers: LayerMatrix[] = [];
  for (const node of candidates) layers.push(await layerMatrix(node));
  yield {
    kind: 'curve',
    key: 'singular-values',
    step: 0,
    xLabel: 'index',
    yLabel: 'σ_i / σ_1',
    series: layers.map((l) => ({
      name: l.node.id,
      x: Array.from(l.svd.s, (_, i) => i + 1),
      y: Array.from(l.svd.s, (s) => (l.svd.s[0] > 0 ? s / l.svd.s[0] : 0)),
    })),
  };
  const chosen = new Map(layers.map((l) => [l.node.id, chosenRank(l, p, ratios)]));
  const factorised = layers.filter(
    (l) => factorisedParams(l, chosen.get(l.node.id)!) < l.rows * l.cols,
  );
  const skipped = layers.filter((l) => !factorised.includes(l));
  if (skipped.length > 0) {
    yield {
      kind: 'log',
      level: 'info',
      message: `not factorised (rank k·(rows + cols) ≥ rows·cols saves nothing): ${skipped.map((l) => `${l.node.id} (k = ${chosen.get(l.node.id)} of ${l.svd.k})`).join(', ')}`,
    };
  }
  yield* rankSweep(ctx, student, factorised, chosen, p);
  for (const l of factorised)
    replaceInPlace(student, l.node.id, factorNodes(l, chosen.get(l.node.id)!));
  yield {
    kind: 'layers',
    key: 'rank',
    step: 0,
    labels: factorised.map((l) => l.node.id),
    values: factorised.map((l) => chosen.get(l.node.id)!),
  };
  return { beforeRetrain: yield* accuracyAtStart(ctx), factorised: factorised.length };
}
