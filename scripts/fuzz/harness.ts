// Runs fuzz inputs through the importers and counts how each ended. The property: every input
// ends in a graph that runs (or an image set) or in a ClabError with a readable message; never
// another exception, never past the time limit, never leaking tensors or memory past a cap.
// Shared by the seeded CI pass (src/core/io/fuzz.test.ts) and `npm run fuzz`.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { disposeGraph, predict, type Graph } from '../../src/core/graph';
import { ClabError } from '../../src/core/runtime/errors';
import { describeError, describeRecipe, describeRefused, MEMORY_CAP_BYTES, mib } from './report';
import type { FuzzTarget } from './targets';

export type OutcomeKind =
  | 'imported'
  | 'refused'
  /** Not a ClabError, or one without a message and hint. */
  | 'uncaught'
  /** Imported, but the graph does not run on an input of its own shape. */
  | 'broken'
  | 'hang';

interface Outcome {
  kind: OutcomeKind;
  /** The ClabError's class for 'refused'; the error otherwise. */
  error?: unknown;
  ms: number;
  leakedTensors: number;
}

export interface Failure {
  target: string;
  /** The input's index in its target's pass: `--only <target> --seed <seed> --at <index>` repeats it. */
  index: number;
  /** 'leak': the input left tensors behind, however it ended. */
  kind: OutcomeKind | 'leak';
  message: string;
  recipe: string;
}

export interface TargetReport {
  name: string;
  inputs: number;
  imported: number;
  /** ClabErrors by class name. */
  refused: Record<string, number>;
  uncaught: number;
  broken: number;
  hangs: number;
  leakedTensors: number;
  slowestMs: number;
}

export interface PassReport {
  seed: number;
  targets: TargetReport[];
  failures: Failure[];
  peakHeapBytes: number;
  peakRssBytes: number;
  /** Whether resident memory stayed under `memoryCapBytes`. */
  memoryWithinCap: boolean;
  seconds: number;
}

export interface PassOptions {
  /** Inputs per target. */
  count: number;
  seed: number;
  /** Run only the input at this index (reproducing a failure). */
  at?: number;
  timeLimitMs?: number;
  memoryCapBytes?: number;
  /** Called after each target's pass, e.g. to print progress. */
  onTarget?: (report: TargetReport) => void;
}

const readable = (e: ClabError) => e.message.trim() !== '' && e.hint.trim() !== '';

/** The graph runs on a batch of one input of its own shape and gives one score vector. */
function checkRuns(g: Graph): void {
  tf.tidy(() => {
    const y = predict(g, tf.zeros([1, ...g.inputShape]));
    if (y.shape.length !== 2 || y.shape[0] !== 1) {
      throw new Error(`the output has shape [${y.shape.join(', ')}], not [1, classes]`);
    }
  });
}

async function runOne(target: FuzzTarget, recipe: unknown, timeLimitMs: number): Promise<Outcome> {
  const tensorsBefore = tf.memory().numTensors;
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), timeLimitMs);
  });
  const ended = (kind: OutcomeKind, error?: unknown): Outcome => ({
    kind,
    error,
    ms: performance.now() - start,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  });
  let outcome: Outcome;
  try {
    const result = await Promise.race([target.run(target.build(recipe)), deadline]);
    if (result === 'hang') return ended('hang');
    if ('graph' in result) {
      try {
        checkRuns(result.graph);
      } catch (e) {
        disposeGraph(result.graph);
        return ended('broken', e);
      }
      disposeGraph(result.graph);
    }
    outcome = ended('imported');
  } catch (e) {
    outcome =
      e instanceof ClabError && readable(e) ? ended('refused', e.name) : ended('uncaught', e);
  } finally {
    clearTimeout(timer);
  }
  // Synchronous work cannot be interrupted; past the limit it counts as a hang all the same.
  return outcome.ms > timeLimitMs ? { ...outcome, kind: 'hang' } : outcome;
}

