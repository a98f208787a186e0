import * as tf from '@tensorflow/tfjs';
import { forward, trainableVariables, type Graph } from '../graph';

export interface StepTiming {
  /** Milliseconds of each timed step, in order. */
  samples: number[];
  median: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Wall time of one supervised training step (forward, backward, Adam update) of `g` on random
 * data, waiting for the backend to finish each step. The first `warmup` steps (kernel
 * compilation, optimiser slots) are not timed.
 */
export async function timeTrainingStep(
  g: Graph,
  opts: { batchSize?: number; steps?: number; warmup?: number; seed?: number } = {},
): Promise<StepTiming> {
  const { batchSize = 64, steps = 20, warmup = 3, seed = 1 } = opts;
  const x = tf.randomNormal([batchSize, ...g.inputShape], 0, 1, 'float32', seed);
  const classes = forward(g, tf.zeros([1, ...g.inputShape])).output;
  const numClasses = classes.shape[1]!;
  tf.dispose(classes);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', seed + 1), numClasses);
  const optimizer = tf.train.adam(1e-3);
  const vars = trainableVariables(g);
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const start = performance.now();
      const loss = optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(y, forward(g, x, { training: true }).output) as tf.Scalar,
        true,
        vars,
      )!;
      await loss.data();
      loss.dispose();
      if (i >= warmup) samples.push(performance.now() - start);
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
  }
  return { samples, median: median(samples) };
}
