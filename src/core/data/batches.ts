// Dataset → tf tensors. Pixels go through a 256-entry lookup table into one Float32Array per
// batch, so each batch costs a single tensor upload (plus one resize op in 'bilinear' mode).
import * as tf from '@tensorflow/tfjs';
import type { Dataset, DatasetId } from './dataset';
import { shuffleInPlace, type RandomSource } from './shuffle';

/** Applied after scaling pixels to [0, 1]: x = (p / 255 - mean) / std. */
export interface Normalization {
  mean: number;
  std: number;
}

/**
 * The conventional per-dataset statistics of the training sets, as used by the reference
 * PyTorch code (DAFL, Cross Distillation): MNIST (0.1307, 0.3081), Fashion-MNIST (0.2860, 0.3530).
 */
export const NORMALIZATION: Readonly<Record<DatasetId, Normalization>> = {
  mnist: { mean: 0.1307, std: 0.3081 },
  fashion: { mean: 0.286, std: 0.353 },
};

export interface TensorOptions {
  /** Output side length; omit to keep the stored 28×28. */
  resize?: 32;
  /**
   * How 28 → 32 is done. 'pad' (default): a 2-pixel border of background (pixel value 0, before
   * normalisation), the classic LeNet-5 input. 'bilinear': torchvision's Resize((32, 32)) — what
   * DAFL's reference code does — i.e. half-pixel-centre bilinear, rounded back to integers.
   */
  resizeMode?: 'pad' | 'bilinear';
  /** Omit for plain [0, 1] scaling. */
  normalize?: Normalization;
}

export interface Batch {
  /** [n, side, side, channels] float32. */
  x: tf.Tensor4D;
  /** [n] int32 class labels. */
  y: tf.Tensor1D;
  /** Dataset indices of the rows of x and y. */
  indices: Int32Array;
}

/** Tensors for `indices` (default: the whole dataset), in that order. The caller disposes them. */
export function toTensors(
  ds: Dataset,
  indices?: ArrayLike<number>,
  opts: TensorOptions = {},
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { height: h, width: w, channels: c, count } = ds;
  const idx = indices ?? Int32Array.from({ length: count }, (_, i) => i);
  const n = idx.length;
  const imageBytes = h * w * c;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = idx[i];
    if (!Number.isInteger(k) || k < 0 || k >= count) {
      throw new RangeError(`index ${k} out of range for ${ds.id} ${ds.split} (count ${count})`);
    }
    labels[i] = ds.labels[k];
  }
  const y = tf.tensor1d(labels, 'int32');

  const side = opts.resize ?? h;
  if (side < h || side < w) throw new RangeError(`resize ${side} is smaller than ${h}×${w}`);
  const mode = side === h && side === w ? 'none' : (opts.resizeMode ?? 'pad');
  const { mean, std } = opts.normalize ?? { mean: 0, std: 1 };

  if (mode === 'bilinear') {
    // Resize the raw 0..255 values and round, as PIL does before ToTensor, then normalise.
    const raw = new Float32Array(n * imageBytes);
    for (let i = 0; i < n; i++) {
      const src = idx[i] * imageBytes;
      raw.set(ds.pixels.subarray(src, src + imageBytes), i * imageBytes);
    }
    const x = tf.tidy(() =>
      tf.image
        .resizeBilinear(tf.tensor4d(raw, [n, h, w, c]), [side, side], false, true)
        .round()
        .div(255)
        .sub(mean)
        .div(std),
    );
    return { x: x as tf.Tensor4D, y };
  }

  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = (v / 255 - mean) / std;
  const out = new Float32Array(n * side * side * c);
  const top = (side - h) >> 1;
  const left = (side - w) >> 1;
  if (top > 0 || left > 0) out.fill(lut[0]);
  const rowBytes = w * c;
  for (let i = 0; i < n; i++) {
    const src = idx[i] * imageBytes;
    const dst = i * side * side * c;
    for (let r = 0; r < h; r++) {
      const s = src + r * rowBytes;
      const d = dst + ((r + top) * side + left) * c;
      for (let j = 0; j < rowBytes; j++) out[d + j] = lut[ds.pixels[s + j]];
    }
  }
  return { x: tf.tensor4d(out, [n, side, side, c]), y };
}

export interface BatchOptions extends TensorOptions {
  batchSize: number;
  /** Shuffles the order (a fresh permutation per call); omit to keep `indices` order (eval). */
  rng?: RandomSource;
  /** The examples to visit; default: the whole dataset. */
  indices?: ArrayLike<number>;
  /** Skip the final, smaller batch. */
  dropRemainder?: boolean;
}

/**
 * One epoch of mini-batches: every index of `indices` appears exactly once (all but the last
 * partial batch with dropRemainder). Tensors are created lazily, one batch at a time; the caller
 * disposes each batch's x and y.
 */
export function* batches(ds: Dataset, opts: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize, rng, indices, dropRemainder = false } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = indices
    ? Int32Array.from(indices)
    : Int32Array.from({ length: ds.count }, (_, i) => i);
  if (rng) shuffleInPlace(order, rng);
  const end = dropRemainder ? order.length - (order.length % batchSize) : order.length;
  for (let start = 0; start < end; start += batchSize) {
    const batchIndices = order.subarray(start, Math.min(start + batchSize, end));
    yield { ...toTensors(ds, batchIndices, opts), indices: batchIndices };
  }
}
