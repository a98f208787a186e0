import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, toTensors, type Dataset } from '../data';
import { disposeGraph, forward, type Graph } from '../graph';
import { inputOptions } from '../metrics';
import { initBackend } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { loadTeacher } from '../zoo';
import {
  attackSuccessRate,
  bim,
  carliniWagner,
  deepfool,
  fgsm,
  graphLogits,
  pgd,
  pixelOptions,
  predict,
  type LogitsFn,
} from './attacks';

let teacher: Graph;
let test: Dataset;
let logitsOf: LogitsFn;
/** The first 64 MNIST test images as [0, 1] pixels at LeNet-5's input size, and their labels. */
let x: tf.Tensor4D;
let y: tf.Tensor1D;
const indices = Int32Array.from({ length: 64 }, (_, i) => i);
const EPSILON = 0.1;

beforeAll(async () => {
  await initBackend('wasm');
  [teacher, test] = await Promise.all([loadTeacher('lenet5-mnist'), loadDataset('mnist', 'test')]);
  logitsOf = graphLogits(teacher);
  ({ x, y } = toTensors(test, indices, pixelOptions(teacher, test)));
});

afterAll(() => {
  tf.dispose([x, y]);
  disposeGraph(teacher);
});

/** Mean cross-entropy of the teacher on a pixel batch. */
const loss = (pixels: tf.Tensor4D) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logitsOf(pixels)).dataSync()[0]);

/** Per-image L2 distances between two pixel batches. */
const l2 = (a: tf.Tensor4D, b: tf.Tensor4D) =>
  tf.tidy(() => Array.from(tf.sqrt(tf.sum(tf.square(tf.sub(a, b)), [1, 2, 3])).dataSync()));

/** Success rate and the median L2 size of the successful perturbations of `clean`. */
async function minimality(clean: tf.Tensor4D, labels: tf.Tensor1D, adv: tf.Tensor4D) {
  const before = await predict(logitsOf, clean);
  const after = await predict(logitsOf, adv);
  const truth = labels.dataSync();
  const sizes = l2(adv, clean).filter((_, i) => before[i] === truth[i] && after[i] !== before[i]);
  sizes.sort((a, b) => a - b);
  return {
    rate: attackSuccessRate(before, after, truth).rate,
    medianL2: sizes[Math.floor(sizes.length / 2)],
  };
}

/** Largest |a − b| and the range of a. */
function stats(a: tf.Tensor4D, b: tf.Tensor4D) {
  return tf.tidy(() => ({
    linf: tf.max(tf.abs(tf.sub(a, b))).dataSync()[0],
    min: tf.min(a).dataSync()[0],
    max: tf.max(a).dataSync()[0],
  }));
}

