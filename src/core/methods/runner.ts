import { firstExamples, type Dataset } from '../data';
import {
  cloneGraph,
  disposeGraph,
  graphStats,
  inferShapes,
  widthMultiplier,
  type Graph,
} from '../graph';
import { accuracy } from '../metrics';
import type { BackendInfo } from '../runtime/backend';
import { InvalidInputError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { buildArchitecture } from '../zoo';
import { resolveParams } from './params';
import type { AnyMethodSpec, MethodResult, RunEvent } from './types';

/** Which student to compress into: the teacher at half width, a copy of it, or a zoo architecture. */
export type StudentChoice = 'half' | 'copy' | string;

export interface RunRequest {
  method: AnyMethodSpec;
  params: Record<string, unknown>;
  teacher: Graph;
  student?: StudentChoice;
  train: Dataset;
  test: Dataset;
  seed: number;
  steps?: number;
  /** Evaluate on the first N test examples only (0 or absent: all); for slow backends. */
  testExamples?: number;
  backend: BackendInfo;
}

export interface ModelSummary {
  name: string;
  accuracy: number;
  params: number;
  flops: number;
  bytes: number;
}

export interface RunResult {
  method: string;
  params: Record<string, unknown>;
  seed: number;
  steps: number;
  dataset: string;
  backend: string;
  status: 'done' | 'stopped';
  wallTimeMs: number;
  teacher: ModelSummary;
  student: ModelSummary;
  /** Teacher bytes / student bytes. */
  compressionRatio: number;
  metrics: Record<string, number>;
}

export interface RunControl {
  /** Polled between events; true ends the run early with status 'stopped'. */
  stopRequested?(): boolean;
  /** Awaited between events; resolves when the run may go on. */
  whilePaused?(): Promise<void>;
  /**
   * Called with the student once it is made. Between events (in whilePaused) its weights hold
   * still, so a checkpoint may read them there.
   */
  onStudent?(student: Graph): void;
}

export function deriveStudent(
  teacher: Graph,
  choice: StudentChoice,
  train: Dataset,
  seed: number,
): Graph {
  if (choice === 'half') return widthMultiplier(teacher, 0.5, seed, `${teacher.name}-half`);
  if (choice === 'copy') return cloneGraph(teacher, `${teacher.name}-student`);
  // The dataset only picks the architecture's normalisation, which the teacher's replaces below.
  const student = buildArchitecture(choice, train.id === 'uploaded' ? 'mnist' : train.id, seed);
  const out = (g: Graph) => inferShapes(g).get(g.output)!.join('×');
  if (student.inputShape.join() !== teacher.inputShape.join() || out(student) !== out(teacher)) {
    const shapes = `${student.inputShape.join('×')} → ${out(student)} vs the teacher's ${teacher.inputShape.join('×')} → ${out(teacher)}`;
    disposeGraph(student);
    throw new InvalidInputError(
      `Student '${choice}' does not fit teacher '${teacher.name}': ${shapes}`,
      "Pick a student with the teacher's input and output shapes, or 'half'.",
    );
  }
  // The student learns from the teacher's inputs, so it is evaluated on them too.
  student.preprocessing = teacher.preprocessing;
  return student;
}

async function summarize(g: Graph, test: Dataset): Promise<ModelSummary> {
  const stats = graphStats(g);
  return {
    name: g.name,
    accuracy: await accuracy(g, test),
    params: stats.params,
    flops: stats.flops,
    bytes: stats.bytes,
  };
}

/**
 * Runs one method end to end, the same in the Worker and in Node: validates the parameters,
 * derives the student, streams the method's events, honours pause and stop between events,
 * and measures both networks at the end. The caller owns the returned student graph.
 */
export async function executeRun(
  req: RunRequest,
  onEvent: (e: RunEvent) => void,
  control: RunControl = {},
): Promise<{ result: RunResult; student: Graph }> {
  const { method } = req;
  const params = resolveParams(method.params, req.params, method.id);
  const steps = req.steps ?? method.defaultSteps;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new InvalidInputError(
      `steps must be a positive whole number, got ${steps}`,
      'Pass --steps N with N ≥ 1.',
    );
  }
  const test = req.testExamples ? firstExamples(req.test, req.testExamples) : req.test;
  const rng = new Rng(req.seed);
  const started = performance.now();
  const student = deriveStudent(
    req.teacher,
    req.student ?? method.defaultStudent,
    req.train,
    rng.fork('student').int(2 ** 31),
  );
  control.onStudent?.(student);
  const gen = method.run(
    {
      teacher: req.teacher,
      student,
      train: req.train,
      test,
      rng,
      backend: req.backend,
      steps,
    },
    params,
  );
  let status: RunResult['status'] = 'done';
  let outcome: MethodResult | undefined;
  try {
    for (;;) {
      if (control.stopRequested?.()) {
        status = 'stopped';
        const returned = await gen.return({ student });
        outcome = returned.done ? returned.value : { student };
        break;
      }
      await control.whilePaused?.();
      const next = await gen.next();
      if (next.done) {
        outcome = next.value;
        break;
      }
      onEvent(next.value);
    }
  } catch (e) {
    if (outcome?.student !== student) disposeGraph(student);
    throw e;
  }
  if (!outcome) throw new Error(`${method.id} ended without a result`);
  if (outcome.student !== student) disposeGraph(student);
  const wallTimeMs = performance.now() - started;
  const [teacherSummary, studentSummary] = [
    await summarize(req.teacher, test),
    await summarize(outcome.student, test),
  ];
  const result: RunResult = {
    method: method.id,
    params,
    seed: req.seed,
    steps,
    dataset: req.train.id,
    backend: req.backend.name,
    status,
    wallTimeMs,
    teacher: teacherSummary,
    student: studentSummary,
    compressionRatio: teacherSummary.bytes / studentSummary.bytes,
    metrics: outcome.metrics ?? {},
  };
  return { result, student: outcome.student };
}
