// A run as the page keeps it (and IndexedDB stores it): its config, status, the down-sampled
// event stream and the result. Pure functions of the worker's messages, so they are unit-tested
// without a browser.
import type {
  BackendInfo,
  BackendName,
  FromWorker,
  InferenceLatency,
  MethodInfo,
  ModelStats,
  RunConfig,
  RunError,
  RunEvent,
  RunResult,
} from '../../worker/protocol';
import type { SweepCell, SweepConfig } from '../../core/experiments/plan';
import type { ParamChange } from '../../core/methods/params';
import { formatNumber, formatPercent } from '../format';
import { appendPoints, type Point } from './lttb';

export type RunStatus =
  'queued' | 'running' | 'paused' | 'done' | 'stopped' | 'failed' | 'interrupted';

/** Statuses in which the worker still owns the run. */
export const ACTIVE: ReadonlySet<RunStatus> = new Set(['queued', 'running', 'paused']);

export type ImagesEvent = Extract<RunEvent, { kind: 'images' }>;
export type TableEvent = Extract<RunEvent, { kind: 'table' }>;
export type EmbeddingEvent = Extract<RunEvent, { kind: 'embedding' }>;
export type CurveEvent = Extract<RunEvent, { kind: 'curve' }>;
export interface LayersSnapshot {
  step: number;
  labels: string[];
  values: number[];
}

/** A network's inference latency on one backend, and when it was measured. */
export interface MeasuredLatency {
  batch1Ms: number;
  perImageMs: number;
  at: number;
}

/** The latest measurement on each backend measured on. */
export type LatencyByBackend = Partial<Record<BackendName, MeasuredLatency>>;

/** A run made by a sweep: which sweep, which of its cells, and the sweep's config. */
export interface SweepTag {
  id: string;
  /** The cell's place in expandSweep's order, and the number of cells. */
  index: number;
  total: number;
  cell: SweepCell;
  /** The same on every run of the sweep, so the sweep is rebuilt from its runs alone. */
  config: SweepConfig;
}

const STAGE_JOIN = ' · ';

/**
 * The stage markers with one more: stages that begin at the same step (the analysis phases
 * after a run's last step, two changes at once) share one marker and one label, which would
 * otherwise be drawn over each other.
 */
function withStage(
  stages: RunRecord['stages'],
  step: number,
  label: string,
): NonNullable<RunRecord['stages']> {
  const all = stages ?? [];
  const last = all.at(-1);
  if (last?.step !== step) return [...all, { step, label }];
  return [...all.slice(0, -1), { step, label: `${last.label}${STAGE_JOIN}${label}` }];
}

export interface RunRecord {
  id: string;
  createdAt: number;
  /** When the worker began it, and when it ended (ms since the epoch). */
  startedAt?: number;
  endedAt?: number;
  config: RunConfig;
  /** The method's title when the run was made (the list shows it even for a removed method). */
  methodTitle: string;
  status: RunStatus;
  backend?: BackendInfo;
  progress?: { step: number; total: number; phase?: string };
  /**
   * Where each named phase of training began (a layer's solve, the fine-tune) and where live
   * parameters changed ("learning rate 0.01 → 0.001"): chart markers.
   */
  stages?: { step: number; label: string }[];
  /** The live parameter changes the run made, at their steps (its recipe's schedule). */
  schedule?: ParamChange[];
  /** First and latest training progress with their wall-clock times: the ETA's rate. */
  rate?: { t0: number; step0: number; t: number; step: number };
  /** Scalar series by key, each down-sampled to a few hundred points. */
  scalars: Record<string, Point[]>;
  /** The latest per-layer values by key. */
  layers: Record<string, LayersSnapshot>;
  images: Record<string, ImagesEvent>;
  tables: Record<string, TableEvent>;
  embeddings: Record<string, EmbeddingEvent>;
  /** Absent in runs saved before curve events existed. */
  curves?: Record<string, CurveEvent>;
  logs: { level: 'info' | 'warn'; message: string }[];
  models?: { teacher: ModelStats; student: ModelStats };
  /** The test set's class names, to name classes in views (absent in older runs). */
  classNames?: string[];
  result?: RunResult;
  error?: RunError;
  /** The student's TF.js Layers files are stored (IndexedDB, beside the record). */
  hasStudent: boolean;
  /** The stored student is the checkpoint of this step, not a finished run's. */
  checkpointStep?: number;
  /** The run went on from its checkpoint of this step (the latest time it was resumed). */
  resumedFrom?: number;
  /** Set when a sweep queued this run. */
  sweep?: SweepTag;
  /** The stored student's inference latency, per backend it was measured on. */
  latency?: LatencyByBackend;
  /** The teacher's, measured alongside, so both sit side by side. */
  teacherLatency?: LatencyByBackend;
}

