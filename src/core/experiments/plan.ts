// Planning and summarising sweeps: plain TypeScript without TensorFlow.js, so the page can
// expand a sweep into runs and tabulate their results itself.
import { InvalidInputError } from '../runtime/errors';
import type { RunResult } from '../methods/runner';
import type { ParamSchema } from '../methods/params';
import {
  ERROR_REPRESENTATION_LABEL,
  ERROR_STAGE_LABEL,
  estimationErrorKey,
  PAPER_ERROR_VIEW,
  type ErrorView,
} from '../metrics/error-keys';

/** What planning needs of a method: its id and parameter names (a MethodSpec or the catalog's). */
export interface MethodParams {
  id: string;
  params: ParamSchema;
}

/**
 * One declarative experiment: methods × K × seeds (× a grid over parameters such as μ), run
 * from one file, like Distiller's/torchdistill's experiment files. The same config runs in the
 * page and with `npx clab sweep`.
 */
export interface SweepConfig {
  name?: string;
  teacher: string;
  dataset: 'mnist' | 'fashion';
  student?: string;
  methods: string[];
  /**
   * K labelled examples per class, passed as each method's `shotsPerClass`; needed only by
   * few-shot methods (the data-free ones have no K: their cells carry K = 0, shown as –).
   */
  shotsPerClass?: number[];
  seeds: number[];
  /** Parameters for every method that has them (e.g. compression, targetSparsity). */
  params?: Record<string, unknown>;
  /** Per-method overrides. */
  methodParams?: Record<string, Record<string, unknown>>;
  /** Values to sweep for a parameter, for the methods that have it (e.g. { "mu": [0, 0.5, 1] }). */
  grid?: Record<string, unknown[]>;
  steps?: number;
  testExamples?: number;
  /**
   * Labelled images uploaded in the page (an image set's id in that browser) as every run's
   * few-shot data instead of the dataset's training images, and whether they are also the test
   * set. Page only: `clab sweep` refuses it.
   */
  shots?: string;
  shotsAsTest?: boolean;
}

export interface SweepCell {
  method: string;
  shotsPerClass: number;
  seed: number;
  /** The grid values of this cell (empty when the method has none of the grid's params). */
  grid: Record<string, unknown>;
  params: Record<string, unknown>;
}

export interface LayerValues {
  labels: string[];
  values: number[];
}

export interface SweepRun {
  cell: SweepCell;
  result: RunResult;
  /** The last per-layer estimation error of each view the method reported, by event key. */
  estimationErrors?: Record<string, LayerValues>;
}

/** A run's estimation error in one view (`estimation-error/hidden/held-out`, …), if reported. */
export const runErrors = (run: SweepRun, view: ErrorView): LayerValues | undefined =>
  run.estimationErrors?.[estimationErrorKey(view)];

function product(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(grid).reduce<Record<string, unknown>[]>(
    (combos, [key, values]) => combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))),
    [{}],
  );
}

/** Every run of the sweep, in a stable order (method, K, grid, seed). */
export function expandSweep(config: SweepConfig, methods: readonly MethodParams[]): SweepCell[] {
  const problems: string[] = [];
  if (!config.methods?.length) problems.push('methods is empty');
  if (!config.seeds?.length) problems.push('seeds is empty');
  const cells: SweepCell[] = [];
  for (const id of config.methods ?? []) {
    const spec = methods.find((m) => m.id === id);
    if (!spec) {
      problems.push(`unknown method '${id}'`);
      continue;
    }
    const fewShot = 'shotsPerClass' in spec.params;
    if (fewShot && !config.shotsPerClass?.length)
      problems.push(`shotsPerClass is empty (method '${id}' needs it)`);
    const own = (params: Record<string, unknown> = {}) =>
      Object.fromEntries(Object.entries(params).filter(([k]) => k in spec.params));
    const grid = Object.fromEntries(
      Object.entries(config.grid ?? {}).filter(([k]) => k in spec.params),
    );
    for (const k of fewShot ? (config.shotsPerClass ?? []) : [0]) {
      for (const combo of product(grid)) {
        for (const seed of config.seeds ?? []) {
          cells.push({
            method: id,
            shotsPerClass: k,
            seed,
            grid: combo,
            params: {
              ...own(config.params),
              ...(config.methodParams?.[id] ?? {}),
              ...combo,
              ...(fewShot && { shotsPerClass: k }),
            },
          });
        }
      }
    }
  }
  for (const key of Object.keys(config.grid ?? {})) {
    const known = config.methods?.some(
      (id) => key in (methods.find((m) => m.id === id)?.params ?? {}),
    );
    if (!known) problems.push(`no method of the sweep has the grid parameter '${key}'`);
  }
  if (problems.length) {
    throw new InvalidInputError(
      `Bad sweep config: ${problems.join('; ')}`,
      'See docs/results for example sweep files.',
    );
  }
  return cells;
}