/** `count` inputs per target, drawn by fast-check from `seed`; returns the counts. */
export async function fuzzPass(targets: FuzzTarget[], opts: PassOptions): Promise<PassReport> {
  const { count, seed, at, timeLimitMs = 10_000, memoryCapBytes = MEMORY_CAP_BYTES } = opts;
  const started = performance.now();
  const failures: Failure[] = [];
  const reports: TargetReport[] = [];
  let peakHeapBytes = 0;
  let peakRssBytes = 0;
  for (const target of targets) {
    const report: TargetReport = {
      name: target.name,
      inputs: 0,
      imported: 0,
      refused: {},
      uncaught: 0,
      broken: 0,
      hangs: 0,
      leakedTensors: 0,
      slowestMs: 0,
    };
    // Recipes are small (mutations, not files): draw them all, build each file when it runs.
    const recipes = fc.sample(target.recipes, { seed, numRuns: at === undefined ? count : at + 1 });
    for (const [index, recipe] of recipes.entries()) {
      if (at !== undefined && index !== at) continue;
      const outcome = await runOne(target, recipe, timeLimitMs);
      const failure = (kind: Failure['kind'], message: string) =>
        failures.push({
          target: target.name,
          index,
          kind,
          message,
          recipe: describeRecipe(recipe),
        });
      report.inputs++;
      if (outcome.leakedTensors > 0) {
        report.leakedTensors += outcome.leakedTensors;
        failure('leak', `${outcome.leakedTensors} tensors left behind (${outcome.kind})`);
      }
      report.slowestMs = Math.max(report.slowestMs, outcome.ms);
      if (outcome.kind === 'imported') report.imported++;
      else if (outcome.kind === 'refused') {
        const name = String(outcome.error);
        report.refused[name] = (report.refused[name] ?? 0) + 1;
      } else {
        report[outcome.kind === 'hang' ? 'hangs' : outcome.kind]++;
        failure(
          outcome.kind,
          outcome.kind === 'hang' ? `${outcome.ms.toFixed(0)} ms` : describeError(outcome.error),
        );
      }
      const memory = process.memoryUsage();
      peakHeapBytes = Math.max(peakHeapBytes, memory.heapUsed);
      peakRssBytes = Math.max(peakRssBytes, memory.rss);
    }
    reports.push(report);
    opts.onTarget?.(report);
  }
  return {
    seed,
    targets: reports,
    failures,
    peakHeapBytes,
    peakRssBytes,
    memoryWithinCap: peakRssBytes <= memoryCapBytes,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The report as text: one line per target, then the first failures with how to repeat them. */
export function formatReport(r: PassReport, firstFailures = 5): string {
  const lines = r.targets.map((t) => {
    return (
      `${t.name}: ${t.inputs} inputs, ${t.imported} imported, refused (${describeRefused(t.refused)}), ` +
      `${t.uncaught} uncaught, ${t.broken} broken graphs, ${t.hangs} hangs, ` +
      `${t.leakedTensors} leaked tensors, slowest ${t.slowestMs.toFixed(0)} ms`
    );
  });
  const total = r.targets.reduce((n, t) => n + t.inputs, 0);
  lines.push(
    `total: ${total} inputs in ${r.seconds.toFixed(0)} s (seed ${r.seed}); peak heap ${mib(r.peakHeapBytes)}, ` +
      `peak RSS ${mib(r.peakRssBytes)}${r.memoryWithinCap ? '' : ' (past the cap)'}`,
  );
  for (const f of r.failures.slice(0, firstFailures)) {
    lines.push(
      `\n${f.kind} in ${f.target} #${f.index} (npm run fuzz -- --only ${f.target} --seed ${r.seed} --at ${f.index}):`,
      `  ${f.message}`,
      `  recipe: ${f.recipe}`,
    );
  }
  return lines.join('\n');
}

/** Whether the pass met the property. */
export const passed = (r: PassReport): boolean => r.memoryWithinCap && r.failures.length === 0;
