// The run worker: owns TensorFlow.js and every tensor, answers the catalog request and runs the
// queued runs one after another. The page talks to it only through protocol.ts messages.
import { DATASET_IDS } from '../core/data';
import { METHODS } from '../core/methods';
import { usableBackends, type BackendName } from '../core/runtime/backend';
import { ARCHITECTURES, TEACHERS } from '../core/zoo';
import { methodInfo } from './catalog';
import { TEST_METHODS } from './probe';
import type { Catalog, FromWorker, ToWorker } from './protocol';
import { liveChangeRefusal, runJob, teacherAvailable, toRunError, type RunJob } from './run';
import { storeStudentsHere } from './students';
import { runTask } from './tasks';

const ALL_BACKENDS: BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];
const DATASET_TITLES: Record<string, string> = { mnist: 'MNIST', fashion: 'Fashion-MNIST' };

let methods = METHODS;
const queue: RunJob[] = [];
let current: RunJob | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  // Typed against Window (the DOM lib); a worker's postMessage takes the same options form.
  self.postMessage(message, { transfer });
}

async function catalog(): Promise<Catalog> {
  const [usable, available] = await Promise.all([
    usableBackends(),
    Promise.all(TEACHERS.map((t) => teacherAvailable(t.id))),
  ]);
  return {
    methods: methods.map(methodInfo),
    teachers: TEACHERS.map((t, i) => ({
      id: t.id,
      title: t.title,
      arch: t.arch,
      dataset: t.dataset,
      available: available[i],
    })),
    architectures: ARCHITECTURES.map(({ id, title, description }) => ({ id, title, description })),
    datasets: DATASET_IDS.map((id) => ({ id, title: DATASET_TITLES[id] ?? id })),
    backends: { all: ALL_BACKENDS, usable },
  };
}

async function drain(): Promise<void> {
  while (!current && queue.length > 0) {
    current = queue.shift()!;
    await runJob(
      current,
      methods.find((m) => m.id === current!.config.method),
      post,
    );
    current = undefined;
  }
}

function job(id: string): RunJob | undefined {
  return current?.id === id ? current : queue.find((j) => j.id === id);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.kind) {
    case 'catalog':
      if (msg.testMethods) methods = [...METHODS, ...TEST_METHODS];
      if (msg.storeStudents) storeStudentsHere();
      catalog().then(
        (c) => post({ kind: 'catalog', id: msg.id, catalog: c }),
        (error: unknown) => post({ kind: 'catalog-failed', id: msg.id, error: toRunError(error) }),
      );
      return;
    case 'start':
      queue.push({
        id: msg.id,
        config: msg.config,
        teacher: msg.teacher,
        shots: msg.shots,
        checkpoint: msg.checkpoint,
        stop: false,
        paused: false,
      });
      void drain();
      return;
    case 'task':
      // Beside the run queue: an import or an export should not wait for a long run.
      runTask(msg.task).then(
        ({ result, transfer }) => post({ kind: 'task-done', id: msg.id, result }, transfer),
        (error: unknown) => post({ kind: 'task-failed', id: msg.id, error: toRunError(error) }),
      );
      return;
    case 'pause':
    case 'resume': {
      const j = job(msg.id);
      if (!j) return;
      j.paused = msg.kind === 'pause';
      j.wake?.();
      post({ kind: msg.kind === 'pause' ? 'paused' : 'resumed', id: msg.id });
      return;
    }
    case 'step': {
      const j = job(msg.id);
      if (!j?.paused) return;
      j.stepping = true;
      j.wake?.();
      return;
    }
    case 'set-params': {
      // Checked here, so a refusal is answered at once; made by the run at its next step.
      const job = current?.id === msg.id ? current : undefined;
      const method = job && methods.find((m) => m.id === job.config.method);
      const error = liveChangeRefusal(job, method, msg.params);
      if (error) post({ kind: 'params-refused', id: msg.id, message: error });
      else current!.paramChanges = { ...current!.paramChanges, ...msg.params };
      return;
    }
    case 'stop': {
      const queued = queue.findIndex((j) => j.id === msg.id);
      if (queued >= 0) {
        queue.splice(queued, 1);
        post({ kind: 'cancelled', id: msg.id });
      } else if (current?.id === msg.id) {
        current.stop = true;
        current.wake?.();
      }
      return;
    }
  }
};