export interface SweepRow {
  method: string;
  shotsPerClass: number;
  grid: Record<string, unknown>;
  /** Test accuracy over seeds. */
  mean: number;
  std: number;
  n: number;
}

const gridKey = (g: Record<string, unknown>) => JSON.stringify(Object.entries(g).sort());

export function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation over seeds (n − 1), 0 for a single seed.
  const variance =
    values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** An accuracy (a fraction) in percent, or a difference of accuracies in points: "97.12". */
export const percent = (v: number) => (v * 100).toFixed(2);

/**
 * A mean over n seeds with its spread, "97.12 ± 0.35"; from one seed the value alone (its std of
 * 0 is no spread, only the lack of a second seed); "(2 of 3)" after it while seeds of the
 * `planned` are missing. `format` writes both numbers (percent, points, a ratio).
 */
export function formatMeanStd(
  { mean, std }: { mean: number; std: number },
  n: number,
  format: (v: number) => string,
  planned?: number,
): string {
  const value = n > 1 ? `${format(mean)} ± ${format(std)}` : format(mean);
  return planned !== undefined && n < planned ? `${value} (${n} of ${planned})` : value;
}

/** The runs of each (method, K, grid cell), the seeds of one table row, in first-seen order. */
function cellGroups(runs: readonly SweepRun[]): SweepRun[][] {
  const groups = new Map<string, SweepRun[]>();
  for (const run of runs) {
    const key = `${run.cell.method}|${run.cell.shotsPerClass}|${gridKey(run.cell.grid)}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()];
}

/** Mean ± std of student test accuracy per (method, K, grid cell): the paper's Table 1 shape. */
export function summarizeSweep(runs: readonly SweepRun[]): SweepRow[] {
  return cellGroups(runs).map((group) => {
    const { cell } = group[0];
    return {
      method: cell.method,
      shotsPerClass: cell.shotsPerClass,
      grid: cell.grid,
      ...meanStd(group.map((r) => r.result.student.accuracy)),
      n: group.length,
    };
  });
}

/**
 * Normalised estimation error (0.1 % of the layer's signal) below which a layer counts as
 * unchanged from the teacher: a layer no solver fitted, nudged only by the final fine-tune.
 */
const UNCHANGED = 1e-3;

export interface ErrorRatioRow {
  method: string;
  grid: Record<string, unknown>;
  shotsPerClass: number;
  labels: string[];
  values: number[];
}

/**
 * The runs of every other method (and grid cell) and K with, for each, the baseline run of the
 * same seed and K. A baseline run pairs with a grid cell when it agrees on the grid keys it has
 * (layerwise has no μ, so it pairs with every μ).
 */
function pairedWithBaseline(
  runs: readonly SweepRun[],
  baseline: string,
): {
  method: string;
  grid: Record<string, unknown>;
  shotsPerClass: number;
  pairs: [SweepRun, SweepRun][];
}[] {
  const base = runs.filter((r) => r.cell.method === baseline);
  const groups = new Map<string, SweepRun[]>();
  for (const run of runs) {
    if (run.cell.method === baseline) continue;
    const key = `${run.cell.method}|${gridKey(run.cell.grid)}|${run.cell.shotsPerClass}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
    const { method, grid, shotsPerClass } = group[0].cell;
    const pairs = group.flatMap((run): [SweepRun, SweepRun][] => {
      const b = base.find(
        (r) =>
          r.cell.seed === run.cell.seed &&
          r.cell.shotsPerClass === shotsPerClass &&
          Object.entries(r.cell.grid).every(([k, v]) => grid[k] === v),
      );
      return b ? [[run, b]] : [];
    });
    return { method, grid, shotsPerClass, pairs };
  });
}

/**
 * Per-layer estimation error of every other method (and grid cell) over `baseline` (the paper's
 * Fig. 2: below 1 means the crossing helps at that layer), in one view (by default the paper's:
 * hidden representation, held-out, after the layers were fitted): the error summed over the
 * seeds both ran, with the same K, divided by the baseline's sum.
 */
