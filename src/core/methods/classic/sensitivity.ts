import * as tf from '@tensorflow/tfjs';
import { quantizeSymmetric, topKMask } from '../../compress';
import { layerIds, nodeById, type NodeId } from '../../graph';
import { beginState } from '../method-state';
import type { ParamValues } from '../params';
import { curveAccuracy } from '../retrain';
import type { MethodResult, MethodSpec, RunContext, RunEvent } from '../types';

const params = {
  mode: {
    kind: 'enum',
    default: 'prune',
    options: ['prune', 'quantize'],
    help: 'prune: delete the smallest-magnitude 10 %, 20 %, … 90 % of one layer’s weights; quantize: round one layer’s weights to 8, 7, … 2 bits (symmetric uniform grid).',
  },
  maxDrop: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 100,
    help: 'Accuracy loss (percentage points) a layer may cost: its suggested ratio is the largest one that, with every smaller one, stays within it.',
  },
} as const;

const RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const BITS = [8, 7, 6, 5, 4, 3, 2];

/** Layer `w` pruned to its largest-magnitude (1 − ratio) share, or rounded to `bits`. */
async function damaged(w: tf.Tensor, mode: 'prune' | 'quantize', x: number): Promise<tf.Tensor> {
  if (mode === 'quantize') return quantizeSymmetric(w, x);
  const magnitudes = tf.abs(w);
  const scores = await magnitudes.data();
  magnitudes.dispose();
  const mask = topKMask(scores, w.size - Math.round(w.size * x));
  return tf.tidy(() => tf.mul(w, tf.tensor(mask, w.shape)));
}

/**
 * The longest run of grid points from the mildest on whose accuracy stays within `maxDrop`
 * points of `base`: the last of them, or undefined when even the mildest costs more.
 */
function safest(grid: number[], acc: number[], base: number, maxDrop: number): number | undefined {
  const bad = acc.findIndex((a) => 100 * (base - a) > maxDrop);
  const last = bad < 0 ? grid.length - 1 : bad - 1;
  return last < 0 ? undefined : grid[last];
}

export const sensitivity: MethodSpec<typeof params> = {
  id: 'sensitivity',
  title: 'Sensitivity analysis (per layer)',
  paper: 'Han, Pool, Tran & Dally 2015, arXiv:1506.02626',
  summary:
    'Prune (or quantize) one layer at a time at a range of ratios, without retraining, and chart test accuracy per layer: which layers can lose most. Suggests per-layer ratios for magnitude pruning. The model is returned unchanged; each (layer, ratio) evaluation is a step.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  // LeNet-5: 5 layers × 9 ratios. The scan's size is set by the model, not the budget.
  defaultSteps: 45,
  params,
  // The checkpoint keeps the measurements made (the model itself is never changed).
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const grid = p.mode === 'prune' ? RATIOS : BITS;
    const layers = layerIds(student);
    const total = layers.length * grid.length;
    // The undamaged accuracy, then each (layer, x) accuracy; NaN until measured.
    const scan = tf.tidy(() => tf.variable(tf.fill([1 + total], NaN), false));
    const measured = Array.from(scan.dataSync());
    const record = (i: number, value: number) => {
      measured[i] = value;
      tf.tidy(() => scan.assign(tf.tensor1d(measured)));
    };
    try {
      if (beginState(ctx, student, { scan }, 'scan measurements')) {
        measured.splice(0, measured.length, ...scan.dataSync());
      } else {
        record(0, await curveAccuracy(ctx, student));
        yield { kind: 'scalar', key: 'accuracy/test', step: 0, value: measured[0] };
      }
      return yield* scanLayers(ctx, p, grid, layers, measured, record);
    } finally {
      scan.dispose();
      ctx.training(student);
    }
  },
};

