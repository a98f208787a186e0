// Dataset → tf tensors. Pixels go through a 256-entry lookup table into one Float32Array per
// batch, so each batch costs a single tensor upload (plus one resize op in 'bilinear' mode).
import * as tf from '@tensorflow/tfjs';
import type { Dataset, DatasetId } from './dataset';
import { shuffleInPlace, type RandomSource } from './shuffle';

/** A dataset's pixel statistics on the [0, 1] scale: x = (p / 255 - mean) / std. */
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

/**
 * Input channel k is scale[k] · p + offset[k] of the stored pixel p (0..255) of channel
 * order[k] (default k); one entry serves every channel. Every preprocessing (channel order,
 * range, inversion, mean/std) is such a map.
 */
export interface PixelMap {
  scale: number[];
  offset: number[];
  order?: number[];
}

export interface TensorOptions {
  /** Output [height, width]; omit to keep the stored 28×28. */
  resize?: readonly [number, number];
  /**
   * How the stored size reaches `resize`. 'pad' (default, only to a larger size): a border of
   * background (pixel value 0), centred, the classic LeNet-5 input. 'bilinear': torchvision's
   * Resize — what DAFL's reference code does — i.e. half-pixel-centre bilinear, rounded back to
   * integers.
   */
  resizeMode?: 'pad' | 'bilinear';
  /** Omit for plain [0, 1] scaling. */
  pixels?: PixelMap;
  /** The stored pixel value 'pad' fills the border with: the background (default 0, black). */
  padPixel?: number;
}

export interface Batch {
  /** [n, height, width, channels] float32. */
  x: tf.Tensor4D;
  /** [n] int32 class labels. */
  y: tf.Tensor1D;
  /** Dataset indices of the rows of x and y. */
  indices: Int32Array;
}

const UNIT: PixelMap = { scale: [1 / 255], offset: [0] };

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
    if (ds.has && !ds.has(k)) {
      throw new Error(`${ds.id} ${ds.split} image ${k} was read before it was fetched (ensure)`);
    }
    labels[i] = ds.labels[k];
  }
  const y = tf.tensor1d(labels, 'int32');

  const [outH, outW] = opts.resize ?? [h, w];
  const mode = outH === h && outW === w ? 'none' : (opts.resizeMode ?? 'pad');
  if (mode === 'pad' && (outH < h || outW < w)) {
    throw new RangeError(`cannot pad ${h}×${w} images to the smaller ${outH}×${outW}`);
  }
  const map = opts.pixels ?? UNIT;
  const perChannel = (v: number[]) => Array.from({ length: c }, (_, k) => v[k] ?? v[0]);
  const scale = perChannel(map.scale);
  const offset = perChannel(map.offset);
  const order = map.order ?? Array.from({ length: c }, (_, k) => k);
  if (order.length !== c) {
    throw new RangeError(`a channel order of ${order.length} for ${c}-channel images`);
  }

  if (mode === 'bilinear') {
    // Resize the raw 0..255 values and round, as PIL does before ToTensor, then map.
    const raw = new Float32Array(n * imageBytes);
    for (let i = 0; i < n; i++) {
      const src = idx[i] * imageBytes;
      raw.set(ds.pixels.subarray(src, src + imageBytes), i * imageBytes);
    }
    const x = tf.tidy(() =>
      tf.image
        .resizeBilinear(tf.tensor4d(raw, [n, h, w, c]), [outH, outW], false, true)
        .round()
        .gather(order, 3)
        .mul(tf.tensor1d(scale))
        .add(tf.tensor1d(offset)),
    );
    return { x: x as tf.Tensor4D, y };
  }

  // One 256-entry table per channel, so each pixel costs one lookup.
  const lut = new Float32Array(256 * c);
  for (let k = 0; k < c; k++) {
    for (let v = 0; v < 256; v++) lut[k * 256 + v] = scale[k] * v + offset[k];
  }
  const out = new Float32Array(n * outH * outW * c);
  const top = (outH - h) >> 1;
  const left = (outW - w) >> 1;
  if (top > 0 || left > 0) {
    const background = opts.padPixel ?? 0;
    for (let p = 0; p < out.length; p++) out[p] = lut[(p % c) * 256 + background];
  }
  const rowBytes = w * c;
  // Where value j of a row is read from, relative to its pixel's first channel.
  const shift = Int32Array.from(order, (from, k) => from - k);
  for (let i = 0; i < n; i++) {
    const src = idx[i] * imageBytes;
    const dst = i * outH * outW * c;
    for (let r = 0; r < h; r++) {
      const s = src + r * rowBytes;
      const d = dst + ((r + top) * outW + left) * c;
      for (let j = 0; j < rowBytes; j++) {
        const k = j % c;
        out[d + j] = lut[k * 256 + ds.pixels[s + j + shift[k]]];
      }
    }
  }
  return { x: tf.tensor4d(out, [n, outH, outW, c]), y };
}

export interface BatchOptions extends TensorOptions {
  batchSize: number;
  /** Shuffles the order (a fresh permutation per call); omit to keep `indices` order (eval). */
  rng?: RandomSource;
  /** The examples to visit; default: the whole dataset. */
  indices?: ArrayLike<number>;
  /** Skip the final, smaller batch. */
  dropRemainder?: boolean;
  /**
   * Pass over this many of the epoch's first batches without making them, after shuffling as
   * usual (a resumed loop draws the batches an uninterrupted one would).
   */
  skip?: number;
}

/**
 * One epoch of mini-batches: every index of `indices` appears exactly once (all but the last
 * partial batch with dropRemainder). Tensors are created lazily, one batch at a time; the caller
 * disposes each batch's x and y.
 */
export function* batches(ds: Dataset, opts: BatchOptions): Generator<Batch, void, undefined> {
  const { batchSize, rng, indices, dropRemainder = false, skip = 0 } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = indices
    ? Int32Array.from(indices)
    : Int32Array.from({ length: ds.count }, (_, i) => i);
  if (rng) shuffleInPlace(order, rng);
  const end = dropRemainder ? order.length - (order.length % batchSize) : order.length;
  for (let start = skip * batchSize; start < end; start += batchSize) {
    const batchIndices = order.subarray(start, Math.min(start + batchSize, end));
    yield { ...toTensors(ds, batchIndices, opts), indices: batchIndices };
  }
}
