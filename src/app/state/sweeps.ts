// Sweeps in the page. The form's lists and the run configuration make a SweepConfig (the very
// file `npx clab sweep` reads); core's expandSweep turns it into cells; each cell becomes an
// ordinary run tagged with the sweep; the finished runs go back through core's summaries.
// Pure functions of plain data, unit-tested without a browser. plan.ts is plain TypeScript
// (no TensorFlow.js), so importing its code keeps the page bundle TF.js-free.
import {
  errorRatioMarkdown,
  estimationErrorRatios,
  expandSweep,
  formatMeanStd,
  gridLabel,
  markdownTable,
  pairedDifferenceMarkdown,
  pairedDifferences,
  percent,
  rowLabel,
  summarizeSweep,
  type SweepCell,
  type SweepConfig,
  type SweepRow,
  type SweepRun,
} from '../../core/experiments/plan';
import {
  errorViewOf,
  estimationErrorKey,
  PAPER_ERROR_VIEW,
  type ErrorView,
} from '../../core/metrics/error-keys';
import { paramError, type ParamSpec } from '../../core/methods/params';
import type { Catalog, MethodInfo, RunConfig } from '../../worker/protocol';
import { MAX_STEPS } from './config';
import type { RunRecord, RunStatus } from './runs';

export type { SweepCell, SweepConfig, SweepRow, SweepRun };

/** More runs than this from one click is almost surely a typo ("1-1000" for "1-10"). */
export const MAX_SWEEP_RUNS = 1000;

/** The sweep form: lists as typed, so "1e-" or "0, 0.2, …" can be on their way. */
export interface SweepDraft {
  name: string;
  methods: string[];
  /** 'half', 'copy' or an architecture; '' leaves each method its own default (as the CLI does). */
  student: string;
  /** K values (each method's shotsPerClass), e.g. "1, 5". */
  shots: string;
  /** e.g. "1-5" or "1, 2, 3". */
  seeds: string;
  /** The numeric parameter to sweep ('' for none), and its values, e.g. "0, 0.2, …, 1". */
  gridParam: string;
  gridValues: string;
  /** Shared parameter values set in the form, given to every chosen method that has them. */
  params: Record<string, unknown>;
}

// ---- lists ----

const ELLIPSIS = /^(…|\.\.\.)$/;
const round = (x: number) => Number(x.toPrecision(12));

/**
 * "1, 5" · "1-5" (whole numbers only) · "0, 0.2, …, 1" (the ellipsis continues the step of the
 * two values before it up to the value after it). Throws an Error naming the bad part.
 */
export function parseList(text: string, opts: { int: boolean }): number[] {
  const tokens = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const parse = (t: string): number => {
    const v = t === '' ? NaN : Number(t);
    if (!Number.isFinite(v)) throw new Error(`'${t}' is not a number`);
    if (opts.int && !Number.isInteger(v)) throw new Error(`'${t}' is not a whole number`);
    return v;
  };
  const values: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const range = opts.int ? /^(\d+)\s*(?:-|–|\.\.)\s*(\d+)$/.exec(token) : null;
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new Error(`the range '${token}' runs backwards`);
      for (let v = from; v <= to; v++) values.push(v);
    } else if (ELLIPSIS.test(token)) {
      const next = tokens[i + 1];
      if (values.length < 2 || next === undefined || ELLIPSIS.test(next)) {
        throw new Error('"…" needs two values before it and one after it, as in 0, 0.2, …, 1');
      }
      const last = values[values.length - 1];
      const step = last - values[values.length - 2];
      const end = parse(next);
      const count = (end - last) / step;
      if (!(step > 0) || !(count >= 1) || Math.abs(count - Math.round(count)) > 1e-9) {
        throw new Error(`"…" cannot step from ${last} by ${round(step)} to ${end}`);
      }
      for (let j = 1; j < Math.round(count); j++) values.push(round(last + j * step));
    } else {
      values.push(parse(token));
    }
  }
  const seen = new Set<number>();
  for (const v of values) {
    if (seen.has(v)) throw new Error(`${v} appears twice`);
    seen.add(v);
  }
  return values;
}

