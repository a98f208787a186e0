/**
 * What a data-free run shows while it learns: the generated samples labelled by the teacher,
 * the mean sample of each class the teacher assigns (DAFL's Fig. 8), and how the teacher's
 * predictions spread over the classes (a collapsed generator puts them all in a few).
 */
import * as tf from '@tensorflow/tfjs';
import type { Preprocessing } from '../graph';
import { toPixels } from '../metrics';
import type { RunEvent } from './types';

type ImagesEvent = Extract<RunEvent, { kind: 'images' }>;

/** What the teacher says about one generated batch, read back once. */
export interface BatchReading {
  /** Pixels in [0, 255], NHWC. */
  pixels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  predicted: Int32Array;
  confidence: Float32Array;
  classes: number;
}

/**
 * Reads a generated batch (in the teacher's normalised input domain) back as pixels, with the
 * teacher's predicted class and its softmax probability for each image.
 */
export async function readBatch(
  x: tf.Tensor4D,
  teacherLogits: tf.Tensor2D,
  pre: Preprocessing,
): Promise<BatchReading> {
  const [count, height, width, channels] = x.shape;
  const [pixels, predicted, confidence] = tf.tidy(() => {
    const p = tf.softmax(teacherLogits);
    return [tf.cast(toPixels(x, pre), 'int32'), tf.argMax(p, 1), tf.max(p, 1)];
  });
  const [px, pred, conf] = await Promise.all([pixels.data(), predicted.data(), confidence.data()]);
  tf.dispose([pixels, predicted, confidence]);
  return {
    pixels: Uint8Array.from(px),
    count,
    height,
    width,
    channels,
    predicted: Int32Array.from(pred),
    confidence: Float32Array.from(conf),
    classes: teacherLogits.shape[1],
  };
}

/** The first `count` images, captioned "class confidence%" as the teacher sees them. */
export function sampleGrid(b: BatchReading, key: string, step: number, count: number): ImagesEvent {
  const n = Math.min(count, b.count);
  const size = b.height * b.width * b.channels;
  const captions = Array.from(
    { length: n },
    (_, i) => `${b.predicted[i]} ${Math.round(b.confidence[i] * 100)}%`,
  );
  return imagesOf(b, key, step, b.pixels.slice(0, n * size), captions);
}

/** An images event of pixels shaped like the batch's images. */
function imagesOf(
  b: BatchReading,
  key: string,
  step: number,
  pixels: Uint8Array,
  captions: string[],
): ImagesEvent {
  const { width, height, channels } = b;
  return { kind: 'images', key, step, width, height, channels, pixels, captions };
}

/** Per class, the mean of the images the teacher assigns to it (black where it assigns none). */
export function classMeans(b: BatchReading, key: string, step: number): ImagesEvent {
  const size = b.height * b.width * b.channels;
  const sums = new Float64Array(b.classes * size);
  const counts = new Int32Array(b.classes);
  for (let i = 0; i < b.count; i++) {
    const c = b.predicted[i];
    counts[c]++;
    for (let j = 0; j < size; j++) sums[c * size + j] += b.pixels[i * size + j];
  }
  const pixels = new Uint8Array(b.classes * size);
  for (let c = 0; c < b.classes; c++) {
    if (counts[c] === 0) continue;
    for (let j = 0; j < size; j++)
      pixels[c * size + j] = Math.round(sums[c * size + j] / counts[c]);
  }
  const captions = Array.from(counts, (n, c) => `${c} (${n})`);
  return imagesOf(b, key, step, pixels, captions);
}

/**
 * The share of the batch the teacher puts in each class, and the entropy of that histogram in
 * bits: log2(k) when the classes are balanced, 0 when every sample lands in one class.
 */
export function classHistogram(b: BatchReading): { shares: number[]; entropyBits: number } {
  const counts = new Array<number>(b.classes).fill(0);
  for (const c of b.predicted) counts[c]++;
  const shares = counts.map((n) => n / b.count);
  const entropyBits = -shares.reduce((h, p) => (p > 0 ? h + p * Math.log2(p) : h), 0);
  return { shares, entropyBits };
}

/**
 * The grid of the first `count` images (under `key`), the per-class means and the class
 * histogram of a batch.
 */
export async function* batchViews(
  images: tf.Tensor4D,
  teacherLogits: tf.Tensor2D,
  pre: Preprocessing,
  step: number,
  count: number,
  key = 'samples',
): AsyncGenerator<RunEvent> {
  const batch = await readBatch(images, teacherLogits, pre);
  yield sampleGrid(batch, key, step, count);
  yield classMeans(batch, 'class-means', step);
  const { shares, entropyBits } = classHistogram(batch);
  const labels = shares.map((_, c) => String(c));
  yield { kind: 'layers', key: 'teacher-classes', step, labels, values: shares };
  yield { kind: 'scalar', key: 'class-entropy/bits', step, value: entropyBits };
}
