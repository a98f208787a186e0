import { readFile, writeFile } from 'node:fs/promises';
import {
  errorRatioMarkdown,
  estimationErrorRatios,
  formatMeanStd,
  gridMatrixMarkdown,
  layerErrorMarkdown,
  markdownTable,
  meanLayerErrors,
  pairedDifferenceMarkdown,
  pairedDifferences,
  percent,
  rowLabel,
  sizeMarkdown,
  sizeRows,
  summarizeSweep,
  type SweepConfig,
  type SweepRow,
  type SweepRun,
} from '../core/experiments';
import { PAPER_ERROR_VIEW } from '../core/metrics/error-keys';
import { InvalidInputError } from '../core/runtime/errors';

export async function readSweepConfig(path: string | undefined): Promise<SweepConfig> {
  if (!path)
    throw new InvalidInputError(
      'clab sweep needs a config file',
      'Run clab sweep path/to/sweep.json.',
    );
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidInputError(
      `Cannot read the sweep config '${path}' (${(e as Error).message})`,
      'Check the path.',
    );
  }
  let config: SweepConfig;
  try {
    config = JSON.parse(text) as SweepConfig;
  } catch (e) {
    throw new InvalidInputError(
      `${path} is not valid JSON (${(e as Error).message})`,
      'Fix the sweep file.',
    );
  }
  if (config.shots !== undefined) {
    throw new InvalidInputError(
      `${path} runs on images uploaded in a browser ("shots": ${JSON.stringify(config.shots)}), which the CLI cannot read`,
      'Run this sweep in the page that made it, or remove "shots" to run on the dataset.',
    );
  }
  return config;
}

/** What `clab sweep --json` prints and `--results` reads back: the config and every run. */
export function sweepJson(config: SweepConfig, runs: readonly SweepRun[]) {
  return {
    config,
    rows: summarizeSweep(runs),
    runs: runs.map((r) => ({ ...r.cell, result: r.result, estimationErrors: r.estimationErrors })),
  };
}

/**
 * The runs of an earlier `clab sweep --json` of this very config, to tabulate them again
 * (after a new table was added to the report) without training anything.
 */
export async function readSweepResults(path: string, config: SweepConfig): Promise<SweepRun[]> {
  let saved: ReturnType<typeof sweepJson>;
  try {
    saved = JSON.parse(await readFile(path, 'utf8')) as ReturnType<typeof sweepJson>;
  } catch (e) {
    throw new InvalidInputError(
      `Cannot read sweep results from '${path}' (${(e as Error).message})`,
      'Pass the JSON that clab sweep --json printed.',
    );
  }
  if (!Array.isArray(saved?.runs) || JSON.stringify(saved.config) !== JSON.stringify(config)) {
    throw new InvalidInputError(
      `'${path}' does not hold results of this sweep config`,
      'Pass the JSON that clab sweep --json printed for the same config file.',
    );
  }
  return saved.runs.map(
    ({ method, shotsPerClass, seed, grid, params, result, estimationErrors }) => ({
      cell: { method, shotsPerClass, seed, grid, params },
      result,
      estimationErrors,
    }),
  );
}

/** The sweep as Markdown: accuracy table (method × K), grid sensitivity, estimation-error ratios. */
export function sweepMarkdown(
  config: SweepConfig,
  runs: readonly SweepRun[],
  command: string,
): string {
  const rows = summarizeSweep(runs);
  const shots = [...new Set(rows.map((r) => r.shotsPerClass))].sort((a, b) => a - b);
  const label = (r: Pick<SweepRow, 'method' | 'grid'>) => rowLabel(r.method, r.grid);
  const methods = [...new Set(rows.map(label))];
  const cell = (m: string, k: number) => {
    const r = rows.find((row) => label(row) === m && row.shotsPerClass === k);
    return r ? formatMeanStd(r, r.n, percent, config.seeds.length) : '–';
  };
  const teacherAcc = runs[0]?.result.teacher.accuracy;
  const lines = [
    `### ${config.name ?? `${config.teacher} on ${config.dataset}`}`,
    '',
    `Command: \`${command}\``,
    '',
    `Teacher ${config.teacher}: ${teacherAcc === undefined ? '?' : percent(teacherAcc)}% test accuracy. ` +
      `Student test accuracy (%), mean ± std over seeds ${config.seeds.join(', ')}` +
      `${config.testExamples ? ` on the first ${config.testExamples} test images` : ''}; ` +
      `shared params ${JSON.stringify(config.params ?? {})}.`,
    '',
    ...markdownTable(
      ['method', ...shots.map((k) => (k === 0 ? 'test accuracy' : `K = ${k}`))],
      methods.map((m) => [m, ...shots.map((k) => cell(m, k))]),
    ),
  ];
  lines.push(...gridMatrixMarkdown(rows, config.seeds.length));
  lines.push(...pairedDifferenceMarkdown(pairedDifferences(runs)));
  const fineTuned = { ...PAPER_ERROR_VIEW, stage: 'fine-tuned' } as const;
  for (const view of [PAPER_ERROR_VIEW, fineTuned]) {
    lines.push(...errorRatioMarkdown(estimationErrorRatios(runs, { view }), view));
  }
  lines.push(
    ...layerErrorMarkdown(
      meanLayerErrors(runs, [PAPER_ERROR_VIEW, { ...PAPER_ERROR_VIEW, data: 'shots' }]),
    ),
  );
  // Students measured for what they cost (every run since sizes were measured): the size table.
  if (runs.some((r) => r.result.student.exportBytes !== undefined)) {
    lines.push(...sizeMarkdown(sizeRows(runs)));
  }
  const wall = runs.reduce((s, r) => s + r.result.wallTimeMs, 0) / 1000;
  lines.push(
    '',
    `${runs.length} runs, ${(wall / 60).toFixed(1)} min of training on ${runs[0]?.result.backend ?? '?'}.`,
  );
  return lines.join('\n');
}

export async function writeMarkdown(path: string, text: string): Promise<void> {
  await writeFile(path, `${text}\n`);
}