/** The inverse for display: consecutive whole numbers become "1-5". */
export function formatList(values: readonly unknown[]): string {
  const ints = values.every((v) => Number.isInteger(v)) ? (values as number[]) : undefined;
  if (ints && ints.length > 2 && ints.every((v, i) => i === 0 || v === ints[i - 1] + 1)) {
    return `${ints[0]}-${ints[ints.length - 1]}`;
  }
  return values.map(String).join(', ');
}

// ---- the form ↔ the file ----

export interface SharedParam {
  key: string;
  spec: ParamSpec;
  /** The chosen methods that have it. */
  methods: string[];
}

/** Every parameter of the chosen methods, in schema order, with the methods that have it. */
export function sweepParams(catalog: Catalog, methodIds: readonly string[]): SharedParam[] {
  const out = new Map<string, SharedParam>();
  for (const id of methodIds) {
    const method = catalog.methods.find((m) => m.id === id);
    for (const [key, spec] of Object.entries(method?.params ?? {})) {
      const entry = out.get(key);
      if (entry) entry.methods.push(id);
      else out.set(key, { key, spec, methods: [id] });
    }
  }
  return [...out.values()];
}

/** The parameters a grid can sweep: numeric ones other than K. */
export function gridChoices(catalog: Catalog, methodIds: readonly string[]): SharedParam[] {
  return sweepParams(catalog, methodIds).filter(
    (p) => p.key !== 'shotsPerClass' && (p.spec.kind === 'int' || p.spec.kind === 'number'),
  );
}

/** A first sweep from the run form: its method, and the parameters set away from the defaults. */
export function initialDraft(config: RunConfig, catalog: Catalog): SweepDraft {
  const method = catalog.methods.find((m) => m.id === config.method);
  const params = Object.fromEntries(
    Object.entries(config.params).filter(
      ([k, v]) => k !== 'shotsPerClass' && method?.params[k] && method.params[k].default !== v,
    ),
  );
  return {
    name: '',
    methods: method ? [method.id] : [],
    // A student chosen away from the method's default is kept; otherwise each method its own.
    student: method && config.student !== method.defaultStudent ? config.student : '',
    shots: '1, 5',
    seeds: '1-3',
    gridParam: '',
    gridValues: '',
    params,
  };
}

/**
 * The sweep the form describes: teacher, dataset, steps and test examples from the run
 * configuration; methods, student, K, seeds, grid and shared parameters from the draft. A list
 * that does not parse gives an error message instead.
 */
export function draftSweep(
  config: RunConfig,
  draft: SweepDraft,
  catalog: Catalog,
): SweepConfig | string {
  const problems: string[] = [];
  const list = (what: string, text: string, int: boolean): number[] => {
    try {
      return parseList(text, { int });
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
      return [];
    }
  };
  const shotsPerClass = list('K values', draft.shots, true);
  const seeds = list('seeds', draft.seeds, true);
  const choices = gridChoices(catalog, draft.methods);
  const gridParam = choices.some((p) => p.key === draft.gridParam) ? draft.gridParam : '';
  const gridValues = gridParam ? list('grid values', draft.gridValues, false) : [];
  if (gridParam && !problems.length && gridValues.length === 0) {
    problems.push(`grid values: give at least one value of ${gridParam}`);
  }
  if (problems.length) return `Cannot read the sweep: ${problems.join('; ')}`;
  const shared = new Set(sweepParams(catalog, draft.methods).map((p) => p.key));
  const params = Object.fromEntries(
    Object.entries(draft.params).filter(
      ([k]) => shared.has(k) && k !== 'shotsPerClass' && k !== gridParam,
    ),
  );
  const name = draft.name.trim();
  return {
    ...(name ? { name } : {}),
    teacher: config.teacher,
    dataset: config.dataset,
    ...(draft.student ? { student: draft.student } : {}),
    methods: [...draft.methods],
    shotsPerClass,
    seeds,
    ...(Object.keys(params).length ? { params } : {}),
    ...(gridParam ? { grid: { [gridParam]: gridValues } } : {}),
    steps: config.steps,
    testExamples: config.testExamples,
    ...(config.shots && { shots: config.shots }),
    ...(config.shots && config.shotsAsTest && { shotsAsTest: true }),
  };
}