/** Measures what `measured` lacks, layer by layer; charts, tabulates and suggests per layer. */
async function* scanLayers(
  ctx: RunContext,
  p: ParamValues<typeof params>,
  grid: number[],
  layers: NodeId[],
  measured: number[],
  record: (i: number, value: number) => void,
): AsyncGenerator<RunEvent, MethodResult> {
  const { student } = ctx;
  const total = layers.length * grid.length;
  const base = measured[0];
  const curves: { name: string; x: number[]; y: number[] }[] = [];
  const suggested: (number | undefined)[] = [];
  for (const [li, id] of layers.entries()) {
    const node = nodeById(student, id);
    const weight =
      node.op === 'depthwiseConv2d' ? node.weights.depthwiseKernel : node.weights.kernel;
    const original = tf.clone(weight);
    const acc: number[] = [];
    let scanned = false;
    try {
      for (const [j, x] of grid.entries()) {
        const i = 1 + li * grid.length + j;
        // Measured before a resumed run's checkpoint.
        if (Number.isFinite(measured[i])) {
          acc.push(measured[i]);
          continue;
        }
        const w = await damaged(original, p.mode, x);
        weight.assign(w);
        w.dispose();
        record(i, await curveAccuracy(ctx, student));
        acc.push(measured[i]);
        scanned = true;
        yield { kind: 'progress', step: i, total, phase: `scan ${id}` };
      }
    } finally {
      weight.assign(original);
      original.dispose();
    }
    suggested.push(safest(grid, acc, base, p.maxDrop));
    curves.push(
      p.mode === 'prune'
        ? { name: id, x: [0, ...grid], y: [base, ...acc] }
        : { name: id, x: grid, y: acc },
    );
    const step = (li + 1) * grid.length;
    if (!scanned) continue;
    // The model is whole again: a checkpoint here keeps the layers scanned so far.
    yield { kind: 'checkpoint', step, metrics: { 'layers-scanned': li + 1 } };
    yield {
      kind: 'curve',
      // The page hands a pruning scan's ratios to magnitude pruning; a bit-width scan has none.
      key: p.mode === 'prune' ? 'sensitivity' : 'sensitivity/bits',
      step,
      xLabel:
        p.mode === 'prune'
          ? 'fraction of the layer’s weights removed'
          : 'bits per weight of the layer',
      yLabel: 'test accuracy (%)',
      series: [...curves],
    };
  }
  const label = p.mode === 'prune' ? 'suggested ratio' : 'suggested bits';
  yield {
    kind: 'table',
    key: 'sensitivity',
    columns: [
      'layer',
      ...grid.map((x) => (p.mode === 'prune' ? `${x * 100} % removed` : `${x} bits`)),
      label,
    ],
    rows: layers.map((id, i) => [
      id,
      ...curves[i].y.slice(p.mode === 'prune' ? 1 : 0).map((a) => +(100 * a).toFixed(2)),
      suggested[i] ?? (p.mode === 'prune' ? 0 : 'none'),
    ]),
  };
  const pairs = layers.flatMap((id, i) =>
    p.mode === 'prune'
      ? [`${id}=${suggested[i] ?? 0}`]
      : suggested[i] === undefined
        ? []
        : [`${id}=${suggested[i]}`],
  );
  yield {
    kind: 'log',
    level: 'info',
    message:
      p.mode === 'prune'
        ? `Suggested layerRatios (largest ratio within ${p.maxDrop} points of ${(100 * base).toFixed(2)} %): ${pairs.join(',')}`
        : `Fewest bits per layer within ${p.maxDrop} points of ${(100 * base).toFixed(2)} %: ${pairs.join(',') || 'none'}`,
  };
  const metrics: Record<string, number> = { 'accuracy/base': base };
  layers.forEach((id, i) => {
    if (p.mode === 'prune') metrics[`suggested-ratio/${id}`] = suggested[i] ?? 0;
    else if (suggested[i] !== undefined) metrics[`suggested-bits/${id}`] = suggested[i]!;
    grid.forEach((x, j) => {
      metrics[`sensitivity/${id}/${x}`] = curves[i].y[p.mode === 'prune' ? j + 1 : j];
    });
  });
  return { student, metrics };
}
