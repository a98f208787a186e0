// One run inside the worker: backend, teacher and data, then core's executeRun, streaming its
// events in batches and ending with the result and the student's TF.js Layers files.
import { loadDataset, type Dataset } from '../core/data';
import { disposeGraph, graphStats, type Graph } from '../core/graph';
import { modelSize, serializeGraph } from '../core/io';
import { deriveStudent, executeRun, type AnyMethodSpec } from '../core/methods';
import { saveState, type MethodState, type SavedState } from '../core/methods/method-state';
import { liveParamsError, type ParamSettings } from '../core/methods/params';
import { initBackend, type BackendChoice, type BackendInfo } from '../core/runtime/backend';
import { ClabError, InvalidInputError, InvalidModelError } from '../core/runtime/errors';
import { loadTeacher, teacherSpec } from '../core/zoo';
import { EventBatcher } from './batcher';
import { labelledByTeacher, labelledImages } from './images';
import type {
  FromWorker,
  ModelStats,
  RunConfig,
  RunError,
  RunEvent,
  StudentFiles,
  TeacherModel,
  UploadFile,
} from './protocol';
import { graphFromFiles, teacherFromModel } from './models';
import { storeStudent } from './students';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** What the message handler may change while the run goes on. */
export interface RunJob {
  id: string;
  config: RunConfig;
  /** An uploaded teacher, sent by the page with the run. */
  teacher?: TeacherModel;
  /** The images of `config.shots`. */
  shots?: UploadFile[];
  /** The checkpoint the run goes on from, when it is resumed. */
  checkpoint?: { step: number; student: StudentFiles };
  stop: boolean;
  paused: boolean;
  /** Paused, but let through to the next reported step (step mode). */
  stepping?: boolean;
  /** Live parameter values asked for (set-params), made at the run's next step. */
  paramChanges?: ParamSettings;
  /** The latest reported step and the run's total: once equal, no step is left to change. */
  progress?: { step: number; total: number };
  /** Wakes a paused run (after resume, step or stop). */
  wake?: () => void;
}

/**
 * Why `job` cannot take these live parameters now, or undefined when it can: they must be live
 * parameters of its method, and a step must be left to make them at (after the last one, e.g.
 * during dynamic pruning's analysis, a change would never be made nor answered).
 */
export function liveChangeRefusal(
  job: RunJob | undefined,
  method: AnyMethodSpec | undefined,
  params: ParamSettings,
): string | undefined {
  if (!job || !method)
    return 'the run is not going (only a running or paused run takes new parameters)';
  if (job.progress && job.progress.step >= job.progress.total) {
    return `training is over (step ${job.progress.step} of ${job.progress.total}): no step is left to make the change at`;
  }
  return liveParamsError(method.params, params, method.id) ?? undefined;
}

// 'auto' times a training step on every backend: do it once per worker, not once per run.
let activeBackend: { choice: BackendChoice; info: BackendInfo } | undefined;

async function ensureBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (activeBackend?.choice !== choice) {
    activeBackend = undefined;
    activeBackend = { choice, info: await initBackend(choice, { wasmPaths: '/wasm/' }) };
  }
  return activeBackend.info;
}

/** The backend for work beside runs: the one set up already (a run may be using it), else `choice`. */
export async function sharedBackend(choice: BackendChoice): Promise<BackendInfo> {
  return activeBackend?.info ?? ensureBackend(choice);
}

/** Runs between their start and their end: switching the backend under them loses their tensors. */
let runsGoing = 0;

/**
 * The backend a measurement asks for by name, switched to when no run holds the current one (so
 * latencies on WASM and WebGPU can be measured one after the other); 'auto' keeps the current
 * one rather than timing every backend again.
 */
export async function measuringBackend(choice: BackendChoice): Promise<BackendInfo> {
  return runsGoing > 0 || choice === 'auto' ? sharedBackend(choice) : ensureBackend(choice);
}

const modelUrl = (teacher: string) => `${import.meta.env.BASE_URL}models/${teacher}/model.json`;

/** Whether a built-in teacher has been trained; dev servers answer a missing file with index.html. */
export async function teacherAvailable(teacher: string): Promise<boolean> {
  const res = await fetch(modelUrl(teacher), { method: 'HEAD' }).catch(() => undefined);
  return !!res?.ok && (res.headers.get('content-type') ?? '').includes('json');
}

export async function stats(g: Graph): Promise<ModelStats> {
  return { name: g.name, ...graphStats(g), size: await modelSize(g) };
}