/** Adds a measurement on its backend (replacing an older one there); none leaves them as they were. */
export function withLatency(
  byBackend: LatencyByBackend | undefined,
  measured: InferenceLatency | undefined,
  at: number,
): LatencyByBackend | undefined {
  if (!measured) return byBackend;
  const { backend, batch1Ms, perImageMs } = measured;
  return { ...byBackend, [backend]: { batch1Ms, perImageMs, at } };
}

/** Why a run's inference latency cannot be measured, or undefined when it can. */
export function latencyUnavailable(run: RunRecord): string | undefined {
  if (run.hasStudent) return undefined;
  return ACTIVE.has(run.status) ? 'it has no student yet' : 'it has no stored student';
}

/** Newest first; a sweep's runs share a creation time and keep their cell order. */
export function newestFirst(a: RunRecord, b: RunRecord): number {
  return b.createdAt - a.createdAt || (b.sweep?.index ?? 0) - (a.sweep?.index ?? 0);
}

const MAX_LOGS = 200;

export function newRun(id: string, config: RunConfig, methodTitle: string, now: number): RunRecord {
  return {
    id,
    createdAt: now,
    config,
    methodTitle,
    status: 'queued',
    scalars: {},
    layers: {},
    images: {},
    tables: {},
    embeddings: {},
    logs: [],
    hasStudent: false,
  };
}

/**
 * Folds a batch of events into the run. Only the parts that change get new objects, so a chart
 * whose series did not change keeps its props and skips rendering.
 */
export function applyEvents(run: RunRecord, events: readonly RunEvent[], now: number): RunRecord {
  const next: RunRecord = { ...run };
  const added: Record<string, Point[]> = {};
  const replace = <K extends 'layers' | 'images' | 'tables' | 'embeddings' | 'curves'>(
    field: K,
    key: string,
    value: NonNullable<RunRecord[K]>[string],
  ) => {
    if (next[field] === run[field]) next[field] = { ...run[field] };
    (next[field] as Record<string, unknown>)[key] = value;
  };
  const logs: RunRecord['logs'] = [];
  for (const e of events) {
    switch (e.kind) {
      case 'scalar':
        (added[e.key] ??= []).push({ step: e.step, value: e.value });
        break;
      case 'layers':
        replace('layers', e.key, { step: e.step, labels: e.labels, values: e.values });
        break;
      case 'images':
        replace('images', e.key, e);
        break;
      case 'table':
        replace('tables', e.key, e);
        break;
      case 'embedding':
        replace('embeddings', e.key, e);
        break;
      case 'curve':
        replace('curves', e.key, e);
        break;
      case 'log':
        logs.push({ level: e.level, message: e.message });
        break;
      case 'checkpoint': {
        const metrics = Object.entries(e.metrics)
          .map(([k, v]) => `${k} ${formatNumber(v)}`)
          .join(', ');
        logs.push({ level: 'info', message: `checkpoint at step ${e.step}: ${metrics}` });
        break;
      }
      case 'params': {
        next.stages = withStage(next.stages, e.step, e.label);
        const made = next.schedule ?? [];
        next.schedule = [...made, { step: e.step, params: e.params }];
        break;
      }
      case 'progress': {
        next.progress = { step: e.step, total: e.total, phase: e.phase };
        // Step 0 is the worker's own setup ('loading teacher and data'), not a method's phase.
        // Nor is a phase after the last step (dynamic pruning's analysis): no curve goes on past it.
        const seen = next.stages?.some((s) => s.label.split(STAGE_JOIN).includes(e.phase!));
        const during = e.step > 0 && e.step < e.total;
        if (e.phase && during && !seen) next.stages = withStage(next.stages, e.step, e.phase);
        if (e.step > 0) {
          next.rate =
            next.rate && e.step >= next.rate.step0
              ? { ...next.rate, t: now, step: e.step }
              : { t0: now, step0: e.step, t: now, step: e.step };
        }
        break;
      }
    }
  }
  if (Object.keys(added).length > 0) {
    next.scalars = { ...run.scalars };
    for (const [key, points] of Object.entries(added)) {
      next.scalars[key] = appendPoints(run.scalars[key] ?? [], points);
    }
  }
  if (logs.length > 0) next.logs = run.logs.concat(logs).slice(-MAX_LOGS);
  return next;
}

