// The page's side of the worker: spawns it, sends typed messages, and respawns it when it
// crashes. Imports only protocol types, so the page bundle stays free of TensorFlow.js.
import type { FromWorker, ToWorker } from './protocol';

export interface RunWorker {
  send(message: ToWorker): void;
}

export interface WorkerClientOptions {
  /** List the test-only methods too (the page's `?testing` flag). */
  testMethods: boolean;
  /** The page keeps its runs in IndexedDB (not in memory): the worker may store students there. */
  storeStudents: boolean;
  onMessage(message: FromWorker): void;
  /**
   * The worker died (an uncaught error, out of memory) and a fresh one has been started: what
   * ran is lost, what was queued must be sent again.
   */
  onCrash(reason: string): void;
}

export function createWorkerClient(opts: WorkerClientOptions): RunWorker {
  let worker: Worker;
  let requests = 0;
  /** The current worker has answered: it loaded and runs. */
  let alive = false;

  // A worker with an uncaught error may hold half-updated tensors: never reuse it. One that
  // fails before answering cannot load at all; respawning it would only loop.
  const crash = (reason: string) => {
    worker.terminate();
    if (!alive) {
      const error = { name: 'WorkerError', message: `The run worker failed to start: ${reason}` };
      opts.onMessage({ kind: 'catalog-failed', id: `catalog-${requests}`, error });
      return;
    }
    start();
    opts.onCrash(reason);
  };

  const start = () => {
    // A separate chunk, so TF.js loads only in the worker.
    worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'clab-run',
    });
    alive = false;
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      alive = true;
      opts.onMessage(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      crash(e.message || 'the worker stopped unexpectedly');
    };
    worker.onmessageerror = () => crash('a message from the worker could not be read');
    // Every fresh worker is asked for the catalog first; the answer also says it is alive.
    worker.postMessage({
      kind: 'catalog',
      id: `catalog-${++requests}`,
      testMethods: opts.testMethods,
      storeStudents: opts.storeStudents,
    } satisfies ToWorker);
  };
  start();

  return {
    send(message) {
      worker.postMessage(message);
    },
  };
}
