import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, forward, widthMultiplier, type Graph } from '../graph';
import { initBackend } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { loadTeacher } from '../zoo';
import {
  generativeMomentMatching,
  momentMatchingObjective,
  type GenerativeMmParams,
} from './generative-mm';
import { GeneratorDistillation } from './generator-distillation';
import { defaultParams } from './params';

let teacher: Graph;

beforeAll(async () => {
  await initBackend('wasm');
  teacher = await loadTeacher('bnnet-mnist');
});

/** Ten generators of width 8, two images each per step, on the real BN-VGG MNIST teacher. */
function setup(o: Partial<GenerativeMmParams> = {}) {
  const p = {
    ...defaultParams(generativeMomentMatching.params),
    generatorWidth: 8,
    batchSize: 40,
    generatorLearningRate: 0.05,
    ...o,
  };
  const student = widthMultiplier(teacher, 0.5, 1, 'half');
  const trainer = new GeneratorDistillation(
    teacher,
    student,
    {
      ...p,
      perClass: p.generators === 'per-class' ? 10 : undefined,
      objective: momentMatchingObjective(teacher, p),
    },
    new Rng(1, ['mm']),
  );
  /** One step: [ce, moments, tv, l2, generator, kd] and the teacher's predicted classes. */
  const step = (z?: tf.Tensor2D) => {
    const out = trainer.step(z);
    const losses = Array.from(out.losses.dataSync());
    const classes = tf.argMax(out.teacherLogits, 1);
    const predicted = Array.from(classes.dataSync());
    classes.dispose();
    tf.dispose([out.losses, out.images, out.teacherLogits]);
    return { losses, predicted };
  };
  const dispose = () => {
    trainer.dispose();
    disposeGraph(student);
  };
  return { trainer, step, dispose };
}

describe('generative moment matching', () => {
  it('each of the ten generators learns its own class, and the moment loss falls', () => {
    const s = setup();
    const fixed = s.trainer.latents();
    const first = s.step(tf.clone(fixed));
    let last = first;
    for (let i = 0; i < 30; i++) last = s.step(tf.clone(fixed));
    fixed.dispose();
    expect(last.losses[1]).toBeLessThan(first.losses[1] * 0.7);
    expect(last.losses[0]).toBeLessThan(first.losses[0]);
    // Images 4c … 4c+3 come from generator c. Chance is 4 of 40; after 31 steps the teacher
    // already names the generator's class for over twice that (13 on this seed).
    const hits = last.predicted.filter((cls, i) => cls === Math.floor(i / 4)).length;
    expect(hits).toBeGreaterThanOrEqual(10);
    s.dispose();
  }, 60_000);

  it('makes teacher-shaped images for the whole batch and keeps the tensor count flat', async () => {
    const s = setup({ generators: 'shared' });
    expect(s.trainer.generators).toHaveLength(1);
    const out = s.trainer.step();
    expect(out.images.shape).toEqual([40, 28, 28, 1]);
    tf.dispose([out.losses, out.images, out.teacherLogits]);
    await expectFlatTensorCount(() => void s.step(), 3);
    s.dispose();
  }, 60_000);

  it('is refused for a teacher without BatchNorm', async () => {
    const lenet = await loadTeacher('lenet5-mnist');
    const p = defaultParams(generativeMomentMatching.params);
    expect(() => momentMatchingObjective(lenet, p)).toThrow(/no BatchNorm layer/);
    disposeGraph(lenet);
    // The teacher is untouched by a refused set-up.
    expect(forward(teacher, tf.zeros([1, 28, 28, 1])).output.shape).toEqual([1, 10]);
  });
});
