// What the CLI's commands share: output and the --threads option.
import { availableParallelism } from 'node:os';

import type { InitBackendOptions } from '../core/runtime/backend';
import { InvalidInputError } from '../core/runtime/errors';
import { nodeThreadedWasm } from '../core/runtime/wasm-threads-node';
import { NODE_WEBGPU_HINT, registerNodeWebGpu } from '../core/runtime/webgpu-node';

export function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

/**
 * --threads N: threads of the wasm backend, default every logical core: our convolution kernels
 * on N, XNNPACK on one per two. One thread is the stock single-threaded build; more load the
 * threaded build (runtime/wasm-threads.ts).
 */
export function wasmThreadsOption(requested: number | undefined): InitBackendOptions {
  const threads = requested ?? availableParallelism();
  if (threads < 1) {
    throw new InvalidInputError(
      `--threads must be at least 1, got ${threads}`,
      'Pass --threads 1.',
    );
  }
  return threads === 1 ? {} : { wasmThreads: { threads, source: nodeThreadedWasm() } };
}

/** Sets up WebGPU in Node (Dawn's bindings), or says what is missing and how to get it. */
export async function requireNodeWebGpu(): Promise<void> {
  const reason = await registerNodeWebGpu();
  if (reason !== undefined) {
    throw new InvalidInputError(`--backend webgpu cannot run: ${reason}`, `${NODE_WEBGPU_HINT}.`);
  }
}
