import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../worker/protocol';
import { CONFIG, SWEEP_CATALOG } from './fixtures';
import { newRun, type RunRecord } from './runs';
import {
  cellRunConfig,
  collectSweeps,
  describeSweep,
  draftFromSweep,
  draftSweep,
  errorRatioSeries,
  formatCell,
  formatList,
  parseList,
  parseSweepFile,
  planSweep,
  resolveSweep,
  sensitivity,
  sweepCsv,
  sweepMarkdown,
  sweepTable,
  type SweepConfig,
  type SweepDraft,
} from './sweeps';

const DRAFT: SweepDraft = {
  name: '',
  methods: ['kd'],
  student: '',
  shots: '1, 2',
  seeds: '1-2',
  gridParam: 'temperature',
  gridValues: '2, 4',
  params: {},
};
const RUN_CONFIG = { ...CONFIG, steps: 5, testExamples: 200 };

/** Finished (or not) runs of one sweep, with accuracy by cell and optional estimation errors. */
function records(
  sweep: SweepConfig,
  acc: (cell: { method: string; shotsPerClass: number; seed: number; grid: object }) => number,
  opts: {
    error?: (method: string, seed: number) => number[];
    errorKey?: string;
    unfinished?: number[];
  } = {},
): RunRecord[] {
  const plan = planSweep(sweep, SWEEP_CATALOG);
  if ('error' in plan) throw new Error(plan.error);
  return plan.cells.map((cell, index) => {
    const m = SWEEP_CATALOG.methods.find((x) => x.id === cell.method)!;
    const run = newRun(`r${index}`, cellRunConfig(sweep, cell, m, 'wasm'), m.title, 1000);
    run.sweep = { id: 's1', index, total: plan.cells.length, cell, config: sweep };
    if (opts.unfinished?.includes(index)) return { ...run, status: 'running' };
    const result = { teacher: { accuracy: 0.99 }, student: { accuracy: acc(cell) } };
    const values = opts.error?.(cell.method, cell.seed);
    return {
      ...run,
      status: 'done',
      result: result as RunResult,
      layers: values
        ? {
            [opts.errorKey ?? 'estimation-error/hidden/held-out']: {
              step: 5,
              labels: ['conv1', 'fc1'],
              values,
            },
          }
        : run.layers,
    };
  });
}

describe('sweep lists', () => {
  it('read commas, whole-number ranges and an ellipsis that continues the step', () => {
    expect(parseList('1, 5', { int: true })).toEqual([1, 5]);
    expect(parseList('1-5', { int: true })).toEqual([1, 2, 3, 4, 5]);
    expect(parseList('1,2, 4-5', { int: true })).toEqual([1, 2, 4, 5]);
    expect(parseList('0, 0.2, …, 1', { int: false })).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(parseList('1, 2, ..., 4, 8', { int: true })).toEqual([1, 2, 3, 4, 8]);
    expect(parseList(' ', { int: true })).toEqual([]);
  });

  it('name what is wrong', () => {
    expect(() => parseList('1, x', { int: true })).toThrow("'x' is not a number");
    expect(() => parseList('1.5', { int: true })).toThrow('not a whole number');
    expect(() => parseList('5-1', { int: true })).toThrow('runs backwards');
    expect(() => parseList('0, …, 1', { int: false })).toThrow('needs two values');
    expect(() => parseList('0, 0.3, …, 1', { int: false })).toThrow('cannot step');
    expect(() => parseList('1, 1', { int: true })).toThrow('1 appears twice');
  });

  it('print back compactly', () => {
    expect(formatList([1, 2, 3, 4])).toBe('1-4');
    expect(formatList([1, 2])).toBe('1, 2');
    expect(formatList([0, 0.5])).toBe('0, 0.5');
  });

  it('describe a sweep in one line', () => {
    const sweep: SweepConfig = {
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['kd', 'cross-distillation'],
      shotsPerClass: [1, 5],
      seeds: [1, 2, 3],
    };
    expect(describeSweep(sweep)).toBe('kd, cross-distillation · K 1, 5 · seeds 1-3');
    expect(describeSweep({ ...sweep, grid: { mu: [0, 0.5] } })).toBe(
      'kd, cross-distillation · K 1, 5 · mu 0, 0.5 · seeds 1-3',
    );
  });
});