/** What expandSweep makes of the sweep, and whether every run could start; one message if not. */
export function planSweep(
  sweep: SweepConfig,
  catalog: Catalog,
  imageSets: ReadonlySet<string> = new Set(),
): { cells: SweepCell[] } | { error: string } {
  let cells: SweepCell[];
  try {
    cells = expandSweep(sweep, catalog.methods);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const problems = new Set<string>();
  if (!catalog.teachers.some((t) => t.id === sweep.teacher)) {
    problems.add(
      `unknown teacher '${sweep.teacher}' (built in: ${catalog.teachers.map((t) => t.id).join(', ')})`,
    );
  }
  if (!catalog.datasets.some((d) => d.id === sweep.dataset)) {
    problems.add(`unknown dataset '${sweep.dataset}'`);
  }
  if (sweep.shots !== undefined && !imageSets.has(sweep.shots)) {
    problems.add(`the uploaded images '${sweep.shots}' are not in this browser`);
  }
  const students = ['half', 'copy', ...catalog.architectures.map((a) => a.id)];
  if (sweep.student !== undefined && !students.includes(sweep.student)) {
    problems.add(`unknown student '${sweep.student}' (one of ${students.join(', ')})`);
  }
  const whole = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (sweep.steps !== undefined && !whole(sweep.steps, 1, MAX_STEPS)) {
    problems.add(`steps must be a whole number between 1 and ${MAX_STEPS}`);
  }
  if (sweep.testExamples !== undefined && !whole(sweep.testExamples, 0, Infinity)) {
    problems.add('testExamples must be a whole number ≥ 0');
  }
  if (!sweep.seeds.every((s) => whole(s, 0, Number.MAX_SAFE_INTEGER))) {
    problems.add('seeds must be whole numbers ≥ 0');
  }
  // The runner would refuse these one run at a time; say so before anything is queued.
  for (const cell of cells) {
    const method = catalog.methods.find((m) => m.id === cell.method)!;
    for (const [key, value] of Object.entries(cell.params)) {
      const spec = method.params[key];
      const err = spec ? paramError(spec, value) : 'is not one of its parameters';
      if (err) problems.add(`${method.id}: ${key} ${err} (got ${JSON.stringify(value)})`);
    }
  }
  if (cells.length > MAX_SWEEP_RUNS) {
    problems.add(`${cells.length} runs is more than the page queues at once (${MAX_SWEEP_RUNS})`);
  }
  return problems.size ? { error: `Bad sweep config: ${[...problems].join('; ')}` } : { cells };
}

export interface ResolvedSweep {
  sweep?: SweepConfig;
  cells?: SweepCell[];
  error?: string;
}

/**
 * The sweep the panel shows: a loaded file as written, else the form on the run configuration.
 * `imageSets`: the ids of the uploaded image sets in this browser.
 */
export function resolveSweep(
  catalog: Catalog,
  config: RunConfig,
  draft: SweepDraft,
  file?: SweepConfig,
  imageSets?: ReadonlySet<string>,
): ResolvedSweep {
  const sweep = file ?? draftSweep(config, draft, catalog);
  if (typeof sweep === 'string') return { error: sweep };
  const plan = planSweep(sweep, catalog, imageSets);
  return 'error' in plan ? { sweep, error: plan.error } : { sweep, cells: plan.cells };
}

/** A cell as an ordinary run: the method's defaults under the cell's parameters. */
export function cellRunConfig(
  sweep: SweepConfig,
  cell: SweepCell,
  method: MethodInfo,
  backend: RunConfig['backend'],
): RunConfig {
  const defaults = Object.fromEntries(
    Object.entries(method.params).map(([k, p]) => [k, p.default]),
  );
  return {
    teacher: sweep.teacher,
    dataset: sweep.dataset,
    student: sweep.student ?? method.defaultStudent,
    method: cell.method,
    params: { ...defaults, ...cell.params },
    seed: cell.seed,
    steps: sweep.steps ?? method.defaultSteps,
    testExamples: sweep.testExamples ?? 0,
    backend,
    ...(sweep.shots && { shots: sweep.shots }),
    ...(sweep.shots && sweep.shotsAsTest && { shotsAsTest: true }),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a sweep file's text; throws an Error that says what is wrong with it. */
export function parseSweepFile(text: string): SweepConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`Not a sweep file: the text is not JSON (${(e as Error).message}).`, {
      cause: e,
    });
  }
  if (!isObject(doc)) {
    throw new Error('Not a sweep file: expected an object like {"teacher": …, "methods": […]}.');
  }
  const problems: string[] = [];
  const need = (key: string, ok: (v: unknown) => boolean, what: string, optional = false) => {
    if (optional && doc[key] === undefined) return;
    if (!ok(doc[key])) problems.push(`${key} must be ${what}`);
  };
  const isString = (v: unknown) => typeof v === 'string';
  const isNumber = (v: unknown) => typeof v === 'number';
  const arrayOf = (ok: (v: unknown) => boolean) => (v: unknown) => Array.isArray(v) && v.every(ok);
  need('name', isString, 'a string', true);
  need('teacher', isString, 'a teacher id');
  need('dataset', isString, 'a dataset id');
  need('student', isString, "'half', 'copy' or an architecture id", true);
  need('methods', arrayOf(isString), 'a list of method ids');
  need('shotsPerClass', arrayOf(isNumber), 'a list of numbers');
  need('seeds', arrayOf(isNumber), 'a list of numbers');
  need('params', isObject, 'an object of parameter values', true);
  need(
    'methodParams',
    (v) => isObject(v) && Object.values(v).every(isObject),
    'an object of per-method parameter objects',
    true,
  );
  need(
    'grid',
    (v) => isObject(v) && Object.values(v).every((l) => Array.isArray(l)),
    'an object of value lists',
    true,
  );
  need('steps', isNumber, 'a number', true);
  need('testExamples', isNumber, 'a number', true);
  need('shots', isString, "an uploaded image set's id", true);
  need('shotsAsTest', (v) => typeof v === 'boolean', 'true or false', true);
  if (problems.length) throw new Error(`Not a sweep file: ${problems.join('; ')}.`);
  return doc as unknown as SweepConfig;
}

