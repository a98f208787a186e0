/**
 * Backend choice. Preference order is WebGPU (a real adapter), WASM (with our training kernels),
 * WebGL, CPU; 'auto' times a training step on each usable candidate and keeps the fastest,
 * because on GPU-less machines the "GPU" backends run on software rasterisers and lose to WASM
 * by 10-100x (DESIGN.md, Runtime).
 */
import * as tf from '@tensorflow/tfjs';
import {
  getThreadsCount,
  setThreadsCount,
  setWasmPaths,
  type BackendWasm,
} from '@tensorflow/tfjs-backend-wasm';

import { BackendUnavailableError } from './errors';
import { registerTrainingGradients } from './gradients';
import { createLenetStep } from './lenet-step';
import { timeRepeated } from './timing';
import { registerWasmTrainingKernels } from './wasm-kernels';
import {
  simdFusedMultiplyAdd,
  simdThreads,
  spawnBrowserHelper,
  startSimdKernelThreads,
} from './wasm-simd';
import { registerThreadedWasm, type ThreadedWasmSource } from './wasm-threads';

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** Why this backend runs, for the UI: 'auto: fastest measured step: wasm 17 ms vs webgl 290 ms'. */
  reason: string;
  /**
   * WASM only: the threads it computes on, XNNPACK's or our kernels', whichever are more (our
   * kernels: `wasmThreads`, or every core of a cross-origin isolated page; XNNPACK: one per two
   * of those, or `wasmThreads` where a page is given it; else 1).
   */
  threads?: number;
  /** 'auto' only: median ms of one training step per timed backend. */
  timingsMs?: Partial<Record<BackendName, number>>;
}

/** Where the .wasm binaries are served: a URL prefix, or a map from binary name to URL. */
export type WasmPaths = string | Partial<Record<WasmBinaryName, string>>;
type WasmBinaryName =
  'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface InitBackendOptions {
  /**
   * Browser only; default '/wasm/' (vite.config.ts serves the binaries there). Node loads
   * them from node_modules by itself.
   */
  wasmPaths?: WasmPaths;
  /**
   * Run the WASM backend's threaded build on this many threads (wasm-threads.ts). The source
   * says where its files come from (Node: nodeThreadedWasm(); our kernels on `threads`,
   * XNNPACK on one per two); without one (a cross-origin isolated page) the stock loader runs
   * it, XNNPACK lifted to `threads` by `presentingCores`, and our kernels get as many. In a
   * page the count holds for the worker's lifetime.
   */
  wasmThreads?: { threads: number; source?: ThreadedWasmSource };
  /** One training step, for 'auto' to time on each candidate; default a LeNet-5 Adam step. */
  timeStep?: () => void | Promise<void>;
}

export const DEFAULT_BROWSER_WASM_PATHS = '/wasm/';

const PREFERENCE: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];
const isNode = () => tf.env().get('IS_NODE') === true;

/** The slice of WebGPU's API we probe; TypeScript's DOM lib does not declare it. */
interface GpuProbe {
  requestAdapter(): Promise<{
    info?: { isFallbackAdapter?: boolean };
    isFallbackAdapter?: boolean;
  } | null>;
}

/**
 * Why each backend cannot run here; a backend absent from the map can. With `forAuto`, also
 * why a backend that runs is not worth timing.
 */
async function unavailableReasons(forAuto = false): Promise<Partial<Record<BackendName, string>>> {
  const reasons: Partial<Record<BackendName, string>> = {};
  const gpu = (globalThis.navigator as { gpu?: GpuProbe } | undefined)?.gpu;
  if (isNode()) {
    // Node has WebGPU only through Dawn's bindings, registered on request (webgpu-node.ts).
    if (tf.findBackendFactory('webgpu') === null) reasons.webgpu = 'not set up in Node';
  } else if (gpu === undefined) {
    reasons.webgpu = 'navigator.gpu is missing';
  } else {
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter === null) reasons.webgpu = 'no adapter';
    // A fallback adapter is a software rasteriser, ~70x slower than WASM for training: usable
    // when asked for by name (tests, comparisons), never picked by 'auto'.
    else if (forAuto && (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter))
      reasons.webgpu = 'only a software fallback adapter';
  }
  if (typeof WebAssembly !== 'object') reasons.wasm = 'WebAssembly is missing';
  if (isNode()) reasons.webgl = 'not in Node';
  else {
    const gl = webGlRenderer();
    // Like WebGPU's fallback adapter: WebGL rasterised on the CPU (Chromium without a usable GPU
    // runs SwiftShader) took 471 ms a LeNet-5 step against WASM's 20, and timing it cost a first
    // run 8 s of shader compiling.
    const software = forAuto && gl !== undefined ? SOFTWARE_RENDERER.exec(gl)?.[0] : undefined;
    if (gl === undefined) reasons.webgl = 'no WebGL context';
    else if (software !== undefined) reasons.webgl = `only a software renderer (${software})`;
  }
  return reasons;
}

