import type { BackendName } from '../core/runtime/backend';
import type { BenchTask, BenchTiming } from '../core/experiments/bench';

/** Where a bench task runs: a backend and, for WASM, its thread count. */
export interface BenchConfig {
  backend: BackendName;
  /**
   * WASM only: XNNPACK's threads and our kernels'; default the page's (XNNPACK on one per two
   * logical cores, ours on every one).
   */
  threads?: number;
}

export type BenchRequest = BenchConfig & { task: BenchTask };

export interface BenchReply extends BenchTiming {
  /** How the backend runs, from initBackend (e.g. "wasm: requested (SIMD, 2 threads …)"). */
  reason: string;
  threads?: number;
}

/** What the page exposes to the driver (src/cli/bench-browser.ts). */
export type ClabBench = (request: BenchRequest) => Promise<BenchReply>;