describe('the sweep form', () => {
  it('builds the file `npx clab sweep` reads from the run config and the lists', () => {
    const sweep = draftSweep(RUN_CONFIG, DRAFT, SWEEP_CATALOG);
    // The student is left to each method's default, as the CLI does when a file has none.
    expect(sweep).toEqual({
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['kd'],
      shotsPerClass: [1, 2],
      seeds: [1, 2],
      grid: { temperature: [2, 4] },
      steps: 5,
      testExamples: 200,
    });
    const { cells } = resolveSweep(SWEEP_CATALOG, RUN_CONFIG, DRAFT);
    expect(cells).toHaveLength(8);
    const run = cellRunConfig(sweep as SweepConfig, cells![7], SWEEP_CATALOG.methods[0], 'wasm');
    expect(run).toEqual({
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      student: 'half',
      method: 'kd',
      params: { temperature: 4, shotsPerClass: 2 },
      seed: 2,
      steps: 5,
      testExamples: 200,
      backend: 'wasm',
    });
  });

  it('gives shared params only to the chosen methods and leaves K and the grid to the lists', () => {
    const sweep = draftSweep(
      RUN_CONFIG,
      {
        ...DRAFT,
        methods: ['layerwise', 'cross-distillation'],
        gridParam: 'mu',
        gridValues: '0, 0.5, …, 1',
        params: { targetSparsity: 0.7, mu: 0.1, shotsPerClass: 3, temperature: 9 },
      },
      SWEEP_CATALOG,
    ) as SweepConfig;
    expect(sweep.params).toEqual({ targetSparsity: 0.7 });
    expect(sweep.grid).toEqual({ mu: [0, 0.5, 1] });
    const plan = planSweep(sweep, SWEEP_CATALOG);
    // layerwise has no μ: 2 K × 2 seeds; cross-distillation: 2 K × 3 μ × 2 seeds.
    expect('cells' in plan && plan.cells.length).toBe(4 + 12);
  });

  it("shows expandSweep's message and the runner's parameter checks before anything runs", () => {
    expect(resolveSweep(SWEEP_CATALOG, RUN_CONFIG, { ...DRAFT, seeds: '' }).error).toBe(
      'Bad sweep config: seeds is empty',
    );
    expect(resolveSweep(SWEEP_CATALOG, RUN_CONFIG, { ...DRAFT, gridValues: '0.5, 4' }).error).toBe(
      'Bad sweep config: kd: temperature must be between 1 and 50 (got 0.5)',
    );
    expect(resolveSweep(SWEEP_CATALOG, RUN_CONFIG, { ...DRAFT, shots: '1, a' }).error).toBe(
      "Cannot read the sweep: K values: 'a' is not a number",
    );
    expect(resolveSweep(SWEEP_CATALOG, { ...RUN_CONFIG, steps: 0 }, DRAFT).error).toMatch(
      /steps must be a whole number/,
    );
  });

  it('loads a file it can show into the form, exactly', () => {
    const sweep = draftSweep(
      RUN_CONFIG,
      { ...DRAFT, name: 'T', student: 'lenet5-half' },
      SWEEP_CATALOG,
    ) as SweepConfig;
    expect(sweep.student).toBe('lenet5-half');
    const form = draftFromSweep(JSON.parse(JSON.stringify(sweep)), SWEEP_CATALOG, CONFIG)!;
    expect(form.config).toMatchObject({ steps: 5, testExamples: 200, method: 'kd' });
    expect(form.draft).toMatchObject({
      student: 'lenet5-half',
      shots: '1, 2',
      seeds: '1, 2',
      gridValues: '2, 4',
    });
    expect(draftSweep(form.config, form.draft, SWEEP_CATALOG)).toEqual(sweep);
    // A CLI file that leaves student and steps to the methods' defaults.
    const cli = {
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['layerwise', 'cross-distillation'],
      shotsPerClass: [1, 5],
      seeds: [1, 2, 3],
      params: { targetSparsity: 0.5 },
      grid: { mu: [0, 0.6, 1] },
    } satisfies SweepConfig;
    expect(draftFromSweep(cli, SWEEP_CATALOG, CONFIG)?.draft.seeds).toBe('1-3');
  });

  it('keeps a file the form cannot show as written', () => {
    const base: SweepConfig = {
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      methods: ['layerwise', 'cross-distillation'],
      shotsPerClass: [1],
      seeds: [1],
    };
    for (const extra of [
      { methodParams: { layerwise: { targetSparsity: 0.3 } } },
      { grid: { mu: [0, 1], targetSparsity: [0.5, 0.7] } },
      { params: { temperature: 2 } },
      { teacher: 'my-own-teacher' },
    ]) {
      expect(draftFromSweep({ ...base, ...extra }, SWEEP_CATALOG, CONFIG)).toBeUndefined();
    }
    expect(() => parseSweepFile('{"teacher": 1}')).toThrow(
      /Not a sweep file: teacher must be a teacher id; dataset must be a dataset id; methods must be/,
    );
    expect(() => parseSweepFile('nope')).toThrow(/not JSON/);
    expect(parseSweepFile(JSON.stringify(base))).toEqual(base);
  });
});