/** Renderer names of WebGL implementations that run on the CPU. */
const SOFTWARE_RENDERER = /SwiftShader|llvmpipe|softpipe|Software Rasterizer|Basic Render Driver/i;

/**
 * The WebGL renderer's name where a context can be made ('' where the browser hides it), else
 * undefined.
 */
function webGlRenderer(): string | undefined {
  try {
    const canvas =
      typeof OffscreenCanvas !== 'undefined'
        ? new OffscreenCanvas(1, 1)
        : globalThis.document?.createElement('canvas');
    const gl = (canvas?.getContext('webgl2') ?? canvas?.getContext('webgl')) as
      WebGLRenderingContext | null | undefined;
    if (!gl) return undefined;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer: unknown = info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : '';
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return typeof renderer === 'string' ? renderer : '';
  } catch {
    return undefined;
  }
}

/** The backends that can run in this environment, in preference order. */
export async function usableBackends(): Promise<BackendName[]> {
  const reasons = await unavailableReasons();
  return PREFERENCE.filter((name) => reasons[name] === undefined);
}

/** The thread count the 'wasm' backend was last re-registered with (wasm-threads.ts). */
let registeredThreads: number | undefined;

/** Makes `name` the active TF.js backend, loading what it needs first. */
async function activate(name: BackendName, opts: InitBackendOptions): Promise<void> {
  registerTrainingGradients();
  if (name === 'wasm') {
    registerWasmTrainingKernels();
    const threaded = opts.wasmThreads;
    if (threaded?.source !== undefined && threaded.threads !== registeredThreads) {
      registerThreadedWasm(threaded.threads, threaded.source);
      registeredThreads = threaded.threads;
    }
    const paths = opts.wasmPaths ?? (isNode() ? undefined : DEFAULT_BROWSER_WASM_PATHS);
    if (paths !== undefined && threaded?.source === undefined) setWasmPaths(paths);
  }
  // Only where WebGPU exists: the module registers the backend on import and Node lacks it.
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  // A page's threaded build (cross-origin isolated only): XNNPACK on the stock one thread per two
  // cores unless a count is asked for, our kernels on every core. XNNPACK on both of two cores
  // made training steps slower in the page (docs/results/performance.md, "Threads").
  const isolatedPage = name === 'wasm' && !isNode() && globalThis.crossOriginIsolated;
  const pageThreads = isolatedPage ? opts.wasmThreads?.threads : undefined;
  let ok: boolean;
  try {
    ok = await presentingCores(pageThreads, () => tf.setBackend(name));
  } catch (cause) {
    throw new BackendUnavailableError(name, `initialisation failed: ${String(cause)}`, { cause });
  }
  if (!ok) throw new BackendUnavailableError(name, 'initialisation failed (see the console)');
  await tf.ready();
  if (isolatedPage && inWorker()) {
    await threadOwnKernels(pageThreads ?? navigator.hardwareConcurrency);
  }
}

/**
 * Runs `init` with the page claiming 2 × `threads` logical cores. The stock threaded glue
 * (bundled inside tfjs-backend-wasm, so its instantiation cannot be hooked as Node's loader
 * is) caps XNNPACK at half of navigator.hardwareConcurrency, read once while the backend
 * initialises; the claim lifts that cap to `threads` (its pthread pool holds 8).
 */
