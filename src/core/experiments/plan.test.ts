import { describe, expect, it } from 'vitest';
import type { RunResult } from '../methods/runner';
import type { AnyMethodSpec } from '../methods/types';
import {
  criticalT,
  estimationErrorRatios,
  expandSweep,
  gridMatrixMarkdown,
  meanLayerErrors,
  pairedDifferenceMarkdown,
  pairedDifferences,
  sizeMarkdown,
  sizeRows,
  summarizeSweep,
  type SweepRun,
} from './plan';

const spec = (id: string, params: string[]) =>
  ({ id, params: Object.fromEntries(params.map((p) => [p, {}])) }) as unknown as AnyMethodSpec;
const methods = [
  spec('layerwise', ['shotsPerClass', 'targetSparsity']),
  spec('cross', ['shotsPerClass', 'mu', 'targetSparsity']),
];

const run = (
  method: string,
  k: number,
  seed: number,
  acc: number,
  err?: number[],
  grid = {},
): SweepRun => ({
  cell: { method, shotsPerClass: k, seed, grid, params: {} },
  result: { student: { accuracy: acc } } as RunResult,
  estimationErrors: err && {
    'estimation-error/hidden/held-out': { labels: err.map((_, i) => `conv${i + 1}`), values: err },
  },
});

describe('sweeps', () => {
  it('expands methods × K × grid × seeds, giving each method only its own params', () => {
    const cells = expandSweep(
      {
        teacher: 't',
        dataset: 'mnist',
        methods: ['layerwise', 'cross'],
        shotsPerClass: [1, 5],
        seeds: [1, 2, 3],
        params: { targetSparsity: 0.5 },
        grid: { mu: [0.2, 0.8] },
      },
      methods,
    );
    expect(cells).toHaveLength(2 * 3 + 2 * 2 * 3);
    expect(cells[0]).toEqual({
      method: 'layerwise',
      shotsPerClass: 1,
      seed: 1,
      grid: {},
      params: { targetSparsity: 0.5, shotsPerClass: 1 },
    });
    expect(cells.filter((c) => c.method === 'cross').every((c) => c.params.mu === c.grid.mu)).toBe(
      true,
    );
  });

  it('names every problem of a bad config at once', () => {
    expect(() =>
      expandSweep(
        {
          teacher: 't',
          dataset: 'mnist',
          methods: ['layerwise', 'nope'],
          shotsPerClass: [],
          seeds: [1],
          grid: { mew: [0, 1] },
        },
        methods,
      ),
    ).toThrow(
      /shotsPerClass is empty \(method 'layerwise' needs it\); unknown method 'nope'; no method of the sweep has the grid parameter 'mew'/,
    );
  });

  it('gives a data-free method (no shotsPerClass) one K-less cell per grid point and seed', () => {
    const cells = expandSweep(
      {
        teacher: 't',
        dataset: 'mnist',
        methods: ['dafl'],
        seeds: [1, 2],
        grid: { oneHotWeight: [0, 1], entropyWeight: [0, 5] },
      },
      [spec('dafl', ['oneHotWeight', 'entropyWeight'])],
    );
    expect(cells).toHaveLength(8);
    expect(cells.every((c) => c.shotsPerClass === 0 && !('shotsPerClass' in c.params))).toBe(true);
    expect(cells[0].params).toEqual({ oneHotWeight: 0, entropyWeight: 0 });
  });

  it('summarises mean ± sample std over seeds and the estimation-error ratio to the baseline', () => {
    const runs = [
      run('layerwise', 1, 1, 0.5, [1, 2, 4]),
      run('layerwise', 1, 2, 0.7, [1, 2, 8]),
      run('cross', 1, 1, 0.8, [1, 1, 2]),
      run('cross', 1, 2, 0.9, [2, 1, 2]),
    ];
    const rows = summarizeSweep(runs);
    const lw = rows.find((r) => r.method === 'layerwise')!;
    expect(lw.mean).toBeCloseTo(0.6);
    expect(lw.std).toBeCloseTo(Math.sqrt(0.02));
    expect(lw.n).toBe(2);
    const [ratio] = estimationErrorRatios(runs, { baseline: 'layerwise' });
    expect(ratio.labels).toEqual(['conv1', 'conv2', 'conv3']);
    // Summed over seeds: (1 + 2) / (1 + 1), (1 + 1) / (2 + 2), (2 + 2) / (4 + 8).
    expect(ratio.values[0]).toBeCloseTo(1.5);
    expect(ratio.values[1]).toBeCloseTo(0.5);
    expect(ratio.values[2]).toBeCloseTo(1 / 3);
    // One row per grid cell, each against the (grid-less) baseline of its K and seeds.
    const mu = [
      run('layerwise', 2, 1, 0.5, [1, 2]),
      run('cross', 2, 1, 0.5, [1, 1], { mu: 0 }),
      run('cross', 2, 1, 0.5, [2, 4], { mu: 1 }),
    ];
    expect(estimationErrorRatios(mu).map((r) => [r.grid, r.values])).toEqual([
      [{ mu: 0 }, [1, 0.5]],
      [{ mu: 1 }, [2, 2]],
    ]);
    // Negligible errors of a layer neither method fitted do not make a ratio.
    const unchanged = [run('layerwise', 2, 1, 0.5, [1e-4, 1]), run('cross', 2, 1, 0.5, [6e-4, 1])];
    expect(estimationErrorRatios(unchanged)[0].values).toEqual([1, 1]);
  });

  it('pairs accuracies by seed: the difference to the baseline with its std and t', () => {
    const runs = [
      run('layerwise', 1, 1, 0.5),
      run('layerwise', 1, 2, 0.7),
      run('layerwise', 1, 3, 0.6),
      run('cross', 1, 1, 0.52),
      run('cross', 1, 2, 0.73),
      run('cross', 1, 3, 0.61),
      // No layerwise run with seed 4: not paired.
      run('cross', 1, 4, 0.1),
    ];
    const [d] = pairedDifferences(runs);
    expect(d).toMatchObject({ method: 'cross', shotsPerClass: 1, baseline: 'layerwise', n: 3 });
    expect(d.mean).toBeCloseTo(0.02);
    expect(d.std).toBeCloseTo(0.01);
    expect(d.t).toBeCloseTo(0.02 / (0.01 / Math.sqrt(3)));
    const markdown = pairedDifferenceMarkdown([d]);
    expect(markdown[1]).toContain('|t| above 4.30 at n = 3 is p < 0.05');
    expect(markdown.at(-1)).toBe('| cross | 1 | +2.00 ± 1.00 | 3 | +3.46 |');
    // One pair has no spread and no t.
    const [single] = pairedDifferences(runs.filter((r) => r.cell.seed === 1));
    expect(single).toMatchObject({ n: 1, std: 0, t: NaN });
    expect(pairedDifferenceMarkdown([single]).at(-1)).toMatch(
      /^\| cross \| 1 \| [+−]\d+\.\d\d \| 1 \| – \|$/,
    );
    expect([2, 5, 31, 100].map((n) => criticalT(n).toFixed(2))).toEqual([
      '12.71',
      '2.78',
      '2.04',
      '1.98',
    ]);
    // Per-layer means per method and K, in each view asked for.
    const withErrors = [run('layerwise', 1, 1, 0.5, [1, 3]), run('layerwise', 1, 2, 0.5, [2, 5])];
    const view = { representation: 'hidden', stage: 'fitted', data: 'held-out' } as const;
    expect(meanLayerErrors(withErrors, [view, { ...view, data: 'shots' }])).toEqual([
      {
        method: 'layerwise',
        grid: {},
        shotsPerClass: 1,
        view,
        labels: ['conv1', 'conv2'],
        values: [1.5, 4],
        n: 2,
      },
    ]);
  });

  it('shows a two-parameter grid as a matrix per method and K', () => {
    const cell = (alpha: number, beta: number, acc: number) => ({
      ...run('cross', 1, 1, acc),
      cell: { method: 'cross', shotsPerClass: 1, seed: 1, grid: { alpha, beta }, params: {} },
    });
    const rows = summarizeSweep([cell(0, 0, 0.5), cell(0, 1, 0.6), cell(1, 0, 0.7)]);
    // One seed of the three planned in each cell: its value, no spread.
    expect(gridMatrixMarkdown(rows, 3)).toEqual([
      '',
      'cross, K = 1: test accuracy (%) by alpha (down) and beta (across):',
      '',
      '| alpha \\ beta | 0 | 1 |',
      '| --- | --- | --- |',
      '| 0 | 50.00 (1 of 3) | 60.00 (1 of 3) |',
      '| 1 | 70.00 (1 of 3) | – |',
    ]);
    expect(gridMatrixMarkdown(summarizeSweep([run('cross', 1, 1, 0.5)]))).toEqual([]);
  });
});

