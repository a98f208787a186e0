/**
 * 2-D UMAP embeddings (McInnes et al. 2018) of feature vectors, through umap-js: pure
 * JavaScript, so it runs in the run worker and in Node alike. The parameters default to
 * umap-learn's (nNeighbors 15, minDist 0.1, euclidean), which METHODS.md §5.3 says to use for
 * the clean-vs-adversarial figure since the paper does not give its own.
 */
import { UMAP } from 'umap-js';
import type { Rng } from '../runtime/rng';

export interface UmapOptions {
  /** Size of the local neighbourhood; capped at n − 1, as umap-learn does. Default 15. */
  nNeighbors?: number;
  /** How tightly points may pack in the embedding. Default 0.1. */
  minDist?: number;
  /** Optimisation epochs; default umap-js's, by n (500 up to 2,500 points, fewer above). */
  nEpochs?: number;
  /** Every random choice (neighbour search, initial layout, negative samples) draws from it. */
  rng: Rng;
}

/** An embedding being optimised, an epoch at a time so a caller can report and stop between. */
export interface UmapRun {
  /** Epochs in all. */
  readonly epochs: number;
  /** Epochs done so far. */
  readonly epoch: number;
  /** Runs up to `k` more epochs; returns the epochs done. */
  step(k: number): number;
  /** The current layout: x, y of each row in turn (2·n numbers). */
  embedding(): Float32Array;
}

/**
 * Builds the fuzzy neighbour graph of `rows` and the initial layout (the part that cannot be
 * split up); the epochs run through `step`.
 */
export function startUmap(rows: ArrayLike<number>[], opts: UmapOptions): UmapRun {
  const { nNeighbors = 15, minDist = 0.1, nEpochs, rng } = opts;
  const n = rows.length;
  if (n < 3) throw new RangeError(`UMAP needs at least 3 rows, got ${n}`);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(nNeighbors, n - 1),
    minDist,
    nEpochs,
    random: () => rng.next(),
  });
  const epochs = umap.initializeFit(rows.map((r) => Array.from(r)));
  let epoch = 0;
  return {
    epochs,
    get epoch() {
      return epoch;
    },
    step(k) {
      const end = Math.min(epochs, epoch + k);
      while (epoch < end) epoch = umap.step();
      return epoch;
    },
    embedding() {
      const points = new Float32Array(2 * n);
      umap.getEmbedding().forEach(([x, y], i) => {
        points[2 * i] = x;
        points[2 * i + 1] = y;
      });
      return points;
    },
  };
}

/** The finished 2-D embedding: x, y of each row in turn. Blocks until done. */
export function umapEmbed(rows: ArrayLike<number>[], opts: UmapOptions): Float32Array {
  const run = startUmap(rows, opts);
  run.step(run.epochs);
  return run.embedding();
}

/**
 * `umapEmbed` that hands the thread back (a macrotask) every `yieldEvery` epochs, so a worker
 * still answers messages while it runs. `onProgress(epoch, epochs)` follows each chunk.
 */
export async function umapEmbedAsync(
  rows: ArrayLike<number>[],
  opts: UmapOptions & { yieldEvery?: number; onProgress?: (epoch: number, epochs: number) => void },
): Promise<Float32Array> {
  const { yieldEvery = 10, onProgress } = opts;
  const run = startUmap(rows, opts);
  while (run.epoch < run.epochs) {
    run.step(yieldEvery);
    onProgress?.(run.epoch, run.epochs);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return run.embedding();
}