/** JSON with object keys sorted, so two configs compare by content. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** The sweep with what it leaves to defaults filled in: two sweeps that run the same compare equal. */
function normalized(sweep: SweepConfig, catalog: Catalog): unknown {
  const methods = sweep.methods.map((id) => catalog.methods.find((m) => m.id === id));
  const same = <T>(values: T[]) => (values.every((v) => v === values[0]) ? values[0] : undefined);
  const nonEmpty = (o: object | undefined) => (o && Object.keys(o).length ? o : undefined);
  return {
    ...sweep,
    name: sweep.name || undefined,
    student: sweep.student ?? same(methods.map((m) => m?.defaultStudent)),
    steps: sweep.steps ?? same(methods.map((m) => m?.defaultSteps)),
    testExamples: sweep.testExamples || undefined,
    params: nonEmpty(sweep.params),
    methodParams: nonEmpty(
      Object.fromEntries(
        Object.entries(sweep.methodParams ?? {}).filter(([, p]) => Object.keys(p).length),
      ),
    ),
    grid: nonEmpty(sweep.grid),
  };
}

/**
 * The form that describes exactly this sweep, or undefined when the form cannot (per-method
 * overrides, several grid parameters, an unknown teacher or method, parameters outside the
 * chosen methods…): such a file runs as written instead.
 */
