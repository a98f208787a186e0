// The comparison view's data: finished runs side by side, as rows of final metrics, points of an
// accuracy-vs-cost plane with its Pareto front, and the series and per-layer values several
// runs share. Pure functions of run records, unit-tested without a browser.
import type { BackendName } from '../../worker/protocol';
import { latencyUnavailable, type LatencyByBackend, type RunRecord } from './runs';

export interface ComparisonRow {
  id: string;
  /** Method, seed and what else tells the run apart from the others compared. */
  label: string;
  method: string;
  networks: string;
  /** The data the student learnt from: a dataset or uploaded images. */
  data: string;
  steps: number;
  seed: number;
  /** Student test accuracy, or agreement with the teacher when there was no labelled test set. */
  accuracy?: number;
  agreement: boolean;
  teacherAccuracy?: number;
  params?: number;
  nonZeroParams?: number;
  flops?: number;
  /** Dense float32 bytes of the student's weights. */
  bytes?: number;
  /** The exported weight file's bytes (quantized where exact, removed channels gone). */
  exportBytes?: number;
  /** That file gzipped. */
  gzipBytes?: number;
  /** Bytes of the method's own storage format (packed codes, Deep Compression's stream). */
  encodedBytes?: number;
  wallTimeMs?: number;
  backend?: string;
  /** The test images accuracy was measured on: 'all' or the first N. */
  testSet: string;
  /** Inference latency of the student and of its teacher, per backend measured on. */
  latency: LatencyByBackend;
  teacherLatency: LatencyByBackend;
  /** Why the student's latency cannot be measured (no stored student). */
  noLatency?: string;
}

/** Costs the accuracy-vs-cost plane can put on its x axis. */
export const COSTS = {
  bytes: 'student size (bytes, float32)',
  exportBytes: 'exported file (bytes)',
  gzipBytes: 'exported file gzipped (bytes)',
  encodedBytes: 'encoded size (bytes)',
  flops: 'FLOPs per image',
  params: 'parameters',
  nonZeroParams: 'non-zero parameters',
} as const;
/** Batch-1 inference latency on one backend: a cost only comparable on the same backend. */
export type LatencyCost = `latency:${BackendName}`;
export type Cost = keyof typeof COSTS | LatencyCost;

const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];
const latencyBackend = (cost: LatencyCost) => cost.slice('latency:'.length) as BackendName;
export const isLatencyCost = (cost: Cost): cost is LatencyCost => cost.startsWith('latency:');

export function costTitle(cost: Cost): string {
  return isLatencyCost(cost) ? `latency (ms, batch 1, ${latencyBackend(cost)})` : COSTS[cost];
}

/** A row's value of a cost, if it has one. */
export function costOf(row: ComparisonRow, cost: Cost): number | undefined {
  return isLatencyCost(cost) ? row.latency[latencyBackend(cost)]?.batch1Ms : row[cost];
}

const DATASET_TEST_SIZE: Record<string, number> = { mnist: 10000, fashion: 10000 };

function testSet(run: RunRecord): string {
  const { config } = run;
  if (config.shots) return config.shotsAsTest ? 'the uploaded images' : 'teacher agreement';
  const n = config.testExamples;
  return n && n < (DATASET_TEST_SIZE[config.dataset] ?? Infinity)
    ? `first ${n} ${config.dataset}`
    : `all ${config.dataset}`;
}

/**
 * The parameters in which a run differs from another compared run of its method, as
 * "temperature=1, mu=0.6" (what tells two KD runs apart is what was varied).
 */
function differingParams(run: RunRecord, runs: readonly RunRecord[]): string {
  const same = runs.filter((r) => r.config.method === run.config.method);
  return Object.entries(run.config.params)
    .filter(([key, value]) => same.some((r) => r.config.params[key] !== value))
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
}

