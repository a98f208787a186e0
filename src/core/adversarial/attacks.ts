/**
 * Adversarial examples. L∞: FGSM (Goodfellow et al. 2015), BIM (Kurakin et al. 2017) and PGD
 * (Madry et al. 2018); L2, minimal: DeepFool (Moosavi-Dezfooli et al. 2016) and C&W
 * (Carlini & Wagner 2017). All attack a model given as a function of pixels in [0, 1], so the
 * ε-ball and the box constraint live in image space whatever the model's preprocessing, and a
 * dynamic network (gates, overrides) is attacked through the same door as a static graph.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset, TensorOptions } from '../data';
import { forward, type Graph } from '../graph';
import { inputOptions, pixelMap } from '../metrics';
import { FusedAdam } from '../runtime/adam';
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
  /** Seeds the uniform random start in the ε-ball (Madry et al.). */
  rng: Rng;
}

/**
 * `steps` signed-gradient steps of size α from `start`, each projected back onto the ε-ball
 * around x intersected with [0, 1] — a box, so the projection is a clip to
 * [max(x − ε, 0), min(x + ε, 1)]. Disposes `start` unless it is x.
 */
function signedSteps(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  epsilon: number,
  steps: number,
  alpha: number,
  start: (project: (v: tf.Tensor) => tf.Tensor4D) => tf.Tensor4D,
): tf.Tensor4D {
  checkEpsilon(epsilon);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  // One outer scope frees everything on a throw; each step's own scope keeps memory flat.
  return tf.tidy(() => {
    const lo = tf.maximum(tf.sub(x, epsilon), 0);
    const hi = tf.minimum(tf.add(x, epsilon), 1);
    const project = (v: tf.Tensor) => tf.minimum(tf.maximum(v, lo), hi) as tf.Tensor4D;
    let adv = start(project);
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

/** PGD (L∞): signed-gradient steps from a uniform random point of the ε-ball. The caller disposes the result. */
export function pgd(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  opts: PgdOptions,
): tf.Tensor4D {
  const { epsilon, steps, rng } = opts;
  return signedSteps(
    logitsOf,
    x,
    y,
    epsilon,
    steps,
    opts.stepSize ?? (2.5 * epsilon) / steps,
    (project) =>
      project(tf.add(x, tf.randomUniform(x.shape, -epsilon, epsilon, 'float32', rng.seedForTf()))),
  );
}

/**
 * BIM, the basic iterative method (Kurakin et al. 2017): FGSM repeated from x itself with step
 * α = 1/255 for min(255·ε + 4, 1.25·255·ε) steps, the paper's choice — enough to reach the
 * ball's edge, no random start. The caller disposes the result.
 */
export function bim(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  opts: { epsilon: number; steps?: number; stepSize?: number },
): tf.Tensor4D {
  const { epsilon } = opts;
  const steps =
    opts.steps ?? Math.max(1, Math.ceil(Math.min(255 * epsilon + 4, 1.25 * 255 * epsilon)));
  return signedSteps(logitsOf, x, y, epsilon, steps, opts.stepSize ?? 1 / 255, () => x);
}

/** How many classes the model tells apart (one image's forward pass). */
function classCount(logitsOf: LogitsFn, x: tf.Tensor4D): number {
  return tf.tidy(() => logitsOf(tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1])).shape[1]);
}

/** Each class's logit differentiated w.r.t. the input: [classes, n, h, w, c]. */
function logitJacobian(logitsOf: LogitsFn, x: tf.Tensor4D, classes: number): tf.Tensor {
  // Rows of a batch do not interact in inference mode, so ∇ of a column's sum is each row's own.
  return tf.stack(
    Array.from({ length: classes }, (_, k) =>
      tf.grad((xi) => tf.sum(tf.slice(logitsOf(xi as tf.Tensor4D), [0, k], [-1, 1])))(x),
    ),
  );
}

export interface DeepFoolOptions {
  /** Iterations at most (the paper's examples need 2–3; default 50). */
  maxIterations?: number;
  /** The final step is (1 + overshoot)·r, to land past the boundary (default 0.02, the paper's). */
  overshoot?: number;
}

/**
 * DeepFool (multi-class, L2): at each iterate, linearise every class's margin f_k − f_k̂ around
 * it and step to the nearest of those hyperplanes, r = (|f'_l| / ‖w_l‖²)·w_l with l the class
 * of smallest |f'_k| / ‖w_k‖; an input stops once its predicted class k̂ (the clean one) has
 * changed. The result is x + (1 + overshoot)·Σr, clipped to [0, 1]: the smallest perturbation
 * the linearisation finds, not one bounded by an ε. The caller disposes the result.
 */
export async function deepfool(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  opts: DeepFoolOptions = {},
): Promise<tf.Tensor4D> {
  const { maxIterations = 50, overshoot = 0.02 } = opts;
  const [n] = x.shape;
  const d = x.size / n;
  const original = tf.tidy(() => tf.argMax(logitsOf(x), -1));
  const classes = classCount(logitsOf, x);
  let total: tf.Tensor4D = tf.zerosLike(x);
  const perturbed = (r: tf.Tensor) =>
    tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(r, 1 + overshoot)), 0, 1) as tf.Tensor4D);
  try {
    for (let i = 0; i < maxIterations; i++) {
      const step = tf.tidy(() => {
        const xi = perturbed(total);
        const logits = logitsOf(xi);
        const active = tf.cast(tf.equal(tf.argMax(logits, -1), original), 'float32');
        const own = tf.oneHot(original, classes); // [n, C]
        const jac = tf.transpose(
          tf.reshape(logitJacobian(logitsOf, xi, classes), [classes, n, d]),
          [1, 0, 2],
        );
        const w = tf.sub(jac, tf.sum(tf.mul(jac, tf.expandDims(own, 2)), 1, true)); // [n, C, d]
        const f = tf.sub(logits, tf.sum(tf.mul(logits, own), 1, true)); // [n, C]
        const norm = tf.add(tf.norm(w, 'euclidean', 2), 1e-8);
        // The clean class is no boundary: push its ratio out of the arg-min.
        const ratio = tf.add(tf.div(tf.abs(f), norm), tf.mul(own, 1e10));
        const l = tf.argMin(ratio, 1);
        const pick = tf.oneHot(l, classes);
        const wl = tf.sum(tf.mul(w, tf.expandDims(pick, 2)), 1); // [n, d]
        const fl = tf.sum(tf.mul(tf.abs(f), pick), 1);
        const nl = tf.sum(tf.mul(norm, pick), 1);
        const scale = tf.mul(tf.div(tf.add(fl, 1e-4), tf.square(nl)), active);
        return {
          r: tf.reshape(tf.mul(wl, tf.expandDims(scale, 1)), x.shape),
          left: tf.sum(active),
        };
      });
      const left = (await step.left.data())[0];
      step.left.dispose();
      const next = tf.add(total, step.r) as tf.Tensor4D;
      tf.dispose([total, step.r]);
      total = next;
      if (left === 0) break;
    }
    return perturbed(total);
  } finally {
    tf.dispose([original, total]);
  }
}