async function presentingCores<T>(threads: number | undefined, init: () => Promise<T>): Promise<T> {
  if (threads === undefined) return init();
  setThreadsCount(threads);
  Object.defineProperty(navigator, 'hardwareConcurrency', {
    configurable: true,
    get: () => 2 * threads,
  });
  try {
    return await init();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/** A Web Worker: where a TF.js kernel may block on Atomics.wait (a page's main thread may not). */
const inWorker = () =>
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/**
 * In a cross-origin isolated page the stock backend runs its threaded build on a shared memory;
 * our SIMD kernels get as many threads as XNNPACK, on helper workers of their own. Once per
 * backend instance.
 */
async function threadOwnKernels(threads: number): Promise<void> {
  const backend = tf.backend() as BackendWasm;
  if (simdThreads(backend) > 1) return;
  await startSimdKernelThreads(backend, threads, spawnBrowserHelper);
}

/** How the wasm backend runs: SIMD or not, and its threads with the reason for their number. */
async function wasmDetail(): Promise<{ detail: string; threads: number }> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = getThreadsCount();
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page; the backend then loads
  // its threaded binary by itself (with the count presentingCores lifted it to).
  const why =
    registeredThreads !== undefined
      ? ` (threaded build: XNNPACK one per two of the ${registeredThreads} asked for)`
      : isNode()
        ? ''
        : globalThis.crossOriginIsolated
          ? ` of ${navigator.hardwareConcurrency} logical cores`
          : ': the page is not cross-origin isolated';
  const own = simdThreads(tf.backend() as BackendWasm);
  const fused = simdFusedMultiplyAdd(tf.backend() as BackendWasm) ? ', fused multiply-adds' : '';
  const kernels =
    own > 0 ? `; our convolution kernels on ${own} thread${own === 1 ? '' : 's'}${fused}` : '';
  const detail = `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${why}${kernels}`;
  return { detail, threads: Math.max(threads, own) };
}

/**
 * Median ms of `step` after one warm-up call (shader compilation, kernel setup). A first timed
 * step slower than `giveUpMs` is reported alone: such a backend cannot win.
 */
async function timeBackend(
  name: BackendName,
  opts: InitBackendOptions,
  giveUpMs: number,
): Promise<number> {
  await activate(name, opts);
  const timing = { steps: 3, warmup: 1, giveUpMs };
  if (opts.timeStep) return (await timeRepeated(opts.timeStep, timing)).median;
  const lenet = createLenetStep();
  try {
    return (await timeRepeated(() => void lenet.run(), timing)).median;
  } finally {
    lenet.dispose();
  }
}

async function chooseFastest(opts: InitBackendOptions): Promise<BackendInfo> {
  const reasons = await unavailableReasons(true);
  const usable = PREFERENCE.filter((name) => reasons[name] === undefined);
  // The stock CPU backend is ~20x slower than WASM; timing it would only cost seconds.
  const candidates = usable.includes('wasm') ? usable.filter((name) => name !== 'cpu') : usable;
  const timings: Partial<Record<BackendName, number>> = {};
  for (const name of candidates) {
    try {
      const best = Math.min(Infinity, ...Object.values(timings));
      timings[name] = await timeBackend(name, opts, 5 * best);
    } catch (e) {
      reasons[name] = e instanceof Error ? e.message : String(e);
    }
  }
  const timed = (Object.entries(timings) as [BackendName, number][]).sort((a, b) => a[1] - b[1]);
  const skipped = PREFERENCE.filter((name) => reasons[name] !== undefined).map(
    (name) => `${name}: ${reasons[name]}`,
  );
  if (timed.length === 0) {
    throw new BackendUnavailableError(
      'auto',
      `no backend could run a training step (${skipped.join('; ')})`,
    );
  }
  const [fastest] = timed[0];
  await activate(fastest, opts);
  const wasm = fastest === 'wasm' ? await wasmDetail() : undefined;
  const measured = timed.map(
    ([name, ms]) =>
      `${name} ${ms.toFixed(0)} ms${name === fastest && wasm ? ` (${wasm.detail})` : ''}`,
  );
  const reason = [`auto: fastest measured step: ${measured.join(' vs ')}`, ...skipped].join('; ');
  return { name: fastest, reason, threads: wasm?.threads, timingsMs: timings };
}

/**
 * Activates a backend and says why it runs. A named backend that cannot run here throws a
 * BackendUnavailableError; 'auto' times one training step on each usable backend.
 */
export async function initBackend(
  choice: BackendChoice,
  opts: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (choice === 'auto') return chooseFastest(opts);
  const reason = (await unavailableReasons())[choice];
  if (reason !== undefined) throw new BackendUnavailableError(choice, reason);
  await activate(choice, opts);
  if (choice !== 'wasm') return { name: choice, reason: `${choice}: requested` };
  const { detail, threads } = await wasmDetail();
  return { name: choice, reason: `wasm: requested (${detail})`, threads };
}