/** The runs' rows, labelled so that no two read alike. */
export function comparisonRows(runs: readonly RunRecord[]): ComparisonRow[] {
  const rows = runs.map((run): ComparisonRow => {
    const { config, result, models } = run;
    const metric = (key: string) => result?.metrics[key];
    const changed = differingParams(run, runs);
    return {
      id: run.id,
      label: `${run.methodTitle}${changed ? ` · ${changed}` : ''} · seed ${config.seed}`,
      method: config.method,
      networks: `${models?.teacher.name ?? config.teacher} → ${models?.student.name ?? config.student}`,
      data: config.shots ? 'uploaded images' : config.dataset,
      steps: config.steps,
      seed: config.seed,
      accuracy: result?.student.accuracy,
      agreement: !!config.shots && !config.shotsAsTest,
      teacherAccuracy: result?.teacher.accuracy,
      params: result?.student.params ?? models?.student.params,
      nonZeroParams: result?.student.nonZeroParams ?? metric('nonzero-params'),
      flops: result?.student.flops ?? models?.student.flops,
      bytes: result?.student.bytes ?? models?.student.bytes,
      exportBytes: result?.student.exportBytes,
      gzipBytes: result?.student.gzipBytes,
      // Older runs of the few-shot methods name a formula's size 'quantized-bytes'.
      encodedBytes: metric('encoded-bytes') ?? metric('quantized-bytes'),
      wallTimeMs: result?.wallTimeMs,
      backend: run.backend?.name ?? result?.backend,
      testSet: testSet(run),
      latency: run.latency ?? {},
      teacherLatency: run.teacherLatency ?? {},
      noLatency: latencyUnavailable(run),
    };
  });
  // Runs that still read alike (the same method and seed) are told apart by their order.
  const seen = new Map<string, number>();
  for (const row of rows) seen.set(row.label, (seen.get(row.label) ?? 0) + 1);
  const counter = new Map<string, number>();
  for (const row of rows) {
    if (seen.get(row.label)! < 2) continue;
    const n = (counter.get(row.label) ?? 0) + 1;
    counter.set(row.label, n);
    row.label = `${row.label} (${n})`;
  }
  return rows;
}

/** A line naming the test sets when the runs were not all measured on the same one. */
export function testSetMismatch(rows: readonly ComparisonRow[]): string | undefined {
  const sets = [...new Set(rows.map((r) => r.testSet))];
  if (sets.length < 2) return undefined;
  return `These runs were measured on different test sets (${sets.join('; ')}): their accuracies are not directly comparable.`;
}

export interface CostPoint {
  id: string;
  cost: number;
  accuracy: number;
}

/**
 * The points no other point beats — none as cheap or cheaper and at least as accurate, with one
 * of the two strictly — in order of cost (accuracy then rises along it).
 */
export function paretoFront(points: readonly CostPoint[]): CostPoint[] {
  const sorted = [...points].sort((a, b) => a.cost - b.cost || b.accuracy - a.accuracy);
  const front: CostPoint[] = [];
  for (const p of sorted) {
    if (!front.length || p.accuracy > front[front.length - 1].accuracy) front.push(p);
  }
  return front;
}

/** The rows' points on a cost axis: those with both an accuracy and that cost. */
export function costPoints(rows: readonly ComparisonRow[], cost: Cost): CostPoint[] {
  return rows.flatMap((r) => {
    const c = costOf(r, cost);
    return r.accuracy !== undefined && c !== undefined
      ? [{ id: r.id, cost: c, accuracy: r.accuracy }]
      : [];
  });
}

/** The size and compute costs at least two of the rows have, in COSTS' order. */
export function availableCosts(rows: readonly ComparisonRow[]): Cost[] {
  return (Object.keys(COSTS) as (keyof typeof COSTS)[]).filter(
    (c) => rows.filter((r) => r.accuracy !== undefined && r[c] !== undefined).length >= 2,
  );
}

/** The backends any row's student was timed on, in the order backends are preferred. */
export function latencyBackends(rows: readonly ComparisonRow[]): BackendName[] {
  return BACKEND_ORDER.filter((b) => rows.some((r) => r.latency[b]));
}

/**
 * Latency as a cost, one per backend measured on: usable only when every run with an accuracy
 * has been timed on that backend (latencies on different backends do not compare). `missing`
 * names the runs that lack it; with nothing measured yet there is one entry, `cost` undefined.
 */
export function latencyCosts(
  rows: readonly ComparisonRow[],
): { cost?: LatencyCost; title: string; missing: string[] }[] {
  const plotted = rows.filter((r) => r.accuracy !== undefined);
  const backends = latencyBackends(rows);
  if (!backends.length) {
    return [{ title: 'latency (ms, batch 1)', missing: plotted.map((r) => r.label) }];
  }
  return backends.map((b) => {
    const cost: LatencyCost = `latency:${b}`;
    return {
      cost,
      title: costTitle(cost),
      missing: plotted.filter((r) => !r.latency[b]).map((r) => r.label),
    };
  });
}

/** Keys present in at least two of the records, in first-seen order. */
export function sharedKeys(records: readonly Record<string, unknown>[]): string[] {
  const counts = new Map<string, number>();
  for (const r of records) for (const k of Object.keys(r)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].filter(([, n]) => n >= 2).map(([k]) => k);
}