export function estimationErrorRatios(
  runs: readonly SweepRun[],
  { baseline = 'layerwise', view = PAPER_ERROR_VIEW }: { baseline?: string; view?: ErrorView } = {},
): ErrorRatioRow[] {
  const rows: ErrorRatioRow[] = [];
  for (const { method, grid, shotsPerClass, pairs } of pairedWithBaseline(runs, baseline)) {
    const measured = pairs.flatMap(([run, b]) => {
      const [r, e] = [runErrors(run, view), runErrors(b, view)];
      return r && e ? [[r, e]] : [];
    });
    if (measured.length === 0) continue;
    const labels = measured[0][0].labels;
    const n = measured.length;
    const sum = (i: number, side: 0 | 1) => measured.reduce((a, m) => a + m[side].values[i], 0);
    const values = labels.map((_, i) =>
      // A layer neither method fitted (e.g. the unpruned first conv) has a negligible error in
      // both, from the fine-tune alone: their ratio is noise, call it even.
      sum(i, 0) / n < UNCHANGED && sum(i, 1) / n < UNCHANGED ? 1 : sum(i, 0) / sum(i, 1),
    );
    rows.push({ method, grid, shotsPerClass, labels, values });
  }
  return rows;
}

/** Student's t at 0.975 for 1–30 degrees of freedom (two-sided 5 %). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

/** The |t| above which a paired difference over n seeds is significant at 5 % (two-sided). */
export const criticalT = (n: number) => (n < 2 ? Infinity : (T_975[n - 2] ?? 1.96 + 2.4 / (n - 1)));

export interface PairedDifference {
  method: string;
  grid: Record<string, unknown>;
  shotsPerClass: number;
  baseline: string;
  /** Mean and sample std over seeds of (accuracy − the baseline's accuracy with that seed). */
  mean: number;
  std: number;
  n: number;
  /**
   * mean / (std / √n): the paired t statistic (±Infinity when every seed differs alike, NaN
   * from one seed).
   */
  t: number;
}

/**
 * Test accuracy of every other method (and grid cell) minus the baseline's, paired by seed and
 * K: the comparison with its uncertainty, which two means ± std alone do not give.
 */
export function pairedDifferences(
  runs: readonly SweepRun[],
  baseline = 'layerwise',
): PairedDifference[] {
  return pairedWithBaseline(runs, baseline)
    .filter((g) => g.pairs.length > 0)
    .map(({ method, grid, shotsPerClass, pairs }) => {
      const d = pairs.map(([r, b]) => r.result.student.accuracy - b.result.student.accuracy);
      const { mean, std } = meanStd(d);
      const n = d.length;
      const t =
        n < 2
          ? NaN
          : std > 0
            ? mean / (std / Math.sqrt(n))
            : mean === 0
              ? 0
              : Math.sign(mean) * Infinity;
      return { method, grid, shotsPerClass, baseline, mean, std, n, t };
    });
}

export interface LayerErrorRow {
  method: string;
  grid: Record<string, unknown>;
  shotsPerClass: number;
  view: ErrorView;
  labels: string[];
  /** Mean over the seeds that reported this view. */
  values: number[];
  n: number;
}

/** Mean per-layer estimation error per (method, grid cell, K) in each of `views`. */
export function meanLayerErrors(
  runs: readonly SweepRun[],
  views: readonly ErrorView[],
): LayerErrorRow[] {
  const groups = new Map<string, SweepRun[]>();
  for (const run of runs) {
    const key = `${run.cell.method}|${gridKey(run.cell.grid)}|${run.cell.shotsPerClass}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const rows: LayerErrorRow[] = [];
  for (const group of groups.values()) {
    const { method, grid, shotsPerClass } = group[0].cell;
    for (const view of views) {
      const measured = group.flatMap((r) => runErrors(r, view) ?? []);
      if (measured.length === 0) continue;
      const labels = measured[0].labels;
      const values = labels.map(
        (_, i) => measured.reduce((a, m) => a + m.values[i], 0) / measured.length,
      );
      rows.push({ method, grid, shotsPerClass, view, labels, values, n: measured.length });
    }
  }
  return rows;
}

/** "temperature=2, mu=0.5": a grid cell's values. */
export const gridLabel = (g: Record<string, unknown>) =>
  Object.entries(g)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');

/** "kd" or "kd (temperature=2)": one row of a sweep's table. */
export const rowLabel = (method: string, grid: Record<string, unknown>) =>
  Object.keys(grid).length ? `${method} (${gridLabel(grid)})` : method;

/** K for a table: the data-free methods' cells have none (0). */
export const shotsLabel = (k: number) => (k === 0 ? '–' : String(k));

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** "hidden representation (after BatchNorm and activation), after the layers were fitted". */
export const errorViewLabel = (v: Pick<ErrorView, 'representation' | 'stage'>) =>
  `${ERROR_REPRESENTATION_LABEL[v.representation]}, ${ERROR_STAGE_LABEL[v.stage]}`;

const signed = (v: number, digits: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;

/** The estimation-error ratios as one Markdown table (`clab sweep` and the page's export). */
export function errorRatioMarkdown(
  rows: readonly ErrorRatioRow[],
  view: ErrorView,
  baseline = 'layerwise',
): string[] {
  if (rows.length === 0) return [];
  const labels = rows[0].labels;
  return [
    '',
    `Estimation error over ${baseline}'s, per layer (Fig. 2; ${errorViewLabel(view)}, on ${view.data === 'held-out' ? 'held-out test images' : 'the K shots'}; errors summed over the paired seeds; < 1: lower than ${baseline}):`,
    '',
    ...markdownTable(
      ['method', 'K', ...labels],
      rows.map((r) => [
        rowLabel(r.method, r.grid),
        shotsLabel(r.shotsPerClass),
        ...r.values.map((v) => v.toFixed(3)),
      ]),
    ),
  ];
}

