import * as tf from '@tensorflow/tfjs';

/**
 * DeepInversion's random jitter: a circular shift of the batch by `dy` rows and `dx` columns
 * (torch.roll), and a horizontal flip when `flip`. Differentiable: the gradient reaches the
 * un-shifted images.
 */
export function jitter(x: tf.Tensor4D, dy: number, dx: number, flip: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    let out = roll(roll(x, dy, 1), dx, 2);
    if (flip) out = tf.reverse(out, 2);
    return out;
  });
}

function roll(x: tf.Tensor4D, shift: number, axis: 1 | 2): tf.Tensor4D {
  const size = x.shape[axis];
  const s = ((shift % size) + size) % size;
  if (s === 0) return x;
  const [head, tail] = tf.split(x, [size - s, s], axis);
  return tf.concat([tail, head], axis) as tf.Tensor4D;
}