/** The run after one worker message (the student's files are stored by the caller). */
export function applyMessage(run: RunRecord, msg: FromWorker, now: number): RunRecord {
  switch (msg.kind) {
    case 'started':
      return { ...run, status: 'running', startedAt: now };
    case 'backend':
      return { ...run, backend: msg.backend };
    case 'models':
      return {
        ...run,
        models: { teacher: msg.teacher, student: msg.student },
        classNames: msg.classNames,
      };
    case 'events':
      return applyEvents(run, msg.events, now);
    case 'paused':
      return { ...run, status: 'paused' };
    case 'resumed':
      return { ...run, status: 'running' };
    case 'params-set': // the change came as a 'params' event too, which marks it
    case 'params-refused': // the store shows why
      return run;
    case 'finished': {
      const { checkpointStep: _replaced, ...rest } = run;
      const { stoppedAtStep } = msg.result;
      return {
        ...rest,
        status: msg.result.status,
        result: msg.result,
        endedAt: now,
        hasStudent: true,
        // A stopped run's student is where it stopped: a checkpoint to resume from.
        ...(stoppedAtStep !== undefined && { checkpointStep: stoppedAtStep }),
      };
    }
    case 'student-checkpoint':
      return { ...run, hasStudent: true, checkpointStep: msg.step };
    case 'cancelled':
      return { ...run, status: 'stopped', endedAt: now };
    case 'failed':
      return { ...run, status: 'failed', error: msg.error, endedAt: now };
    case 'catalog':
    case 'catalog-failed':
    case 'task-done':
    case 'task-failed':
      return run;
  }
}

/** The parameter values the run trains with now: its start values and the changes made since. */
export function paramsNow(run: RunRecord): Record<string, unknown> {
  return Object.assign({}, run.config.params, ...(run.schedule ?? []).map((c) => c.params));
}

/**
 * The run's configuration with the live changes it made as its schedule, so its recipe
 * reproduces it; planned changes it did not reach yet stay planned.
 */
export function configWithChanges(run: RunRecord): RunConfig {
  const made = run.schedule ?? [];
  if (made.length === 0) return run.config;
  const last = made[made.length - 1].step;
  const planned = (run.config.schedule ?? []).filter((c) => c.step > last);
  return { ...run.config, schedule: [...made, ...planned] };
}

/** A run the page lost track of (reload, worker crash) is over, whatever it was doing. */
export function interrupt(run: RunRecord, error?: RunError): RunRecord {
  if (!ACTIVE.has(run.status)) return run;
  return error ? { ...run, status: 'failed', error } : { ...run, status: 'interrupted' };
}

/**
 * Whether a run that ended unfinished can go on from its checkpoint: its step, or why not (the
 * method's reason); undefined where the question does not arise (going on, done, no checkpoint).
 */
export function resumability(
  run: RunRecord,
  method: MethodInfo | undefined,
): { step: number } | { reason: string } | undefined {
  const step = run.checkpointStep;
  if (step === undefined || !run.hasStudent || step >= run.config.steps) return undefined;
  if (ACTIVE.has(run.status) || run.status === 'done') return undefined;
  if (step === 0) return { reason: 'nothing had been trained yet.' };
  if (!method) return { reason: `This page has no method '${run.config.method}'.` };
  return method.resume.resumable ? { step } : { reason: method.resume.reason };
}

