// The bench page's worker: one backend configuration for its lifetime (a page cannot change the
// WASM thread count once the backend has started), timing the tasks it is sent.
import { runBenchTask } from '../core/experiments/bench';
import { initBackend, type BackendInfo } from '../core/runtime/backend';
import type { BenchRequest } from './protocol';

let backend: Promise<BackendInfo> | undefined;

self.onmessage = async ({ data }: MessageEvent<BenchRequest & { id: number }>) => {
  const { id, task, ...config } = data;
  try {
    backend ??= initBackend(config.backend, {
      wasmPaths: '/wasm/',
      ...(config.threads !== undefined && { wasmThreads: { threads: config.threads } }),
    });
    const { reason, threads } = await backend;
    const timing = await runBenchTask(task);
    self.postMessage({ id, reply: { ...timing, reason, threads } });
  } catch (e) {
    self.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
};