describe('adversarial attacks on the LeNet-5 teacher', () => {
  it('graphLogits on [0, 1] pixels equals forward on the preprocessed batch', () => {
    const pre = toTensors(test, indices, inputOptions(teacher, test));
    const gap = tf.tidy(
      () => tf.max(tf.abs(tf.sub(logitsOf(x), forward(teacher, pre.x).output))).dataSync()[0],
    );
    expect(gap).toBeLessThan(1e-4);
    tf.dispose([pre.x, pre.y]);
  });

  it('FGSM raises the loss and stays within ε and [0, 1]', () => {
    const adv = fgsm(logitsOf, x, y, EPSILON);
    const s = stats(adv, x);
    expect(loss(adv)).toBeGreaterThan(loss(x) + 0.5);
    expect(s.linf).toBeLessThanOrEqual(EPSILON + 1e-6);
    expect(s.linf).toBeGreaterThan(EPSILON - 1e-6);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(1);
    adv.dispose();
  });

  it('PGD raises the loss at least as much as FGSM at the same ε, inside the ball', () => {
    const one = fgsm(logitsOf, x, y, EPSILON);
    const adv = pgd(logitsOf, x, y, { epsilon: EPSILON, steps: 10, rng: new Rng(1) });
    const s = stats(adv, x);
    expect(loss(adv)).toBeGreaterThanOrEqual(loss(one));
    expect(s.linf).toBeLessThanOrEqual(EPSILON + 1e-6);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(1);
    tf.dispose([one, adv]);
  });

  it('PGD is reproducible from its seed', () => {
    const run = (seed: number) => {
      const adv = pgd(logitsOf, x, y, { epsilon: EPSILON, steps: 2, rng: new Rng(seed) });
      const values = adv.dataSync().slice();
      adv.dispose();
      return values;
    };
    const a = run(3);
    expect(run(3)).toEqual(a);
    expect(run(4)).not.toEqual(a);
  });

  it('BIM walks from x itself to at least FGSM’s loss, inside the ball, the same every time', () => {
    const one = fgsm(logitsOf, x, y, EPSILON);
    const adv = bim(logitsOf, x, y, { epsilon: EPSILON });
    const again = bim(logitsOf, x, y, { epsilon: EPSILON });
    const s = stats(adv, x);
    expect(loss(adv)).toBeGreaterThanOrEqual(loss(one));
    expect(s.linf).toBeLessThanOrEqual(EPSILON + 1e-6);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(1);
    expect(again.dataSync()).toEqual(adv.dataSync());
    tf.dispose([one, adv, again]);
  });

  it('DeepFool and C&W flip nearly every answer with far smaller L2 changes than FGSM', async () => {
    // 24 images keep the class-by-class Jacobians and the Adam search quick.
    const [xs, ys] = [tf.slice(x, 0, 24), tf.slice(y, 0, 24)];
    const coarse = fgsm(logitsOf, xs, ys, 0.3);
    const fool = await deepfool(logitsOf, xs);
    const cw = await carliniWagner(logitsOf, xs, ys, {
      steps: 40,
      searchSteps: 2,
      learningRate: 0.05,
    });
    const [f, d, c] = await Promise.all([coarse, fool, cw].map((adv) => minimality(xs, ys, adv)));
    expect(d.rate).toBeGreaterThan(0.9);
    expect(c.rate).toBeGreaterThan(0.9);
    // The minimal attacks stop at the boundary; FGSM at ε = 0.3 overshoots it by far.
    expect(d.medianL2).toBeLessThan(f.medianL2 / 2);
    expect(c.medianL2).toBeLessThan(f.medianL2 / 2);
    for (const adv of [fool, cw]) {
      const s = stats(adv, xs);
      expect(s.min).toBeGreaterThanOrEqual(0);
      expect(s.max).toBeLessThanOrEqual(1);
    }
    tf.dispose([xs, ys, coarse, fool, cw]);
  });

  it('leave the tensor count flat', async () => {
    await expectFlatTensorCount(() => fgsm(logitsOf, x, y, EPSILON).dispose(), 3);
    const rng = new Rng(2);
    await expectFlatTensorCount(
      () => pgd(logitsOf, x, y, { epsilon: EPSILON, steps: 2, rng }).dispose(),
      3,
    );
    await expectFlatTensorCount(
      async () => (await deepfool(logitsOf, x, { maxIterations: 2 })).dispose(),
      2,
    );
    await expectFlatTensorCount(
      async () => (await carliniWagner(logitsOf, x, y, { steps: 2, searchSteps: 1 })).dispose(),
      2,
    );
  });

  it('attackSuccessRate counts flips among the correctly classified only', async () => {
    expect(attackSuccessRate([1, 2, 3, 0], [1, 5, 3, 0], [1, 2, 0, 0])).toEqual({
      rate: 1 / 3,
      correct: 3,
      flipped: 1,
    });
    expect(attackSuccessRate([1], [2], [0]).rate).toBeNaN();

    const adv = pgd(logitsOf, x, y, { epsilon: 0.3, steps: 10, rng: new Rng(1) });
    const labels = y.dataSync();
    const result = attackSuccessRate(
      await predict(logitsOf, x),
      await predict(logitsOf, adv),
      labels,
    );
    adv.dispose();
    expect(result.correct).toBeGreaterThan(60);
    expect(result.rate).toBeGreaterThan(0.5);
  });
});
