import * as tf from '@tensorflow/tfjs';
import { forward } from './forward';
import type { Graph } from './types';

/**
 * Sets every BatchNorm's moving mean and variance to the statistics of its input over `x`, run in
 * batches of `batchSize` with batch statistics upstream. After a network's weights change (a
 * pruned or re-fitted student) the statistics it was trained with no longer describe its
 * activations; this is the limit the reference code of Cross Distillation reaches by running the
 * student in train() mode on the few-shot batch (METHODS.md §1.3).
 */
export function recalibrateBatchNorm(g: Graph, x: tf.Tensor, batchSize: number): void {
  const bns = g.nodes.filter((n) => n.op === 'batchNorm');
  if (bns.length === 0) return;
  const n = x.shape[0];
  // Per BatchNorm, Σ n_b·mean_b and Σ n_b·(var_b + mean_b²) over batches: the moments of the union.
  let sums: { mean: tf.Tensor; sq: tf.Tensor }[] | undefined;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const next = tf.tidy(() => {
      const xb = size === n ? x : tf.slice(x, start, size);
      // Not training: the moving averages are left alone until the exact moments are known.
      const { tapped } = forward(g, xb, {
        batchStatistics: true,
        taps: bns.map((b) => b.inputs[0]),
      });
      return bns.map((b, i) => {
        const h = tapped.get(b.inputs[0])!;
        const { mean, variance } = tf.moments(h, h.rank === 4 ? [0, 1, 2] : [0]);
        const m = tf.mul(mean, size);
        const q = tf.mul(tf.add(variance, tf.square(mean)), size);
        return sums
          ? { mean: tf.add(sums[i].mean, m), sq: tf.add(sums[i].sq, q) }
          : { mean: m, sq: q };
      });
    });
    sums?.forEach((s) => tf.dispose([s.mean, s.sq]));
    sums = next;
  }
  tf.tidy(() =>
    bns.forEach((b, i) => {
      const mean = tf.div(sums![i].mean, n);
      b.weights.movingMean.assign(mean);
      b.weights.movingVariance.assign(tf.relu(tf.sub(tf.div(sums![i].sq, n), tf.square(mean))));
    }),
  );
  sums!.forEach((s) => tf.dispose([s.mean, s.sq]));
}