export function draftFromSweep(
  sweep: SweepConfig,
  catalog: Catalog,
  base: RunConfig,
): { config: RunConfig; draft: SweepDraft } | undefined {
  const methods = sweep.methods.map((id) => catalog.methods.find((m) => m.id === id));
  if (!methods.length || methods.some((m) => !m)) return undefined;
  if (!catalog.teachers.some((t) => t.id === sweep.teacher)) return undefined;
  const gridKeys = Object.keys(sweep.grid ?? {});
  if (gridKeys.length > 1) return undefined;
  const steps = sweep.steps ?? methods[0]!.defaultSteps;
  const { shots: _shots, shotsAsTest: _asTest, ...rest } = base;
  const config: RunConfig = {
    ...rest,
    teacher: sweep.teacher,
    dataset: sweep.dataset as RunConfig['dataset'],
    steps,
    testExamples: sweep.testExamples ?? 0,
    ...(sweep.shots && { shots: sweep.shots }),
    ...(sweep.shots && sweep.shotsAsTest && { shotsAsTest: true }),
  };
  const draft: SweepDraft = {
    name: sweep.name ?? '',
    methods: [...sweep.methods],
    student: sweep.student ?? '',
    shots: formatList(sweep.shotsPerClass ?? []),
    seeds: formatList(sweep.seeds),
    gridParam: gridKeys[0] ?? '',
    gridValues: gridKeys.length ? sweep.grid![gridKeys[0]].map(String).join(', ') : '',
    params: { ...(sweep.params ?? {}) },
  };
  const rebuilt = draftSweep(config, draft, catalog);
  if (typeof rebuilt === 'string') return undefined;
  return canonical(normalized(rebuilt, catalog)) === canonical(normalized(sweep, catalog))
    ? { config, draft }
    : undefined;
}

// ---- a sweep's runs ----

export type SweepStatus = 'queued' | 'running' | 'done' | 'incomplete';

export interface SweepInfo {
  id: string;
  config: SweepConfig;
  /** The number of cells; runs deleted by hand leave it larger than runIds. */
  total: number;
  createdAt: number;
  /** Run ids in expandSweep's order. */
  runIds: string[];
  counts: Partial<Record<RunStatus, number>>;
  status: SweepStatus;
}

/** "kd, cd · K 1, 5 · mu 0, 1 · seeds 1-3": the axes of a sweep, in the rail and its view. */
export function describeSweep(sweep: SweepConfig): string {
  const grid = Object.entries(sweep.grid ?? {})
    .map(([k, v]) => ` · ${k} ${formatList(v)}`)
    .join('');
  return (
    `${sweep.methods.join(', ')}${sweep.shotsPerClass?.length ? ` · K ${formatList(sweep.shotsPerClass)}` : ''}${grid} · ` +
    `seeds ${formatList(sweep.seeds)}${sweep.shots ? ' · uploaded images' : ''}`
  );
}

const sweepStatus = (counts: SweepInfo['counts'], total: number): SweepStatus =>
  counts.running || counts.paused
    ? 'running'
    : counts.queued
      ? 'queued'
      : (counts.done ?? 0) === total
        ? 'done'
        : 'incomplete';

/** The sweeps the runs belong to, by id. */
export function collectSweeps(runs: Record<string, RunRecord>): Map<string, SweepInfo> {
  const sweeps = new Map<string, SweepInfo & { index: number[] }>();
  for (const run of Object.values(runs)) {
    const tag = run.sweep;
    if (!tag) continue;
    let info = sweeps.get(tag.id);
    if (!info) {
      info = {
        id: tag.id,
        config: tag.config,
        total: tag.total,
        createdAt: run.createdAt,
        runIds: [],
        index: [],
        counts: {},
        status: 'queued',
      };
      sweeps.set(tag.id, info);
    }
    info.createdAt = Math.min(info.createdAt, run.createdAt);
    info.runIds.push(run.id);
    info.index.push(tag.index);
    info.counts[run.status] = (info.counts[run.status] ?? 0) + 1;
  }
  const out = new Map<string, SweepInfo>();
  for (const { index, ...info } of sweeps.values()) {
    const order = info.runIds.map((id, i) => [index[i], id] as const).sort((a, b) => a[0] - b[0]);
    info.runIds = order.map(([, id]) => id);
    info.status = sweepStatus(info.counts, info.total);
    out.set(info.id, info);
  }
  return out;
}