/**
 * A two-parameter grid (e.g. Ours-S's α × β) as one matrix per method and K: mean ± std test
 * accuracy (%) with the first key down and the second across. Empty for other grids.
 */
export function gridMatrixMarkdown(rows: readonly SweepRow[], planned?: number): string[] {
  const gridded = rows.filter((r) => Object.keys(r.grid).length === 2);
  if (gridded.length === 0) return [];
  const [down, across] = Object.keys(gridded[0].grid);
  const values = (key: string) =>
    [...new Set(gridded.map((r) => r.grid[key]))].sort((a, b) => Number(a) - Number(b));
  const lines: string[] = [];
  for (const key of new Set(gridded.map((r) => `${r.method}|${shotsLabel(r.shotsPerClass)}`))) {
    const [method, k] = key.split('|');
    const cell = (a: unknown, b: unknown) => {
      const r = gridded.find(
        (x) =>
          x.method === method &&
          shotsLabel(x.shotsPerClass) === k &&
          x.grid[down] === a &&
          x.grid[across] === b,
      );
      return r ? formatMeanStd(r, r.n, percent, planned) : '–';
    };
    lines.push(
      '',
      `${method}${k === '–' ? '' : `, K = ${k}`}: test accuracy (%) by ${down} (down) and ${across} (across):`,
      '',
      ...markdownTable(
        [`${down} \\ ${across}`, ...values(across).map(String)],
        values(down).map((a) => [String(a), ...values(across).map((b) => cell(a, b))]),
      ),
    );
  }
  return lines;
}

/** Paired accuracy differences to the baseline as Markdown. */
export function pairedDifferenceMarkdown(rows: readonly PairedDifference[]): string[] {
  if (rows.length === 0) return [];
  const thresholds = [...new Set(rows.map((r) => r.n))]
    .sort((a, b) => a - b)
    .map((n) => `${criticalT(n).toFixed(2)} at n = ${n}`)
    .join(', ');
  return [
    '',
    `Test accuracy minus ${rows[0].baseline}'s with the same seed (percentage points; mean ± std over seeds; t = mean / (std / √n); |t| above ${thresholds} is p < 0.05, two-sided):`,
    '',
    ...markdownTable(
      ['method', 'K', 'difference', 'n', 't'],
      rows.map((r) => [
        rowLabel(r.method, r.grid),
        shotsLabel(r.shotsPerClass),
        r.n > 1 ? `${signed(r.mean * 100, 2)} ± ${percent(r.std)}` : signed(r.mean * 100, 2),
        String(r.n),
        Number.isNaN(r.t) ? '–' : Number.isFinite(r.t) ? signed(r.t, 2) : r.t > 0 ? '+∞' : '−∞',
      ]),
    ),
  ];
}

/** Mean per-layer errors (held-out and on the shots side by side) as Markdown. */
export function layerErrorMarkdown(rows: readonly LayerErrorRow[]): string[] {
  if (rows.length === 0) return [];
  const { view } = rows[0];
  return [
    '',
    `Mean estimation error per layer over seeds (${errorViewLabel(view)}; held-out test images and the K shots):`,
    '',
    ...markdownTable(
      ['method', 'K', 'data', ...rows[0].labels],
      rows.map((r) => [
        rowLabel(r.method, r.grid),
        shotsLabel(r.shotsPerClass),
        r.view.data === 'held-out' ? 'held-out' : 'K shots',
        ...r.values.map((v) => v.toFixed(3)),
      ]),
    ),
  ];
}

