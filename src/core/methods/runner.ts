import { firstExamples, type Dataset } from '../data';
import { cloneGraph, disposeGraph, inferShapes, widthMultiplier, type Graph } from '../graph';
import { modelSize } from '../io/size';
import { accuracy } from '../metrics';
import type { BackendInfo } from '../runtime/backend';
import { InvalidInputError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { buildArchitecture } from '../zoo';
import { ParamSchedule } from './live-params';
import {
  resolveParams,
  type ParamChange,
  type ParamSchema,
  type ParamSettings,
  type ParamValues,
} from './params';
import type { MethodState, SavedState } from './method-state';
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
  /**
   * Go on from a checkpoint: the student as it was after `step` of `steps` steps (the runner owns
   * it from here) instead of a fresh one. Refused for methods that cannot resume.
   */
  fromCheckpoint?: { step: number; student: Graph; state?: SavedState };
  /** Live parameter changes to make at their steps (a recipe's schedule). */
  schedule?: readonly ParamChange[];
}

export interface ModelSummary {
  name: string;
  accuracy: number;
  params: number;
  flops: number;
  /** Dense float32 bytes. */
  bytes: number;
  /**
   * What the network really costs (io/size.ts): non-zeros, the exported weight file, gzipped
   * (absent from runs saved before they were measured).
   */
  nonZeroParams?: number;
  exportBytes?: number;
  gzipBytes?: number;
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
  /** Teacher bytes / student bytes, both dense float32 (the exported files: exportBytes). */
  compressionRatio: number;
  metrics: Record<string, number>;
  /**
   * The run went on from its checkpoint of this step: the steps before it ran in an earlier
   * attempt (the optimiser's state restarted here), so the run cannot be reproduced bit for bit.
   * `wallTimeMs` counts this attempt only.
   */
  resumedFrom?: number;
  /** With status 'stopped': the steps the student had trained (the last event's step). */
  stoppedAtStep?: number;
  /** The live parameter changes made, at their steps (absent when none): replays the run. */
  schedule?: ParamChange[];
}

export interface RunControl {
  /** Polled between events; true ends the run early with status 'stopped'. */
  stopRequested?(): boolean;
  /** Awaited between events; resolves when the run may go on. */
  whilePaused?(): Promise<void>;
  /** The user advances one step at a time (RunContext.stepping). */
  stepping?(): boolean;
  /**
   * Called with the student once it is made (and whenever the method names another, with the
   * state it trains beside it). Between events (in whilePaused) the weights hold still, so a
   * checkpoint may read them there.
   */
  onStudent?(student: Graph | undefined, state?: MethodState): void;
  /** Awaited once a stop is asked for, while the method's state still exists (a last save). */
  beforeStop?(): Promise<void>;
  /** Live parameter changes asked for since the last call; polled at each step boundary. */
  takeParamChanges?(): ParamSettings | undefined;
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

function checkSteps(steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new InvalidInputError(
      `steps must be a positive whole number, got ${steps}`,
      'Pass --steps N with N ≥ 1.',
    );
  }
  return steps;
}

/** The checkpoint's step, if the method can go on from it there; otherwise why not, thrown. */
function checkResume(method: AnyMethodSpec, step: number, steps: number): number {
  if (!method.resume.resumable) {
    throw new InvalidInputError(
      `${method.title} cannot resume from a checkpoint: ${method.resume.reason}`,
      'Start the run again from the beginning.',
    );
  }
  if (step === 0) {
    // Taken at the first evaluation, possibly before a one-shot compression, possibly after it.
    throw new InvalidInputError(
      'The checkpoint is from step 0: nothing had been trained yet',
      'Start the run again from the beginning.',
    );
  }
  if (!Number.isInteger(step) || step < 0 || step >= steps) {
    throw new InvalidInputError(
      `A checkpoint at step ${step} cannot be resumed in a run of ${steps} steps`,
      'Resume from a checkpoint taken before the last step.',
    );
  }
  return step;
}

async function summarize(g: Graph, test: Dataset): Promise<ModelSummary> {
  const size = await modelSize(g);
  return {
    name: g.name,
    accuracy: await accuracy(g, test),
    params: size.params,
    flops: size.flops,
    bytes: size.denseBytes,
    nonZeroParams: size.nonZeroParams,
    exportBytes: size.exportBytes,
    gzipBytes: size.gzipBytes,
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
  let params: ParamValues<ParamSchema>;
  let steps: number;
  let resumeFrom: number | undefined;
  try {
    params = resolveParams(method.params, req.params, method.id);
    steps = checkSteps(req.steps ?? method.defaultSteps);
    resumeFrom = req.fromCheckpoint && checkResume(method, req.fromCheckpoint.step, steps);
    // A training set fetched in parts (the page) is fetched whole for the methods that train on
    // it; a few-shot method fetches its shots, and evaluations the test images they use.
    if (method.needs.data === 'full') await req.train.ensure?.();
  } catch (e) {
    // The checkpoint's student is the runner's to dispose, refused or not.
    if (req.fromCheckpoint) disposeGraph(req.fromCheckpoint.student);
    throw e;
  }
  const test = req.testExamples ? firstExamples(req.test, req.testExamples) : req.test;
  const rng = new Rng(req.seed);
  const started = performance.now();
  const student =
    req.fromCheckpoint?.student ??
    deriveStudent(
      req.teacher,
      req.student ?? method.defaultStudent,
      req.train,
      rng.fork('student').int(2 ** 31),
    );
  control.onStudent?.(student);
  /** The network the method last named as what it trains (RunContext.training). */
  let named: Graph | undefined;
  // The method's own copy, which live changes write into: the result reports the start values.
  const values = { ...params };
  let schedule: ParamSchedule;
  try {
    schedule = new ParamSchedule(
      method.params,
      method.id,
      values,
      req.schedule ?? [],
      () => control.takeParamChanges?.(),
      onEvent,
      resumeFrom,
    );
  } catch (e) {
    disposeGraph(student);
    throw e;
  }
  const gen = method.run(
    {
      teacher: req.teacher,
      student,
      train: req.train,
      test,
      rng,
      backend: req.backend,
      steps,
      ...(resumeFrom !== undefined && { resumeFrom, resumeState: req.fromCheckpoint?.state }),
      paramsAt: (step) => schedule.at(step),
      training: (g, state) => {
        named = g;
        control.onStudent?.(g, state);
      },
      stepping: () => control.stepping?.() ?? false,
    },
    values,
  );
  let status: RunResult['status'] = 'done';
  let outcome: MethodResult | undefined;
  let lastStep = resumeFrom ?? 0;
  try {
    for (;;) {
      if (control.stopRequested?.()) {
        status = 'stopped';
        // Before the method winds down (and frees what it trains beside the student).
        await control.beforeStop?.();
        // A method training another network than this one (a pruned one) frees it as it winds
        // down: the stopped run's student is a copy of it, where it stopped.
        const stoppedAs = named && named !== student ? cloneGraph(named) : student;
        const returned = await gen.return({ student: stoppedAs });
        outcome = returned.done ? returned.value : { student: stoppedAs };
        break;
      }
      await control.whilePaused?.();
      const next = await gen.next();
      if (next.done) {
        outcome = next.value;
        break;
      }
      if ('step' in next.value) lastStep = Math.max(lastStep, next.value.step);
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
    ...(resumeFrom !== undefined && { resumedFrom: resumeFrom }),
    ...(status === 'stopped' && { stoppedAtStep: lastStep }),
    ...(schedule.applied.length > 0 && { schedule: schedule.applied }),
  };
  return { result, student: outcome.student };
}
