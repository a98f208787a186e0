/**
 * The project's own SIMD kernels (wasm/kernels.ts, compiled at install by scripts/build-wasm.mjs),
 * instantiated on the TF.js WASM backend's own memory so they read and write its tensors in
 * place, and run on helper threads where that memory is shared (the threaded build).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { KERNEL_BUILDS } from './generated/wasm-binaries';
import {
  KernelThreads,
  MAX_CHUNKS,
  SplitChoices,
  type HelperThread,
  type SpawnHelper,
} from './kernel-threads';

/** The module's exports, in the order the helper threads index them. */
const KERNEL_NAMES = [
  'convFilterGrad',
  'convFilterGradSingleChannel',
  'convForward',
  'convForwardSingleChannel',
  'convFilterGradOneOutput',
  'convFilterGradWinograd',
  'convForwardOneOutput',
  'convInputGrad',
  'convWinograd',
  'adamUpdate',
  'channelAffine',
  'channelDeviationSums',
  'channelSums',
  'leakyRelu',
  'maxPoolGrad',
  'maxPoolGradTiled',
  'padSpatial',
  'upsampleNearest',
] as const;
export type SimdKernelName = (typeof KERNEL_NAMES)[number];

/** The Emscripten module under BackendWasm: its memory is `wasmMemory` (threaded) or exported. */
interface EmscriptenMemory {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

/** Below this many flops a kernel call runs on the calling thread: waking helpers costs more. */
const MIN_SPLIT_FLOPS = 4e6;

/**
 * A kernel that mostly moves memory (pooling, per-channel arithmetic) states its work for
 * runSplit as this many flops per float it reads or writes: about as long, on one thread of the
 * machine this was measured on (LeNet-5's pool1 gradient, 0.68 M floats in 0.33 ms; its
 * convolutions at ~40 GFLOP/s).
 */
export const FLOPS_PER_FLOAT_MOVED = 20;

/**
 * Chunks a split call is cut into per thread: enough that the thread which finishes first takes
 * over the other's share, few enough that each chunk's set-up stays small.
 */
const CHUNKS_PER_THREAD = 4;

export class SimdKernels {
  private readonly splitChoices = new SplitChoices();

  constructor(
    private readonly exports: WebAssembly.Exports,
    /** The build with relaxed SIMD's fused multiply-adds (wasm/simd.ts), not the one without. */
    readonly fused: boolean,
    private readonly pool?: KernelThreads,
  ) {}

  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /**
   * Runs `name` once per argument list: shared out between the threads where `split` (and there
   * are threads), else one after another on the calling thread.
   */
  run(name: SimdKernelName, argLists: number[][], split = argLists.length > 1): void {
    if (split && this.pool !== undefined) return this.pool.run(this.exports, name, argLists);
    const kernel = this.exports[name] as (...a: number[]) => void;
    for (const args of argLists) kernel(...args);
  }

  /**
   * Runs `name` on the argument lists `parts(count)` gives, up to `count` chunks of the work
   * (some kernels' chunks are fixed, whatever `count`): on the calling thread (count 1), or
   * CHUNKS_PER_THREAD per thread (at most MAX_CHUNKS) shared out between threads where this
   * machine has run calls of this `shape` (the call's sizes) faster split (SplitChoices). Below
   * MIN_SPLIT_FLOPS a call never splits.
   */
  runSplit(
    name: SimdKernelName,
    shape: readonly number[],
    flops: number,
    parts: (count: number) => number[][],
  ): void {
    if (this.pool === undefined || flops < MIN_SPLIT_FLOPS) return this.run(name, parts(1), false);
    const key = `${name} ${shape.join(',')}`;
    const split = this.splitChoices.split(key);
    const start = performance.now();
    const chunks = Math.min(MAX_CHUNKS, CHUNKS_PER_THREAD * this.threads);
    this.run(name, parts(split ? chunks : 1), split);
    this.splitChoices.record(key, split, performance.now() - start);
  }

  stop(): void {
    this.pool?.stop();
  }
}

export function backendMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  const module = backend.wasm as unknown as EmscriptenMemory;
  return module.wasmMemory ?? module.asm?.memory;
}

