/**
 * L∞ adversarial examples: FGSM (Goodfellow et al. 2015) and PGD (Madry et al. 2018). Both attack
 * a model given as a function of pixels in [0, 1], so the ε-ball and the box constraint live in
 * image space whatever the model's preprocessing, and a dynamic network (gates, overrides) is
 * attacked through the same door as a static graph.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, TensorOptions } from '../data';
import { forward, type Graph } from '../graph';
import { inputOptions, pixelMap } from '../metrics';
import type { Rng } from '../runtime/rng';

/**
 * A classifier of [n, h, w, c] pixels in [0, 1] at the model's input size (a stored pixel p is
 * p / 255), returning [n, classes] logits. Like `forward` it need not tidy: the attacks call it
 * inside their own scopes and gradients.
 */
export type LogitsFn = (pixels: tf.Tensor4D) => tf.Tensor2D;

/** `g`'s input for pixels u in [0, 1]: 255·u under its preprocessing's map. Does not tidy. */
export function pixelsToInput(g: Graph): (pixels: tf.Tensor4D) => tf.Tensor4D {
  const { scale, offset, order } = pixelMap(g.preprocessing);
  const s = scale.map((v) => 255 * v);
  return (pixels) =>
    tf.add(
      tf.mul(order ? tf.gather(pixels, order, 3) : pixels, tf.tensor1d(s)),
      tf.tensor1d(offset),
    );
}

/** `g` in inference mode as a `LogitsFn`. */
export function graphLogits(g: Graph): LogitsFn {
  const toInput = pixelsToInput(g);
  return (pixels) => forward(g, toInput(pixels), { training: false }).output as tf.Tensor2D;
}

/**
 * `toTensors` options giving `ds`'s images as `g`'s attack input: its input size, resize mode
 * and padding, but pixels left in [0, 1] (the preprocessing is `graphLogits`'s job).
 */
export function pixelOptions(g: Graph, ds: Dataset): TensorOptions {
  return { ...inputOptions(g, ds), pixels: undefined };
}

/** ∇x of the summed cross-entropy: a sum keeps each example's gradient its own, unscaled by n. */
function lossGradient(logitsOf: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  return tf.grad((xi) => {
    const logits = logitsOf(xi as tf.Tensor4D);
    const oneHot = tf.oneHot(tf.cast(y, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits))));
  })(x) as tf.Tensor4D;
}

function checkEpsilon(epsilon: number): void {
  if (!(epsilon >= 0 && epsilon <= 1)) {
    throw new RangeError(`epsilon must be in [0, 1] (pixels are in [0, 1]), got ${epsilon}`);
  }
}

/**
 * FGSM: x' = clip(x + ε·sign(∇x CE(f(x), y)), 0, 1), one step to the corner of the ε-ball the
 * linearised loss prefers. `y` is the true labels (or the model's own predictions when the
 * labels are unknown, as a detector's attacker would use). The caller disposes the result.
 */
export function fgsm(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  epsilon: number,
): tf.Tensor4D {
  checkEpsilon(epsilon);
  return tf.tidy(() => {
    const step = tf.mul(tf.sign(lossGradient(logitsOf, x, y)), epsilon);
    return tf.clipByValue(tf.add(x, step), 0, 1) as tf.Tensor4D;
  });
}

export interface PgdOptions {
  /** L∞ radius in [0, 1] pixel units. */
  epsilon: number;
  steps: number;
  /** α; default 2.5·ε / steps, Madry et al.'s choice, so the walk can cross the ball. */
  stepSize?: number;
  /** Start from a uniform point of the ε-ball (default, as Madry et al.) or from x itself. */
  randomStart?: boolean;
  /** Seeds the random start. */
  rng: Rng;
}

/**
 * PGD (L∞): from a random start in the ε-ball, `steps` signed-gradient steps of size α, each
 * projected back onto the ball around x intersected with [0, 1] — a box, so the projection is a
 * clip to [max(x − ε, 0), min(x + ε, 1)]. The caller disposes the result.
 */
export function pgd(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  opts: PgdOptions,
): tf.Tensor4D {
  const { epsilon, steps, randomStart = true, rng } = opts;
  checkEpsilon(epsilon);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  const alpha = opts.stepSize ?? (2.5 * epsilon) / steps;
  // One outer scope frees everything on a throw; each step's own scope keeps memory flat.
  return tf.tidy(() => {
    const lo = tf.maximum(tf.sub(x, epsilon), 0);
    const hi = tf.minimum(tf.add(x, epsilon), 1);
    const project = (v: tf.Tensor) => tf.minimum(tf.maximum(v, lo), hi) as tf.Tensor4D;
    let adv = randomStart
      ? project(tf.add(x, tf.randomUniform(x.shape, -epsilon, epsilon, 'float32', rng.seedForTf())))
      : x;
    for (let i = 0; i < steps; i++) {
      const prev = adv;
      adv = tf.tidy(() =>
        project(tf.add(prev, tf.mul(tf.sign(lossGradient(logitsOf, prev, y)), alpha))),
      );
      if (prev !== x) prev.dispose();
    }
    return adv;
  });
}

/** Each row's arg-max class. */
export async function predict(logitsOf: LogitsFn, x: tf.Tensor4D): Promise<Int32Array> {
  const classes = tf.tidy(() => tf.argMax(logitsOf(x), -1));
  const out = Int32Array.from(await classes.data());
  classes.dispose();
  return out;
}

/**
 * How often an attack changes a correct answer. The denominator is the inputs the model gets
 * right on the clean image (`clean[i] === labels[i]`): misclassified inputs need no attack and
 * would inflate the rate. `flipped` counts those whose adversarial prediction differs from the
 * clean one; `rate` = flipped / correct, NaN when no input is classified correctly.
 */
export function attackSuccessRate(
  clean: ArrayLike<number>,
  adversarial: ArrayLike<number>,
  labels: ArrayLike<number>,
): { rate: number; correct: number; flipped: number } {
  if (clean.length !== labels.length || adversarial.length !== labels.length) {
    throw new RangeError(
      `predictions (${clean.length} clean, ${adversarial.length} adversarial) and labels (${labels.length}) differ in length`,
    );
  }
  let correct = 0;
  let flipped = 0;
  for (let i = 0; i < labels.length; i++) {
    if (clean[i] !== labels[i]) continue;
    correct++;
    if (adversarial[i] !== clean[i]) flipped++;
  }
  return { rate: correct > 0 ? flipped / correct : NaN, correct, flipped };
}
