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

  it('leave the tensor count flat', async () => {
    await expectFlatTensorCount(() => fgsm(logitsOf, x, y, EPSILON).dispose(), 3);
    const rng = new Rng(2);
    await expectFlatTensorCount(
      () => pgd(logitsOf, x, y, { epsilon: EPSILON, steps: 2, rng }).dispose(),
      3,
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
