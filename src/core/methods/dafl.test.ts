import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../data';
import { disposeGraph, forward, widthMultiplier, type Graph } from '../graph';
import { accuracy } from '../metrics';
import { initBackend } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { buildArchitecture, loadTeacher } from '../zoo';
import { dafl, daflTrainer, featureNode } from './dafl';
import { collapsed, studentStepSize } from './generator-distillation';
import { defaultParams } from './params';

let teacher: Graph;
let test: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  [teacher, test] = await Promise.all([loadTeacher('lenet5-mnist'), loadDataset('mnist', 'test')]);
});

/** A small DAFL set-up on the real LeNet-5 teacher: generator width 16, 64 images a step. */
function setup(overrides: Partial<ReturnType<typeof defaultParams<typeof dafl.params>>> = {}) {
  const p = {
    ...defaultParams(dafl.params),
    generatorWidth: 16,
    batchSize: 64,
    studentSteps: 4,
    ...overrides,
  };
  const student = widthMultiplier(teacher, 0.5, 1, 'half');
  const trainer = daflTrainer(teacher, student, p, new Rng(1, ['dafl']));
  /** One step; returns [oneHot, activation, entropy, generator, kd]. */
  const step = (z?: tf.Tensor2D) => {
    const out = trainer.step(z);
    const losses = Array.from(out.losses.dataSync());
    tf.dispose([out.losses, out.images, out.teacherLogits]);
    return losses;
  };
  const dispose = () => {
    trainer.dispose();
    disposeGraph(student);
  };
  return { trainer, student, step, dispose };
}

describe('DAFL', () => {
  it('takes the teacher’s features where its classifier reads them', () => {
    expect(featureNode(teacher)).toBe('flatten');
    const mlp = buildArchitecture('mlp-1200', 'mnist', 1);
    const bn = buildArchitecture('bnnet', 'mnist', 1);
    expect(featureNode(mlp)).toBe('drop2');
    expect(featureNode(bn)).toBe('gap');
    disposeGraph(mlp);
    disposeGraph(bn);
  });

  it('a few generator steps lower the generator’s loss on a fixed noise batch', () => {
    const s = setup({ generatorLearningRate: 0.02 });
    const fixed = s.trainer.latents();
    const losses = Array.from({ length: 12 }, () => s.step(tf.clone(fixed)));
    fixed.dispose();
    const first = losses[0][3];
    const last = losses[losses.length - 1][3];
    expect(last).toBeLessThan(first - 0.3);
    s.dispose();
  });

  it('keeps the tensor count flat over steps', async () => {
    const s = setup();
    await expectFlatTensorCount(() => void s.step(), 4);
    s.dispose();
  });

  it('distils the student on generated images only: test accuracy well above chance, and the KD loss falls', async () => {
    const s = setup();
    const before = await accuracy(s.student, test, { indices: range(1000) });
    const kd: number[] = [];
    for (let i = 0; i < 80; i++) kd.push(s.step()[4]);
    const after = await accuracy(s.student, test, { indices: range(1000) });
    expect(before).toBeLessThan(0.2);
    expect(after).toBeGreaterThan(0.3);
    expect(mean(kd.slice(-10))).toBeLessThan(mean(kd.slice(0, 10)));
    s.dispose();
  }, 60_000);

  it('extra student steps distil on fresh batches and leave the generator alone, tensor count flat', async () => {
    // The extra batches draw their latents from their own stream, so the generator's path (its
    // latents and losses) must not depend on k, while the student ends closer to the teacher.
    const run = (studentSteps: number) => {
      const s = setup({ studentSteps });
      const losses = Array.from({ length: 15 }, () => s.step());
      const fixed = s.trainer.latents();
      const kd = tf.tidy(() => {
        const x = s.trainer.generators[0].generate(fixed);
        const target = tf.softmax(forward(teacher, x).output);
        const logp = tf.logSoftmax(forward(s.student, x).output);
        return tf.mean(tf.sum(tf.mul(target, tf.sub(tf.log(target), logp)), 1)).dataSync()[0];
      });
      fixed.dispose();
      return { s, generator: losses.map((l) => l[3]), kd };
    };
    const one = run(1);
    const three = run(3);
    expect(three.generator).toEqual(one.generator);
    expect(three.kd).toBeLessThan(one.kd * 0.9);
    await expectFlatTensorCount(() => void three.s.step(), 3);
    one.s.dispose();
    three.s.dispose();
  }, 60_000);

  it('the information-entropy loss is what balances the classes: without it the teacher’s classes collapse', () => {
    // Class balance of the teacher's predictions after 40 generator steps, with and without L_ie.
    const balance = (entropy: number) => {
      const s = setup({ entropy, activation: 0 });
      for (let i = 0; i < 40; i++) s.step();
      const bits = tf.tidy(() => {
        const x = s.trainer.generators[0].generate(s.trainer.latents());
        const labels = tf.argMax(forward(teacher, x).output, 1);
        const counts = tf.sum(tf.oneHot(labels, 10), 0).div(x.shape[0]);
        return -tf
          .sum(tf.mul(counts, tf.log(tf.add(counts, 1e-12))))
          .div(Math.LN2)
          .dataSync()[0];
      });
      s.dispose();
      return bits;
    };
    const withEntropy = balance(5);
    const without = balance(0);
    expect(withEntropy).toBeGreaterThan(2.9); // log2(10) = 3.32 is perfectly balanced
    expect(without).toBeLessThan(withEntropy - 0.5);
  }, 60_000);

  it('charts a loss weighted 0 as measured, not optimised, and the weighted ones as the loss', async () => {
    const s = setup({ entropy: 0 });
    const keys = new Set<string>();
    for await (const e of s.trainer.train(2, 100, teacher, test)) {
      if (e.kind === 'scalar') keys.add(e.key);
    }
    s.dispose();
    expect(keys).toContain('measured/entropy');
    expect(keys).not.toContain('loss/entropy');
    for (const term of ['oneHot', 'activation', 'generator', 'kd'])
      expect(keys).toContain(`loss/${term}`);
  });

  it('recognises a collapsed generator: a batch of one image repeated', async () => {
    const one = tf.randomNormal([1, 32, 32, 1], 0, 1, 'float32', 3);
    const repeated = tf.tile(one, [8, 1, 1, 1]) as tf.Tensor4D;
    const varied = tf.randomNormal([8, 32, 32, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    expect(await collapsed(repeated)).toBe(true);
    expect(await collapsed(varied)).toBe(false);
    tf.dispose([one, repeated, varied]);
  });

  it('schedules the student: constant, ×0.1 at 40 % and 80 %, or half a cosine down to 0', () => {
    const at = (schedule: Parameters<typeof studentStepSize>[0], step: number) =>
      studentStepSize(schedule, 2e-3, step, 100);
    expect([1, 50, 100].map((s) => at('constant', s))).toEqual([2e-3, 2e-3, 2e-3]);
    expect(at('step', 40)).toBeCloseTo(2e-3);
    expect(at('step', 41)).toBeCloseTo(2e-4);
    expect(at('step', 81)).toBeCloseTo(2e-5);
    expect(at('cosine', 1)).toBeCloseTo(2e-3);
    expect(at('cosine', 51)).toBeCloseTo(1e-3);
    expect(at('cosine', 100)).toBeLessThan(1e-6);
  });
});

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