/** The sweep's finished runs as core's SweepRuns, with the last layers event of every error view. */
export function sweepResults(records: readonly RunRecord[]): SweepRun[] {
  return records
    .filter((r) => r.sweep && r.status === 'done' && r.result)
    .sort((a, b) => a.sweep!.index - b.sweep!.index)
    .map((r) => {
      const estimationErrors: NonNullable<SweepRun['estimationErrors']> = {};
      for (const [key, { labels, values }] of Object.entries(r.layers)) {
        const view = errorViewOf(key);
        if (view) estimationErrors[estimationErrorKey(view)] = { labels, values };
      }
      return { cell: r.sweep!.cell, result: r.result!, estimationErrors };
    });
}

/** The estimation-error views the sweep's finished runs reported. */
export function reportedErrorViews(records: readonly RunRecord[]): ErrorView[] {
  const keys = new Set(sweepResults(records).flatMap((r) => Object.keys(r.estimationErrors ?? {})));
  return [...keys].flatMap((k) => errorViewOf(k) ?? []);
}

const gridKey = (g: Record<string, unknown>) => canonical(g);

export { gridLabel, rowLabel };

export interface SweepTableRow {
  label: string;
  method: string;
  grid: Record<string, unknown>;
  /** One per K: the summary so far (undefined before a seed finished) and the seeds planned. */
  cells: { row?: SweepRow; planned: number }[];
}

export interface SweepTable {
  shots: number[];
  rows: SweepTableRow[];
}

/**
 * Mean ± std test accuracy per method (and grid cell) × K: the paper's Table 1. Rows and
 * columns come from every cell of the sweep, so the table has its final shape from the start.
 */
export function sweepTable(records: readonly RunRecord[]): SweepTable {
  const cells = records
    .filter((r) => r.sweep)
    .sort((a, b) => a.sweep!.index - b.sweep!.index)
    .map((r) => r.sweep!.cell);
  const shots = [...new Set(cells.map((c) => c.shotsPerClass))].sort((a, b) => a - b);
  const summary = summarizeSweep(sweepResults(records));
  const rows = new Map<string, SweepTableRow>();
  for (const cell of cells) {
    const label = rowLabel(cell.method, cell.grid);
    let row = rows.get(label);
    if (!row) {
      row = {
        label,
        method: cell.method,
        grid: cell.grid,
        cells: shots.map(() => ({ planned: 0 })),
      };
      rows.set(label, row);
    }
    row.cells[shots.indexOf(cell.shotsPerClass)].planned++;
  }
  for (const r of summary) {
    const row = rows.get(rowLabel(r.method, r.grid));
    if (row) row.cells[shots.indexOf(r.shotsPerClass)].row = r;
  }
  return { shots, rows: [...rows.values()] };
}

/** "97.12 ± 0.35 (3)", with "(2 of 3)" while seeds are missing, "97.12 (1)" from one, or "–". */
export function formatCell(cell: SweepTableRow['cells'][number]): string {
  const { row, planned } = cell;
  if (!row) return '–';
  const n = row.n < planned ? `${row.n} of ${planned}` : String(row.n);
  return `${formatMeanStd(row, row.n, percent)} (${n})`;
}

/** The table as Markdown, shaped like `npx clab sweep`'s. */
export function sweepMarkdown(sweep: SweepConfig, records: readonly RunRecord[]): string {
  const table = sweepTable(records);
  const results = sweepResults(records);
  const teacherAcc = results[0]?.result.teacher.accuracy;
  const lines = [
    `### ${sweep.name ?? `${sweep.teacher} on ${sweep.dataset}`}`,
    '',
    `Teacher ${sweep.teacher}: ${teacherAcc === undefined ? '?' : percent(teacherAcc)}% test accuracy. ` +
      `Student test accuracy (%), mean ± std over seeds ${sweep.seeds.join(', ')} (n)` +
      `${sweep.testExamples ? ` on the first ${sweep.testExamples} test images` : ''}; ` +
      `shared params ${JSON.stringify(sweep.params ?? {})}.`,
    '',
    ...markdownTable(
      ['method', ...table.shots.map((k) => `K = ${k}`)],
      table.rows.map((r) => [r.label, ...r.cells.map(formatCell)]),
    ),
  ];
  lines.push(...pairedDifferenceMarkdown(pairedDifferences(results)));
  lines.push(...errorRatioMarkdown(estimationErrorRatios(results), PAPER_ERROR_VIEW));
  lines.push('', `${results.length} of ${records.length} runs finished; made in Compression Lab.`);
  return lines.join('\n');
}

