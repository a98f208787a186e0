import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../runtime/errors';
import type { Dataset, PixelMap, TensorOptions } from '../data';
import type { Graph, InputRange, Preprocessing } from '../graph';

/** [scale, offset] taking a stored pixel 0..255 to each range. */
const RANGES: Record<InputRange, [number, number]> = {
  unit: [1 / 255, 0],
  raw: [1, 0],
  signed: [2 / 255, -1],
};

/** BGR input: input channel k reads stored (RGB) channel BGR_SOURCES[k]. */
const BGR_SOURCES = [2, 1, 0];

/** A preprocessing as the per-channel affine map of stored pixels it amounts to. */
export function pixelMap(pre: Preprocessing): PixelMap {
  const [s, o] = RANGES[pre.range ?? 'unit'];
  // Inverted: s · (255 − p) + o.
  const scale = pre.invert ? -s : s;
  const offset = pre.invert ? 255 * s + o : o;
  const means = [pre.mean].flat();
  const stds = [pre.std].flat();
  const channels = Math.max(means.length, stds.length);
  const at = (v: number[], k: number) => v[k] ?? v[0];
  return {
    scale: Array.from({ length: channels }, (_, k) => scale / at(stds, k)),
    offset: Array.from({ length: channels }, (_, k) => (offset - at(means, k)) / at(stds, k)),
    ...(pre.channelOrder === 'bgr' && { order: BGR_SOURCES }),
  };
}

/** A batch in `pre`'s input domain back as pixels 0..255 (rounded, clipped), for display. */
export function toPixels(x: tf.Tensor4D, pre: Preprocessing): tf.Tensor4D {
  const { scale, offset, order } = pixelMap(pre);
  return tf.tidy(() => {
    const p = tf.round(
      tf.clipByValue(tf.div(tf.sub(x, tf.tensor1d(offset)), tf.tensor1d(scale)), 0, 255),
    );
    // Back to stored order: stored channel order[k] is input channel k.
    return order ? tf.gather(p, inversePermutation(order), 3) : p;
  }) as tf.Tensor4D;
}

export function inversePermutation(order: readonly number[]): number[] {
  const inverse: number[] = [];
  order.forEach((from, k) => (inverse[from] = k));
  return inverse;
}

/** How a dataset's images become this model's input: its preprocessing, to its input size. */
export function inputOptions(g: Graph, ds: Dataset): TensorOptions {
  const [h, w, c] = g.inputShape;
  const pre = g.preprocessing;
  const resizeMode = pre.resize ?? 'pad';
  const perChannel = [[pre.mean].flat().length, [pre.std].flat().length];
  if (g.inputShape.length !== 3 || c !== ds.channels) {
    throw new InvalidInputError(
      `Model '${g.name}' takes ${g.inputShape.join('×')} inputs but ${ds.id} images are ${ds.height}×${ds.width}×${ds.channels}`,
      `Use a model whose input has ${ds.channels} channel(s).`,
    );
  }
  if (pre.channelOrder === 'bgr' && c !== 3) {
    throw new InvalidInputError(
      `Model '${g.name}' has ${c} input channel(s) but its preprocessing puts them in BGR order`,
      'Only colour (3-channel) models have a channel order: set "channelOrder" to "rgb".',
    );
  }
  if (perChannel.some((n) => n !== 1 && n !== c)) {
    throw new InvalidInputError(
      `Model '${g.name}' has ${c} input channel(s) but its preprocessing gives ${perChannel.join(' means and ')} standard deviations`,
      'Give one mean and std, or one per channel.',
    );
  }
  if (resizeMode === 'pad' && (h < ds.height || w < ds.width)) {
    throw new InvalidInputError(
      `Model '${g.name}' takes ${h}×${w} inputs, smaller than ${ds.id}'s ${ds.height}×${ds.width} images, so they cannot be padded`,
      'Set its preprocessing to resize "bilinear" (clab: --preprocessing \'{"resize":"bilinear"}\').',
    );
  }
  // Inverted data is dark on light: its background, which pads the border, is white.
  return { resize: [h, w], resizeMode, pixels: pixelMap(pre), padPixel: pre.invert ? 255 : 0 };
}
