import { gzipSync } from 'fflate';
import { graphStats, nonZeroParams, type Graph } from '../graph';
import { graphToLayersJson } from './layers-format';

/**
 * What a network really costs, beside its dense float32 size: the answer to "I pruned it, but it
 * is not smaller". Zeros cost as much as any weight in a dense file; the exported file shrinks
 * only where channels were removed or weights stored quantized; gzip shows what the zeros and
 * repeated values are worth to a generic compressor.
 */
export interface ModelSize {
  params: number;
  /** Parameters that are not zero (weights and biases, BatchNorm statistics included). */
  nonZeroParams: number;
  /** Multiply-accumulates of one example. */
  flops: number;
  /** Every parameter as float32. */
  denseBytes: number;
  /** The weight file the TF.js export writes (quantized where the weights allow it exactly). */
  exportBytes: number;
  /** That file gzipped (level 9), as a server would send it. */
  gzipBytes: number;
}

export async function modelSize(g: Graph): Promise<ModelSize> {
  const stats = graphStats(g);
  const { weightData } = await graphToLayersJson(g);
  const shard = new Uint8Array(weightData);
  return {
    params: stats.params,
    nonZeroParams: await nonZeroParams(g),
    flops: stats.flops,
    denseBytes: stats.bytes,
    exportBytes: shard.byteLength,
    gzipBytes: gzipSync(shard, { level: 9 }).byteLength,
  };
}