export function toRunError(e: unknown): RunError {
  if (e instanceof ClabError) return e.toJSON();
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

// The runner checks pause and stop between events; the loop may never leave the microtask queue
// (WASM reads resolve at once), so yield to the event loop now and then to let messages in.
const YIELD_EVERY_MS = 30;
let lastYield = 0;
async function letMessagesIn(): Promise<void> {
  if (performance.now() - lastYield < YIELD_EVERY_MS) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  lastYield = performance.now();
}

/**
 * The run's uploaded images as its training set, and as its test set too when asked; otherwise
 * the test set is the same images labelled by the teacher, and the run says accuracy means
 * agreement.
 */
async function uploadedData(
  job: RunJob,
  teacher: Graph,
  say: (e: RunEvent) => void,
): Promise<{ train: Dataset; test: Dataset }> {
  if (!job.shots) {
    throw new InvalidInputError(
      'The uploaded images of this run are no longer in this browser',
      'They were deleted (or the browser cleared its storage): upload them again and start a new run.',
    );
  }
  const train = await labelledImages(job.shots, teacher);
  if (job.config.shotsAsTest) return { train, test: { ...train, split: 'test' } };
  say({
    kind: 'log',
    level: 'info',
    message: `No labelled test set: accuracy is the student's agreement with the teacher on the ${train.count} uploaded images.`,
  });
  return { train, test: await labelledByTeacher(train, teacher) };
}

/**
 * A student to tell the page of: stored in IndexedDB by this worker, or else its files, for the
 * page to store, with the buffers they hold (moved, not copied).
 */
async function keepStudent(
  id: string,
  student: StudentFiles,
): Promise<{ kept: { student?: StudentFiles }; transfer: Transferable[] }> {
  if (await storeStudent(id, student)) return { kept: {}, transfer: [] };
  const buffers = [student.weightData, ...(student.state ? [student.state.data] : [])];
  return { kept: { student }, transfer: buffers };
}

/** A run's student is checkpointed at an evaluation at most this often. */
const CHECKPOINT_EVERY_MS = 30_000;

/**
 * After the first evaluation, the first after step 0, and then at most every CHECKPOINT_EVERY_MS,
 * the student's files are kept (keepStudent): a run cut off by a reload or a crash still leaves
 * its student. Taken between events, when the method is suspended and the weights hold still.
 */
function studentCheckpoints(id: string, post: Post) {
  // The first evaluation is checkpointed at once: a run cut off early still leaves a student.
  // So is the first after training began: the first one worth resuming from.
  let last = -Infinity;
  let trained = false;
  let dueStep: number | undefined;
  const state = {
    student: undefined as Graph | undefined,
    /** What the method trains beside the student, kept with it (MethodState). */
    methodState: undefined as MethodState | undefined,
    /** That state as the run stopped: a stopped run's student is its checkpoint. */
    stateAtStop: undefined as SavedState | undefined,
    async saveStateAtStop() {
      if (state.methodState) state.stateAtStop = await saveState(state.methodState);
    },
    due(step: number) {
      if (performance.now() - last >= CHECKPOINT_EVERY_MS || (step > 0 && !trained)) {
        dueStep = step;
        trained ||= step > 0;
      }
    },
    async take() {
      const step = dueStep;
      if (step === undefined || !state.student) return;
      dueStep = undefined;
      last = performance.now();
      try {
        const g = state.student;
        const files = await serializeGraph(g, { shardName: `${g.name}.weights.bin` });
        const saved = state.methodState && (await saveState(state.methodState));
        const student: StudentFiles = { ...files, ...(saved && { state: saved }) };
        const { kept, transfer } = await keepStudent(id, student);
        post({ kind: 'student-checkpoint', id, step, ...kept }, transfer);
      } catch {
        // The method replaced (and disposed) the graph it started from: no checkpoint this time.
      }
    },
  };
  return state;
}

export async function runJob(
  job: RunJob,
  method: AnyMethodSpec | undefined,
  post: Post,
): Promise<void> {
  const { id, config } = job;
  const batcher = new EventBatcher((events, transfer) =>
    post({ kind: 'events', id, events }, transfer),
  );
  const phase = (name: string) =>
    batcher.push({ kind: 'progress', step: 0, total: config.steps, phase: name });
  let teacher: Graph | undefined;
  let student: Graph | undefined;
  runsGoing++;
  try {
    post({ kind: 'started', id });
    if (!method) {
      throw new InvalidInputError(
        `Unknown method '${config.method}'`,
        'Pick a method from the list.',
      );
    }
    phase(config.backend === 'auto' ? 'timing backends' : `starting ${config.backend}`);
    const backend = await ensureBackend(config.backend);
    post({ kind: 'backend', id, backend });
    phase('loading teacher and data');
    if (!job.teacher && !teacherSpec(config.teacher)) {
      throw new InvalidModelError(
        `The teacher '${config.teacher}' is neither built in nor came with the run`,
        'Upload the model again (it is no longer stored in this browser), or pick a built-in teacher.',
      );
    }
    if (!job.teacher && !(await teacherAvailable(config.teacher))) {
      throw new InvalidModelError(
        `The built-in teacher '${config.teacher}' is missing at ${modelUrl(config.teacher)}`,
        'Run `npm run train:teachers` to produce it, then reload.',
      );
    }
    const [t, builtInTrain, builtInTest] = await Promise.all([
      job.teacher ? teacherFromModel(job.teacher) : loadTeacher(config.teacher),
      loadDataset(config.dataset, 'train'),
      loadDataset(config.dataset, 'test'),
    ]);
    teacher = t;
    const { train, test } = config.shots
      ? await uploadedData(job, teacher, (e) => batcher.push(e))
      : { train: builtInTrain, test: builtInTest };
    const classNames = [...test.classNames];
    // Derived here only to describe it; executeRun derives the one it trains the same way.
    const planned = deriveStudent(teacher, config.student, train, config.seed);
    post({
      kind: 'models',
      id,
      teacher: await stats(teacher),
      student: await stats(planned),
      classNames,
    });
    disposeGraph(planned);
    const fromCheckpoint = job.checkpoint && {
      step: job.checkpoint.step,
      student: await graphFromFiles(job.checkpoint.student),
      state: job.checkpoint.student.state,
    };
    phase('training');
    const checkpoint = studentCheckpoints(id, post);
    const outcome = await executeRun(
      {
        method,
        params: config.params,
        teacher,
        student: config.student,
        train,
        test,
        seed: config.seed,
        steps: config.steps,
        testExamples: config.testExamples,
        backend,
        fromCheckpoint,
        schedule: config.schedule,
      },
      (e) => {
        batcher.push(e);
        if (e.kind === 'params') post({ kind: 'params-set', id, step: e.step, params: e.params });
        // At an evaluation, or where the method says its state is whole (a scan between layers).
        if ((e.kind === 'scalar' && e.key === 'accuracy/test') || e.kind === 'checkpoint') {
          checkpoint.due(e.step);
        }
        if (e.kind === 'progress') job.progress = { step: e.step, total: e.total };
        // Step mode: a reported step ends the step; show its events at once, then hold.
        if (e.kind === 'progress' && job.stepping) {
          job.stepping = false;
          batcher.flush();
        }
      },
      {
        stopRequested: () => job.stop,
        beforeStop: () => checkpoint.saveStateAtStop(),
        takeParamChanges: () => {
          const asked = job.paramChanges;
          job.paramChanges = undefined;
          return asked;
        },
        onStudent: (g, methodState) => {
          checkpoint.student = g;
          checkpoint.methodState = methodState;
        },
        // While the user steps, every step is reported, so one Step is one optimiser step.
        stepping: () => job.stepping === true,
        whilePaused: async () => {
          await checkpoint.take();
          await letMessagesIn();
          while (job.paused && !job.stepping && !job.stop) {
            await new Promise<void>((wake) => (job.wake = wake));
          }
        },
      },
    );
    student = outcome.student;
    batcher.flush();
    // A method may reshape the student (pruning): describe the one that comes out.
    post({
      kind: 'models',
      id,
      teacher: await stats(teacher),
      student: await stats(student),
      classNames,
    });
    const files: StudentFiles = {
      ...(await serializeGraph(student, { shardName: `${student.name}.weights.bin` })),
      ...(outcome.result.status === 'stopped' &&
        checkpoint.stateAtStop && { state: checkpoint.stateAtStop }),
    };
    const { kept, transfer } = await keepStudent(id, files);
    post({ kind: 'finished', id, result: outcome.result, ...kept }, transfer);
  } catch (e) {
    batcher.flush();
    post({ kind: 'failed', id, error: toRunError(e) });
  } finally {
    runsGoing--;
    if (teacher) disposeGraph(teacher);
    if (student) disposeGraph(student);
  }
}