describe('size table', () => {
  const sized = (seed: number, acc: number, encoded?: number): SweepRun => ({
    cell: { method: 'deep-compression', shotsPerClass: 0, seed, grid: {}, params: {} },
    result: {
      teacher: { accuracy: 0.99, bytes: 4000 },
      student: {
        accuracy: acc,
        params: 1000,
        flops: 5000,
        bytes: 4000,
        nonZeroParams: 100,
        exportBytes: 4000,
        gzipBytes: 800,
      },
      metrics: encoded === undefined ? {} : { 'encoded-bytes': encoded },
    } as unknown as RunResult,
  });

  it('pairs the accuracy drop per run and takes the ratio from the encoded size', () => {
    const [row] = sizeRows([sized(1, 0.985, 200), sized(2, 0.975, 200)]);
    expect(row.n).toBe(2);
    expect(row.drop.mean).toBeCloseTo(0.01, 10);
    expect(row.drop.std).toBeCloseTo(Math.sqrt(0.00005), 10);
    expect(row.ratio).toBe(20);
    expect(sizeMarkdown([row]).join('\n')).toContain(
      '| deep-compression | 2 | 98.00 ± 0.71 | – | 1.00 ± 0.71 |',
    );
  });

  it('falls back to the gzipped export without an encoding, and leaves a size out if a run lacks it', () => {
    const [row] = sizeRows([sized(1, 0.98)]);
    expect(row.encodedBytes).toBeUndefined();
    expect(row.ratio).toBe(5);
  });
});