export interface CarliniWagnerOptions {
  /** Adam steps per value of c (the paper runs up to 10,000; default 100). */
  steps?: number;
  /** Rounds of the binary search on c (default 4). */
  searchSteps?: number;
  /** The first c, the weight of the misclassification term (default 1). */
  initialC?: number;
  learningRate?: number;
  /** κ, the logit margin the attack asks for (default 0). */
  confidence?: number;
}

/**
 * C&W L2, untargeted (Carlini & Wagner 2017): x' = (tanh w + 1)/2 keeps the box without
 * clipping, and Adam minimises ‖x' − x‖² + c·max(Z_y − max_{i≠y} Z_i, −κ) over w. A binary
 * search per input finds the smallest c that succeeds; each input keeps its smallest successful
 * x', or x itself if no c succeeded. The caller disposes the result.
 */
export async function carliniWagner(
  logitsOf: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  opts: CarliniWagnerOptions = {},
): Promise<tf.Tensor4D> {
  const { steps = 100, searchSteps = 4, initialC = 1, learningRate = 0.01, confidence = 0 } = opts;
  const [n] = x.shape;
  const labels = Int32Array.from(await y.data());
  const c = new Float64Array(n).fill(initialC);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n).fill(Infinity);
  const bestDistance = new Float64Array(n).fill(Infinity);
  const best = Float32Array.from(await x.data());
  const perImage = x.size / n;
  // w0 = atanh(z) = ½·log((1 + z)/(1 − z)) of x mapped just inside (−1, 1), so 0 and 1 stay finite.
  const w0 = tf.tidy(() => {
    const z = tf.mul(tf.sub(tf.mul(x, 2), 1), 0.999999);
    return tf.mul(tf.log(tf.div(tf.add(1, z), tf.sub(1, z))), 0.5);
  });
  const own = tf.tidy(() => tf.oneHot(tf.cast(y, 'int32'), classCount(logitsOf, x)));
  try {
    for (let round = 0; round < searchSteps; round++) {
      // A variable made in a scope outlives it; the clone it was made from does not.
      const w = tf.tidy(() => tf.variable(w0.clone()));
      const weight = tf.tensor1d(Float32Array.from(c));
      const optimizer = new FusedAdam(learningRate);
      const succeeded = new Uint8Array(n);
      try {
        for (let s = 0; s < steps; s++) {
          // The iterate the step starts from is a candidate too: its distance, class and pixels
          // are kept from the loss's own forward pass rather than computed again.
          let candidate: tf.Tensor[] = [];
          optimizer.minimize(
            () => {
              const xi = tf.div(tf.add(tf.tanh(w), 1), 2) as tf.Tensor4D;
              const logits = logitsOf(xi);
              const real = tf.sum(tf.mul(logits, own), 1);
              const other = tf.max(tf.sub(logits, tf.mul(own, 1e4)), 1);
              const distance = tf.sum(tf.square(tf.sub(xi, x)), [1, 2, 3]);
              const margin = tf.maximum(tf.sub(real, other), -confidence);
              candidate = [distance, tf.argMax(logits, -1), xi].map((t) => tf.keep(t));
              return tf.sum(tf.add(distance, tf.mul(weight, margin))) as tf.Scalar;
            },
            false,
            [w],
          );
          const [distance, predicted, pixels] = candidate;
          const [dist, pred] = await Promise.all([distance.data(), predicted.data()]);
          const values = await pixels.data();
          tf.dispose([distance, predicted, pixels]);
          for (let i = 0; i < n; i++) {
            if (pred[i] === labels[i]) continue;
            succeeded[i] = 1;
            if (dist[i] < bestDistance[i]) {
              bestDistance[i] = dist[i];
              best.set(values.subarray(i * perImage, (i + 1) * perImage), i * perImage);
            }
          }
        }
      } finally {
        tf.dispose([w, weight]);
        optimizer.dispose();
      }
      // Succeeded: try a smaller c; failed: a larger one (×10 until an upper bound is known).
      for (let i = 0; i < n; i++) {
        if (succeeded[i]) upper[i] = Math.min(upper[i], c[i]);
        else lower[i] = Math.max(lower[i], c[i]);
        c[i] = Number.isFinite(upper[i]) ? (lower[i] + upper[i]) / 2 : c[i] * 10;
      }
    }
    return tf.tensor4d(best, x.shape);
  } finally {
    tf.dispose([w0, own]);
  }
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
