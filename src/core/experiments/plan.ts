// Planning and summarising sweeps: plain TypeScript without TensorFlow.js, so the page can
// expand a sweep into runs and tabulate their results itself.
import { InvalidInputError } from '../runtime/errors';
import type { RunResult } from '../methods/runner';
import type { ParamSchema } from '../methods/params';

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
  /** K labelled examples per class, passed as each method's `shotsPerClass`. */
  shotsPerClass: number[];
  seeds: number[];
  /** Parameters for every method that has them (e.g. compression, targetSparsity). */
  params?: Record<string, unknown>;
  /** Per-method overrides. */
  methodParams?: Record<string, Record<string, unknown>>;
  /** Values to sweep for a parameter, for the methods that have it (e.g. { "mu": [0, 0.5, 1] }). */
  grid?: Record<string, unknown[]>;
  steps?: number;
  testExamples?: number;
}

export interface SweepCell {
  method: string;
  shotsPerClass: number;
  seed: number;
  /** The grid values of this cell (empty when the method has none of the grid's params). */
  grid: Record<string, unknown>;
  params: Record<string, unknown>;
}

export interface SweepRun {
  cell: SweepCell;
  result: RunResult;
  /** The last per-layer estimation error the method reported (held-out), if any. */
  estimationError?: { labels: string[]; values: number[] };
}

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
  if (!config.shotsPerClass?.length) problems.push('shotsPerClass is empty');
  if (!config.seeds?.length) problems.push('seeds is empty');
  const cells: SweepCell[] = [];
  for (const id of config.methods ?? []) {
    const spec = methods.find((m) => m.id === id);
    if (!spec) {
      problems.push(`unknown method '${id}'`);
      continue;
    }
    if (!('shotsPerClass' in spec.params))
      problems.push(`method '${id}' has no shotsPerClass parameter`);
    const own = (params: Record<string, unknown> = {}) =>
      Object.fromEntries(Object.entries(params).filter(([k]) => k in spec.params));
    const grid = Object.fromEntries(
      Object.entries(config.grid ?? {}).filter(([k]) => k in spec.params),
    );
    for (const k of config.shotsPerClass ?? []) {
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
              shotsPerClass: k,
            },
          });
        }
      }
    }
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

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation over seeds (n − 1), 0 for a single seed.
  const variance =
    values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}

/** Mean ± std of student test accuracy per (method, K, grid cell): the paper's Table 1 shape. */
export function summarizeSweep(runs: readonly SweepRun[]): SweepRow[] {
  const groups = new Map<string, SweepRun[]>();
  for (const run of runs) {
    const key = `${run.cell.method}|${run.cell.shotsPerClass}|${gridKey(run.cell.grid)}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
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
 * Per-layer estimation error of every other method (and grid cell) over `baseline` (the paper's
 * Fig. 2: below 1 means the crossing helps at that layer): the error summed over the seeds both
 * ran, with the same K, divided by the baseline's sum. A baseline run pairs with a grid cell when
 * it agrees on the grid keys it has (layerwise has no μ, so it pairs with every μ).
 */
export function estimationErrorRatios(
  runs: readonly SweepRun[],
  baseline = 'layerwise',
): ErrorRatioRow[] {
  const base = runs.filter((r) => r.cell.method === baseline && r.estimationError);
  const groups = new Map<string, SweepRun[]>();
  for (const run of runs) {
    if (run.cell.method === baseline || !run.estimationError) continue;
    const key = `${run.cell.method}|${gridKey(run.cell.grid)}|${run.cell.shotsPerClass}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const rows: ErrorRatioRow[] = [];
  for (const group of groups.values()) {
    const { method, grid, shotsPerClass } = group[0].cell;
    const labels = group[0].estimationError!.labels;
    const sums = { run: labels.map(() => 0), base: labels.map(() => 0) };
    let n = 0;
    for (const run of group) {
      const b = base.find(
        (r) =>
          r.cell.seed === run.cell.seed &&
          r.cell.shotsPerClass === shotsPerClass &&
          Object.entries(r.cell.grid).every(([k, v]) => grid[k] === v),
      );
      if (!b) continue;
      n++;
      labels.forEach((_, i) => {
        sums.run[i] += run.estimationError!.values[i];
        sums.base[i] += b.estimationError!.values[i];
      });
    }
    if (n === 0) continue;
    const values = labels.map((_, i) =>
      // A layer neither method fitted (e.g. the unpruned first conv) has a negligible error in
      // both, from the fine-tune alone: their ratio is noise, call it even.
      sums.run[i] / n < UNCHANGED && sums.base[i] / n < UNCHANGED ? 1 : sums.run[i] / sums.base[i],
    );
    rows.push({ method, grid, shotsPerClass, labels, values });
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

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The Markdown of one estimation-error ratio row (`clab sweep` and the page's export). */
export function errorRatioMarkdown(
  name: string,
  ratio: Pick<ErrorRatioRow, 'shotsPerClass' | 'labels' | 'values'>,
): string[] {
  return [
    '',
    `Estimation error of ${name} / layerwise per layer (held-out, K = ${ratio.shotsPerClass}, summed over seeds; < 1 is better):`,
    '',
    ...markdownTable(ratio.labels, [ratio.values.map((v) => v.toFixed(3))]),
  ];
}