/** What a group of runs' students cost, beside their accuracy: the classic methods' table. */
export interface SizeRow {
  label: string;
  n: number;
  accuracy: { mean: number; std: number };
  /** Accuracy right after the one-shot compression, before any retraining (where measured). */
  beforeRetrain?: number;
  /** Teacher minus student accuracy, per run (paired), in points of a fraction. */
  drop: { mean: number; std: number };
  params: number;
  nonZeroParams?: number;
  flops: number;
  denseBytes: number;
  exportBytes?: number;
  gzipBytes?: number;
  /** The method's own storage format, where it has one (`encoded-bytes`). */
  encodedBytes?: number;
  /** Teacher float32 bytes over the smallest real size of the student (encoded, else gzipped). */
  ratio: number;
  /** Teacher over student inference time over seeds, where the method measured it (`speedup`). */
  speedup?: { mean: number; std: number };
}

/**
 * What a student really takes: the method's own encoding where it has one, else its gzipped
 * exported file (zeros cost nothing there only once compressed); float32 for runs saved before
 * sizes were measured.
 */
export function realSize(r: RunResult): { what: string; bytes: number } {
  const encoded = r.metrics['encoded-bytes'];
  if (encoded !== undefined) return { what: 'encoded', bytes: encoded };
  if (r.student.gzipBytes !== undefined)
    return { what: 'gzipped file', bytes: r.student.gzipBytes };
  return { what: 'float32', bytes: r.student.bytes };
}

/** Means over a group's runs of what each student costs; sizes are the same for every seed. */
export function sizeRows(runs: readonly SweepRun[]): SizeRow[] {
  return cellGroups(runs).map((group) => {
    const { cell } = group[0];
    const mean = (f: (r: SweepRun) => number | undefined) => {
      const values = group.map(f).filter((v): v is number => v !== undefined);
      return values.length === group.length ? meanStd(values).mean : undefined;
    };
    const student = (k: 'nonZeroParams' | 'exportBytes' | 'gzipBytes') =>
      mean((r) => r.result.student[k]);
    const encodedBytes = mean((r) => r.result.metrics['encoded-bytes']);
    const gzipBytes = student('gzipBytes');
    const smallest = mean((r) => realSize(r.result).bytes)!;
    return {
      label: rowLabel(cell.method, cell.grid),
      n: group.length,
      accuracy: meanStd(group.map((r) => r.result.student.accuracy)),
      beforeRetrain: mean((r) => r.result.metrics['accuracy/before-retrain']),
      drop: meanStd(group.map((r) => r.result.teacher.accuracy - r.result.student.accuracy)),
      params: mean((r) => r.result.student.params)!,
      nonZeroParams: student('nonZeroParams'),
      flops: mean((r) => r.result.student.flops)!,
      denseBytes: mean((r) => r.result.student.bytes)!,
      exportBytes: student('exportBytes'),
      gzipBytes,
      encodedBytes,
      ratio: group[0].result.teacher.bytes / smallest,
      speedup: group.every((r) => r.result.metrics.speedup !== undefined)
        ? meanStd(group.map((r) => r.result.metrics.speedup))
        : undefined,
    };
  });
}

/** The size table as Markdown (accuracy in %, drop in points, sizes in bytes). */
export function sizeMarkdown(rows: readonly SizeRow[]): string[] {
  const num = (v: number | undefined) => (v === undefined ? '–' : String(Math.round(v)));
  return [
    '',
    'What each student costs (means over seeds; "before retraining": right after the one-shot compression, on the run\'s test subset; teacher − student accuracy paired per seed; "smallest" is the encoded size where the method has a storage format, else the gzipped export; ratio = teacher float32 bytes / smallest):',
    '',
    ...markdownTable(
      [
        'method',
        'seeds',
        'accuracy (%)',
        'before retraining (%)',
        'drop (points)',
        'params',
        'non-zero',
        'FLOPs',
        'float32 B',
        'exported B',
        'gzipped B',
        'encoded B',
        'ratio',
        'speed-up',
      ],
      rows.map((r) => [
        r.label,
        String(r.n),
        formatMeanStd(r.accuracy, r.n, percent),
        r.beforeRetrain === undefined ? '–' : percent(r.beforeRetrain),
        formatMeanStd(r.drop, r.n, percent),
        num(r.params),
        num(r.nonZeroParams),
        num(r.flops),
        num(r.denseBytes),
        num(r.exportBytes),
        num(r.gzipBytes),
        num(r.encodedBytes),
        `${r.ratio.toFixed(1)}×`,
        r.speedup === undefined ? '–' : formatMeanStd(r.speedup, r.n, (v) => `${v.toFixed(2)}×`),
      ]),
    ),
  ];
}
