/**
 * The WASM backend on its threaded SIMD build with a thread count we choose.
 *
 * Stock tfjs-backend-wasm never runs threads in Node (its feature probe answers no there) and,
 * where it does, caps XNNPACK at half the logical cores (the C++ assumes two hyperthreads per
 * core): one thread on a 2-core laptop either way. The cap is computed once, at start-up, from
 * the Emscripten import `emscripten_num_logical_cores`; a loader that instantiates the binary
 * with that import answering 2 × threads lifts it (up to the build's own limit of 8, the size
 * of its pthread pool; getThreadsCount() says what runs). The project's own kernels
 * (wasm-simd.ts) get every thread asked for, on helpers of their own, and XNNPACK one per two
 * (xnnpackThreads). Where the binary, the Emscripten glue and its pthread worker script come
 * from depends on the environment: a ThreadedWasmSource says it, and wasm-threads-node.ts is
 * Node's.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

import type { SpawnHelper } from './kernel-threads';
import { startSimdKernelThreads } from './wasm-simd';

/** The Emscripten module the threaded glue resolves to (the slice this file touches). */
export interface EmscriptenWasmModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => unknown;
  [key: string]: unknown;
}

/** Where the threaded build's parts come from in one environment. */
export interface ThreadedWasmSource {
  /** The Emscripten factory exported by tfjs-backend-wasm-threaded-simd.js. */
  factory: (config: object) => Promise<EmscriptenWasmModule>;
  /** How the glue finds its pthread worker script and the script the workers import. */
  config: { locateFile: (path: string) => string; mainScriptUrlOrBlob: string | Blob };
  /** The bytes of tfjs-backend-wasm-threaded-simd.wasm. */
  binary: () => Promise<BufferSource>;
  /** Starts a helper thread for the project's own kernels (wasm-simd.ts). */
  spawnHelper: SpawnHelper;
}

/** Emscripten's instantiateWasm hook. */
type InstantiateWasm = (
  imports: WebAssembly.Imports & { env: WebAssembly.ModuleImports },
  receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
) => object;

/** Starts the glue with the module seeing 2 × `threads` logical cores (see the header). */
function startModule(source: ThreadedWasmSource, threads: number): Promise<EmscriptenWasmModule> {
  return new Promise((resolve, reject) => {
    const instantiateWasm: InstantiateWasm = (imports, receive) => {
      imports.env.emscripten_num_logical_cores = () => 2 * threads;
      source
        .binary()
        .then((bytes) => WebAssembly.instantiate(bytes, imports))
        .then(({ instance, module }) => receive(instance, module))
        .catch(reject);
      return {};
    };
    source.factory({ ...source.config, instantiateWasm }).then(resolve, reject);
  });
}

/** The bridge BackendWasm expects on its module (tfjs-backend-wasm's own init adds the same). */
function addTfjsBridge(module: EmscriptenWasmModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/**
 * XNNPACK's share of `threads`: one per two, as the stock glue gives a page by default. On two
 * cores, XNNPACK on both made the LeNet-5 and BN-VGG steps 15–20 % slower than on one (its thread
 * pool costs more than it saves on small layers) while our kernels gain from both, and the DAFL
 * iteration ran as fast either way (performance.md, "Threads").
 */
export function xnnpackThreads(threads: number): number {
  return Math.max(1, Math.floor(threads / 2));
}

/**
 * Re-registers the 'wasm' backend so that its next initialisation loads the threaded build
 * with our kernels on `threads` threads and XNNPACK on its share of them. Kernels stay
 * registered (they are keyed by backend name).
 */
export function registerThreadedWasm(threads: number, source: ThreadedWasmSource): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`WASM threads must be a positive integer, not ${threads}`);
  }
  if (tf.findBackend('wasm') !== null || tf.findBackendFactory('wasm') !== null) {
    tf.removeBackend('wasm');
  }
  tf.registerBackend(
    'wasm',
    async () => {
      const xnnpack = xnnpackThreads(threads);
      const module = await startModule(source, xnnpack);
      addTfjsBridge(module);
      setThreadsCount(xnnpack);
      const backend = new BackendWasm(
        module as unknown as ConstructorParameters<typeof BackendWasm>[0],
      );
      await startSimdKernelThreads(backend, threads, source.spawnHelper);
      return backend;
    },
    2,
  );
}