describe('sweep results', () => {
  const kdSweep = draftSweep(RUN_CONFIG, DRAFT, SWEEP_CATALOG) as SweepConfig;

  it('tabulate mean ± std per method and grid cell × K from the runs, shaped from the start', () => {
    const acc = (c: { shotsPerClass: number; seed: number; grid: object }) =>
      0.5 +
      c.shotsPerClass / 10 +
      c.seed / 100 +
      ((c.grid as { temperature: number }).temperature ?? 0) / 1000;
    const runs = records(kdSweep, acc, { unfinished: [7] });
    const table = sweepTable(runs);
    expect(table.shots).toEqual([1, 2]);
    expect(table.rows.map((r) => r.label)).toEqual(['kd (temperature=2)', 'kd (temperature=4)']);
    expect(table.rows[0].cells.map(formatCell)).toEqual(['61.70 ± 0.71 (2)', '71.70 ± 0.71 (2)']);
    // The last run (K = 2, T = 4, seed 2) is still going.
    expect(formatCell(table.rows[1].cells[1])).toBe('71.40 (1 of 2)');
    expect(sweepMarkdown(kdSweep, runs)).toContain(
      '| kd (temperature=2) | 61.70 ± 0.71 (2) | 71.70 ± 0.71 (2) |',
    );
    expect(sweepCsv(runs).split('\n')).toEqual([
      'method,temperature,K,accuracy_mean,accuracy_std,n,planned',
      expect.stringMatching(/^kd,2,1,0\.617\d*,0\.0070\d*,2,2$/),
      expect.stringMatching(/^kd,2,2,0\.717\d*,/),
      expect.stringMatching(/^kd,4,1,0\.619\d*,/),
      'kd,4,2,0.714,0,1,2',
    ]);
    const info = collectSweeps(Object.fromEntries(runs.map((r) => [r.id, r]))).get('s1')!;
    expect(info).toMatchObject({ total: 8, status: 'running', counts: { done: 7, running: 1 } });
    expect(info.runIds).toEqual(runs.map((r) => r.id));
  });

  it('chart accuracy against the grid per method × K, flat for methods without the parameter', () => {
    const sweep: SweepConfig = {
      ...kdSweep,
      methods: ['layerwise', 'cross-distillation'],
      shotsPerClass: [1],
      grid: { mu: [0, 0.5, 1] },
    };
    const runs = records(sweep, (c) => (c.method === 'layerwise' ? 0.5 : 0.6 + c.seed / 100));
    const fig3 = sensitivity(runs)!;
    expect(fig3.param).toBe('mu');
    expect(fig3.series.map((s) => [s.label, s.flat, s.points.map((p) => p.x)])).toEqual([
      ['layerwise K=1', true, [0, 1]],
      ['cross-distillation K=1', false, [0, 0.5, 1]],
    ]);
    expect(sensitivity(records({ ...kdSweep, grid: undefined }, () => 0.5))).toBeUndefined();
  });

  it('divide estimation errors by layerwise per K and grid cell (Fig. 2)', () => {
    const sweep: SweepConfig = {
      ...kdSweep,
      methods: ['layerwise', 'cross-distillation'],
      shotsPerClass: [1],
      grid: { mu: [0, 1] },
    };
    const runs = records(sweep, () => 0.5, {
      error: (m, seed) => (m === 'layerwise' ? [2, 4] : [1 * seed, 2]),
    });
    const fig2 = errorRatioSeries(runs);
    expect(fig2.map((s) => s.label)).toEqual([
      'cross-distillation (mu=0) K=1',
      'cross-distillation (mu=1) K=1',
    ]);
    expect(fig2[0].labels).toEqual(['conv1', 'fc1']);
    expect(fig2[0].values).toEqual([0.75, 0.5]);
    expect(errorRatioSeries(records(kdSweep, () => 0.5))).toEqual([]);
    // Another view (here after the fine-tune) is not mixed in.
    const fineTuned = { representation: 'hidden', stage: 'fine-tuned', data: 'held-out' } as const;
    expect(errorRatioSeries(runs, fineTuned)).toEqual([]);
    // Runs saved before views existed streamed `estimation-error`: pre-activation, after the
    // fine-tune; they are read as that view.
    const legacy = records(sweep, () => 0.5, {
      error: (m, seed) => (m === 'layerwise' ? [2, 4] : [1 * seed, 2]),
      errorKey: 'estimation-error',
    });
    expect(errorRatioSeries(legacy)).toEqual([]);
    const legacyView = { ...fineTuned, representation: 'pre-activation' } as const;
    expect(errorRatioSeries(legacy, legacyView)[0].values).toEqual([0.75, 0.5]);
  });
});
