// The bench page (bench.html): `window.clabBench` runs one task in a worker of the requested
// backend configuration. Only the configuration being measured has a worker, so an idle one
// never competes for the cores.
import type { BenchConfig, BenchReply, BenchRequest, ClabBench } from './protocol';

let current: { key: string; worker: Worker } | undefined;
let nextId = 0;

function workerFor(config: BenchConfig): Worker {
  const key = `${config.backend}/${config.threads ?? 'all'}`;
  if (current?.key !== key) {
    current?.worker.terminate();
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    current = { key, worker };
  }
  return current.worker;
}

const clabBench: ClabBench = ({ task, ...config }: BenchRequest) =>
  new Promise<BenchReply>((resolve, reject) => {
    const worker = workerFor(config);
    const id = ++nextId;
    const onError = (e: ErrorEvent) =>
      settle(() => reject(new Error(e.message || 'the bench worker failed')));
    const onMessage = ({
      data,
    }: MessageEvent<{ id: number; reply?: BenchReply; error?: string }>) => {
      if (data.id !== id) return;
      settle(() => (data.reply ? resolve(data.reply) : reject(new Error(data.error))));
    };
    // One request at a time: its listeners go when it settles, either way.
    const settle = (done: () => void) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      done();
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage({ id, task, ...config });
  });

(window as unknown as { clabBench: ClabBench }).clabBench = clabBench;
document.body.dataset.ready = 'true';