/** One row per method × grid cell × K: for spreadsheets and plotting scripts. */
export function sweepCsv(records: readonly RunRecord[]): string {
  const table = sweepTable(records);
  const keys = [...new Set(table.rows.flatMap((r) => Object.keys(r.grid)))];
  const quote = (v: unknown) => {
    const s = v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [
    ['method', ...keys, 'K', 'accuracy_mean', 'accuracy_std', 'n', 'planned'].join(','),
  ];
  for (const row of table.rows) {
    row.cells.forEach((cell, i) => {
      lines.push(
        [
          row.method,
          ...keys.map((k) => row.grid[k]),
          table.shots[i],
          cell.row?.mean,
          cell.row?.std,
          cell.row?.n ?? 0,
          cell.planned,
        ]
          .map(quote)
          .join(','),
      );
    });
  }
  return lines.join('\n');
}

export interface SensitivitySeries {
  label: string;
  method: string;
  shotsPerClass: number;
  /** A method without the grid's parameter: one value, drawn flat across the grid. */
  flat: boolean;
  points: { x: number; mean: number; std: number; n: number }[];
}

/**
 * Accuracy against the grid's one numeric parameter (the paper's Fig. 3 for μ): one series per
 * method × K; methods without the parameter are flat reference lines. Undefined when the sweep
 * has no such grid.
 */
export function sensitivity(
  records: readonly RunRecord[],
): { param: string; series: SensitivitySeries[] } | undefined {
  const table = sweepTable(records);
  const keys = [...new Set(table.rows.flatMap((r) => Object.keys(r.grid)))];
  if (keys.length !== 1) return undefined;
  const [param] = keys;
  const xs = table.rows.map((r) => r.grid[param]).filter((x) => x !== undefined);
  if (!xs.every((x) => typeof x === 'number')) return undefined;
  const [lo, hi] = [Math.min(...(xs as number[])), Math.max(...(xs as number[]))];
  const series = new Map<string, SensitivitySeries>();
  for (const row of table.rows) {
    const x = row.grid[param] as number | undefined;
    row.cells.forEach(({ row: r }, i) => {
      const k = table.shots[i];
      const label = `${row.method} K=${k}`;
      const s = series.get(label) ?? {
        label,
        method: row.method,
        shotsPerClass: k,
        flat: x === undefined,
        points: [],
      };
      series.set(label, s);
      if (!r) return;
      const point = { mean: r.mean, std: r.std, n: r.n };
      if (x === undefined) s.points.push({ x: lo, ...point }, { x: hi, ...point });
      else s.points.push({ x, ...point });
    });
  }
  for (const s of series.values()) s.points.sort((a, b) => a.x - b.x);
  return { param, series: [...series.values()] };
}

export interface RatioSeries {
  label: string;
  /** The table row (method and grid cell) and K it belongs to. */
  row: string;
  shotsPerClass: number;
  labels: string[];
  values: number[];
}

/**
 * Per-layer estimation error of each method (and grid cell) over 'layerwise' with the same K
 * and seeds (the paper's Fig. 2), in one view (by default the paper's), from core's
 * estimationErrorRatios. Empty without layerwise runs or runs that reported that view.
 */
export function errorRatioSeries(
  records: readonly RunRecord[],
  view: ErrorView = PAPER_ERROR_VIEW,
): RatioSeries[] {
  const table = sweepTable(records);
  return estimationErrorRatios(sweepResults(records), { view }).map(
    ({ method, grid, shotsPerClass, labels, values }) => {
      const row = table.rows.find((r) => r.method === method && gridKey(r.grid) === gridKey(grid))!;
      return {
        label: `${row.label} K=${shotsPerClass}`,
        row: row.label,
        shotsPerClass,
        labels,
        values,
      };
    },
  );
}