/**
 * The run queued again to go on from its checkpoint: what the cut-off attempt streamed after the
 * checkpoint's step is dropped (so curves do not double back), the scalars up to it kept, and a
 * chart marker says where it was resumed. Tables carry no step and stay until replaced.
 */
export function resumedRun(run: RunRecord): RunRecord {
  const step = run.checkpointStep;
  if (step === undefined) throw new Error(`Run ${run.id} has no checkpoint to resume from`);
  const upTo = <T extends { step: number }>(byKey: Record<string, T>) =>
    Object.fromEntries(Object.entries(byKey).filter(([, v]) => v.step <= step));
  const scalars = Object.entries(run.scalars)
    .map(([key, points]) => [key, points.filter((p) => p.step <= step)] as const)
    .filter(([, points]) => points.length > 0);
  const { result: _r, error: _e, endedAt: _t, progress: _p, rate: _q, ...kept } = run;
  // Live changes made up to the checkpoint hold as it goes on: the runner makes them at once.
  const made = run.schedule?.filter((c) => c.step <= step);
  return {
    ...kept,
    config: configWithChanges({ ...run, schedule: made }),
    ...(made && { schedule: made }),
    status: 'queued',
    resumedFrom: step,
    scalars: Object.fromEntries(scalars),
    layers: upTo(run.layers),
    images: upTo(run.images),
    embeddings: upTo(run.embeddings),
    ...(run.curves && { curves: upTo(run.curves) }),
    stages: [
      ...(run.stages ?? []).filter((s) => s.step <= step),
      { step, label: `resumed from step ${step}` },
    ],
    logs: run.logs
      .concat({
        level: 'info',
        message: `Resumed from the checkpoint at step ${step}: it holds the student's weights and what the method keeps beside them (DAFL's and moment matching's generators, DeepInversion's pool of synthesised images, magnitude pruning's per-layer targets, the float weights behind quantized or binary kernels, the layer-by-layer methods' fitted layers' losses, the sensitivity scan's measurements), not the optimisers' state, which starts afresh.`,
      })
      .slice(-MAX_LOGS),
  };
}

/** Milliseconds left, from the rate of training progress so far. */
export function etaMs(run: RunRecord): number | undefined {
  const { rate, progress } = run;
  if (!rate || !progress || rate.step <= rate.step0) return undefined;
  const msPerStep = (rate.t - rate.t0) / (rate.step - rate.step0);
  return msPerStep * (progress.total - progress.step);
}

/** The number the run list shows: final student accuracy, else the latest accuracy or loss. */
export function keyMetric(run: RunRecord): { label: string; value: string } | undefined {
  if (run.result) return { label: 'acc', value: formatPercent(run.result.student.accuracy) };
  const latest = (prefix: string) => {
    const key = Object.keys(run.scalars).find((k) => k === prefix || k.startsWith(`${prefix}/`));
    const points = key ? run.scalars[key] : undefined;
    return points?.[points.length - 1]?.value;
  };
  const acc = latest('accuracy');
  if (acc !== undefined) return { label: 'acc', value: formatPercent(acc) };
  const loss = latest('loss');
  if (loss !== undefined) return { label: 'loss', value: formatNumber(loss) };
  return undefined;
}

/**
 * How views name the classes 0…count−1: the test set's names, where a bare number (MNIST's
 * "0"…"9", numbered upload folders) reads as "digit 3" on MNIST and "class 3" elsewhere.
 */
export function classLabels(run: Pick<RunRecord, 'config' | 'classNames'>, count: number) {
  const digits = run.config.dataset === 'mnist' && !run.config.shots;
  return Array.from({ length: count }, (_, c) => {
    const name = run.classNames?.[c] ?? String(c);
    return /^\d+$/.test(name) ? `${digits ? 'digit' : 'class'} ${name}` : name;
  });
}
