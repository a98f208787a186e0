/** Memory and NaN guards for training loops and their tests. */
import * as tf from '@tensorflow/tfjs';

import { DivergenceError, TensorLeakError } from './errors';

/**
 * Runs `step` `steps` times and returns the live tensor count after each. Throws a
 * TensorLeakError if any count differs from the count after step 1: a step that runs inside
 * tf.tidy (or disposes what it makes) leaves the count flat, so growth is a leak. Step 1 is the
 * baseline because first steps legitimately create state (optimizer slots, caches).
 */
export async function expectFlatTensorCount(
  step: (index: number) => void | Promise<void>,
  steps: number,
): Promise<number[]> {
  if (!Number.isInteger(steps) || steps < 2) {
    throw new RangeError(`expectFlatTensorCount needs at least 2 steps, got ${steps}`);
  }
  const counts: number[] = [];
  for (let i = 0; i < steps; i++) {
    await step(i);
    counts.push(tf.memory().numTensors);
  }
  const changed = counts.findIndex((n) => n !== counts[0]);
  if (changed >= 0) {
    const growth = counts[counts.length - 1] - counts[0];
    const perStep = growth / (counts.length - 1);
    throw new TensorLeakError(
      counts,
      `Tensor count changed from ${counts[0]} after step 1 to ${counts[changed]} after step ` +
        `${changed + 1} (${counts[counts.length - 1]} after step ${counts.length}, ` +
        `${perStep >= 0 ? '+' : ''}${perStep.toFixed(1)} per step): counts ${counts.join(', ')}`,
    );
  }
  return counts;
}

/**
 * Throws a DivergenceError if `value` (a number, the values of an array, or a tensor's values)
 * holds NaN or ±Infinity. `what` names the quantity for the message, e.g. 'loss' or
 * 'gradient of conv1/kernel'. A tensor is read synchronously: pass a number you already read
 * where the caller is async.
 */
export function assertFinite(
  value: number | ArrayLike<number> | tf.Tensor,
  what: string,
  step?: number,
): void {
  const values =
    typeof value === 'number' ? [value] : value instanceof tf.Tensor ? value.dataSync() : value;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new DivergenceError(what, values[i], step);
  }
}
