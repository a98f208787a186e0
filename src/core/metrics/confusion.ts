// What compression changed, example by example: the teacher's and the student's predictions on
// the same test images, their confusion matrices, and the images the student "flipped" (the
// teacher right, the student wrong) or rescued (the other way round).
import * as tf from '@tensorflow/tfjs';
import { batches, type Dataset } from '../data';
import { forward, type Graph } from '../graph';
import { inputOptions } from './inputs';

/** `g`'s top-1 class of every example of `ds`, in order, in inference mode. */
export async function predictions(g: Graph, ds: Dataset, batchSize = 500): Promise<Int32Array> {
  await ds.ensure?.();
  const out = new Int32Array(ds.count);
  for (const batch of batches(ds, { ...inputOptions(g, ds), batchSize })) {
    const classes = tf.tidy(() => tf.argMax(forward(g, batch.x).output, -1));
    const values = await classes.data();
    batch.indices.forEach((k, j) => (out[k] = values[j]));
    tf.dispose([classes, batch.x, batch.y]);
  }
  return out;
}

/** counts[true class][predicted class]. */
export function confusionMatrix(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): number[][] {
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predicted[i]]++;
  return counts;
}

export interface PredictionChanges {
  /** Indices where the teacher is right and the student wrong. */
  flipped: number[];
  /** Indices where the teacher is wrong and the student right. */
  rescued: number[];
}

export function predictionChanges(
  labels: ArrayLike<number>,
  teacher: ArrayLike<number>,
  student: ArrayLike<number>,
): PredictionChanges {
  const flipped: number[] = [];
  const rescued: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const t = teacher[i] === labels[i];
    const s = student[i] === labels[i];
    if (t && !s) flipped.push(i);
    else if (!t && s) rescued.push(i);
  }
  return { flipped, rescued };
}