/** A compiled build of the kernels, and whether it is the one with fused multiply-adds. */
interface KernelModule {
  module: WebAssembly.Module;
  fused: boolean;
}

const modules = new Map<boolean, KernelModule | null>();

/** The bytes of one build of our kernels (scripts/build-wasm.mjs). */
export function kernelBuild(
  memory: 'shared' | 'plain',
  simd: 'relaxed' | 'baseline',
): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(KERNEL_BUILDS[memory][simd]), (ch) => ch.charCodeAt(0));
}

/**
 * The compiled kernels for a shared or a plain memory: the build with relaxed SIMD's fused
 * multiply-adds where this engine has it, else the one without; null where it lacks SIMD.
 */
function kernelModule(shared: boolean): KernelModule | null {
  if (!modules.has(shared)) {
    const memory = shared ? 'shared' : 'plain';
    const [relaxed, baseline] = [kernelBuild(memory, 'relaxed'), kernelBuild(memory, 'baseline')];
    const fused = WebAssembly.validate(relaxed);
    const bytes = fused ? relaxed : WebAssembly.validate(baseline) ? baseline : undefined;
    modules.set(
      shared,
      bytes === undefined ? null : { module: new WebAssembly.Module(bytes), fused },
    );
  }
  return modules.get(shared)!;
}

function instantiate(
  backend: BackendWasm,
): { module: WebAssembly.Module; memory: WebAssembly.Memory; fused: boolean } | null {
  const memory = backendMemory(backend);
  if (memory === undefined) return null;
  const kernels = kernelModule(memory.buffer instanceof SharedArrayBuffer);
  return kernels === null ? null : { ...kernels, memory };
}

const attached = new WeakMap<BackendWasm, SimdKernels | null>();

/**
 * The backend's SIMD kernels (on one thread unless startSimdKernelThreads ran), or undefined
 * where they cannot run (no SIMD, no reachable memory): the callers fall back to compositions
 * of the backend's own kernels.
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  if (!attached.has(backend)) {
    const parts = instantiate(backend);
    attached.set(
      backend,
      parts &&
        new SimdKernels(
          new WebAssembly.Instance(parts.module, { env: { memory: parts.memory } }).exports,
          parts.fused,
        ),
    );
  }
  return attached.get(backend) ?? undefined;
}

/** Gives the backend's SIMD kernels `threads` threads (its memory must be shared). */
export async function startSimdKernelThreads(
  backend: BackendWasm,
  threads: number,
  spawn: SpawnHelper,
): Promise<void> {
  const parts = instantiate(backend);
  if (parts === null || threads < 2 || !(parts.memory.buffer instanceof SharedArrayBuffer)) return;
  const pool = await KernelThreads.start(parts.module, parts.memory, threads, KERNEL_NAMES, spawn);
  attached.get(backend)?.stop();
  const exports = new WebAssembly.Instance(parts.module, { env: { memory: parts.memory } }).exports;
  attached.set(backend, new SimdKernels(exports, parts.fused, pool));
}

/** A tensor's byte offset in the backend's memory, as the kernels take it. */
export function heapAddress(backend: BackendWasm, dataId: object): number {
  return (backend.dataIdMap.get(dataId) as unknown as { memoryOffset: number }).memoryOffset;
}

/** A Web Worker helper running `body` (kernel-threads.ts), from a blob (the CSP allows blob:). */
export function spawnBrowserHelper(body: string): HelperThread {
  const prologue = `const post = (message) => postMessage(message);
onmessage = (event) => { onmessage = null; run(event.data); };`;
  const url = URL.createObjectURL(new Blob([`${body}\n${prologue}`], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.addEventListener('message', (e) => listener(e.data)),
    onError: (listener) => worker.addEventListener('error', (e) => listener(e.message)),
    terminate: () => worker.terminate(),
  };
}

/** Whether the backend's SIMD kernels are the build with fused multiply-adds (relaxed SIMD). */
export function simdFusedMultiplyAdd(backend: BackendWasm): boolean {
  return simdKernels(backend)?.fused === true;
}

/** How many threads the backend's SIMD kernels run on (1 where they run at all, 0 where not). */
export function simdThreads(backend: BackendWasm): number {
  return simdKernels(backend)?.threads ?? 0;
}
