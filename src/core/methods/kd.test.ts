import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, loadDataset, type Dataset } from '../data';
import { inputOptions } from '../metrics';
import { disposeGraph, forward, trainableVariables } from '../graph';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { buildArchitecture, loadTeacher } from '../zoo';
import { kdLoss } from './kd';
import { executeRun } from './runner';
import { methodById } from './registry';
import { optimizerStep, trainLoop } from './train';
import type { RunEvent } from './types';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
});

describe('Hinton knowledge distillation', () => {
  it('kdLoss: zero soft term for identical logits, T² scaling, hard term is plain cross-entropy', () => {
    tf.tidy(() => {
      const z = tf.tensor2d([
        [2, 0, -1],
        [0.5, 0.2, 3],
      ]);
      const y = tf.tensor1d([0, 2], 'int32');
      const same = kdLoss(z, z, y, 4, 1);
      expect(same.soft.dataSync()[0]).toBeCloseTo(0, 6);
      const t = tf.tensor2d([
        [0, 2, 0],
        [1, 0, 0],
      ]);
      const a = kdLoss(z, t, y, 2, 1).total.dataSync()[0];
      const soft = kdLoss(z, t, y, 2, 1).soft.dataSync()[0];
      expect(a).toBeCloseTo(4 * soft, 5);
      const hard = kdLoss(z, t, y, 2, 0).total.dataSync()[0];
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(y, 3), z).dataSync()[0];
      expect(hard).toBeCloseTo(ce, 5);
    });
  });

  it('distils a briefly trained teacher into a half-width student on real MNIST and the loss falls', async () => {
    // A teacher trained for 150 steps: enough to have informative soft targets.
    const teacher = buildArchitecture('lenet5', 'mnist', 1);
    const opt = tf.train.adam(2e-3);
    for await (const _ of trainLoop({
      graph: teacher,
      data: train,
      test,
      testIndices: [0],
      steps: 150,
      batchSize: 64,
      optimizer: opt,
      variables: trainableVariables(teacher),
      rng: new Rng(1),
      evalEvery: 1000,
      loss: (b) => ({
        total: tf.losses.softmaxCrossEntropy(
          tf.oneHot(b.y, 10),
          forward(teacher, b.x, { training: true }).output,
        ) as tf.Scalar,
      }),
    })) {
      /* train */
    }
    opt.dispose();

    const events: RunEvent[] = [];
    const { result, student } = await executeRun(
      {
        method: methodById('kd')!,
        params: { temperature: 4 },
        teacher,
        train,
        test,
        seed: 3,
        steps: 200,
        backend,
      },
      (e) => events.push(e),
    );
    const losses = events.filter(
      (e): e is Extract<RunEvent, { kind: 'scalar' }> => e.kind === 'scalar' && e.key === 'loss',
    );
    expect(losses.length).toBeGreaterThan(4);
    expect(losses.at(-1)!.value).toBeLessThan(losses[0].value * 0.6);
    expect(result.student.accuracy).toBeGreaterThan(0.8);
    expect(result.student.params).toBeLessThan(result.teacher.params / 2);
    expect(result.compressionRatio).toBeGreaterThan(2);
    expect(events.some((e) => e.kind === 'progress')).toBe(true);
    disposeGraph(student);
    disposeGraph(teacher);
  });

  it('learns from the soft targets alone (alpha = 1): loss/soft falls and the student classifies', async () => {
    const teacher = await loadTeacher('lenet5-mnist');
    const events: RunEvent[] = [];
    const { result, student } = await executeRun(
      {
        method: methodById('kd')!,
        params: { alpha: 1, temperature: 4, evalEvery: 50 },
        teacher,
        train,
        test,
        seed: 4,
        steps: 150,
        testExamples: 1000,
        backend,
      },
      (e) => events.push(e),
    );
    const soft = events.filter(
      (e): e is Extract<RunEvent, { kind: 'scalar' }> =>
        e.kind === 'scalar' && e.key === 'loss/soft',
    );
    expect(soft.length).toBeGreaterThan(4);
    expect(soft.at(-1)!.value).toBeLessThan(soft[0].value * 0.5);
    // No label was used: what the student knows came through the teacher's soft targets.
    expect(result.student.accuracy).toBeGreaterThan(0.85);
    // The accuracy curve starts before the first step and is read every evalEvery steps.
    const accuracy = events.filter(
      (e): e is Extract<RunEvent, { kind: 'scalar' }> =>
        e.kind === 'scalar' && e.key === 'accuracy/test',
    );
    expect(accuracy.map((e) => e.step)).toEqual([0, 50, 100, 150]);
    expect(accuracy[0].value).toBeLessThan(0.5);
    disposeGraph(student);
    disposeGraph(teacher);
  });

  it('keeps the tensor count flat across 50 KD training steps', async () => {
    const teacher = buildArchitecture('lenet5', 'mnist', 1);
    const student = buildArchitecture('lenet5-half', 'mnist', 2);
    const optimizer = tf.train.adam(1e-3);
    const it = batches(train, { ...inputOptions(student, train), batchSize: 32, rng: new Rng(4) });
    const step = (read: boolean) => {
      const b = it.next().value!;
      const terms = optimizerStep(
        optimizer,
        trainableVariables(student),
        () =>
          kdLoss(
            forward(student, b.x, { training: true }).output,
            forward(teacher, b.x).output,
            b.y,
            4,
            0.9,
          ),
        read,
      );
      tf.dispose([b.x, b.y, terms?.values]);
    };
    step(true); // creates Adam's slots; from then on a step must leave nothing behind
    const counts = await expectFlatTensorCount((i) => step(i % 5 === 0), 50);
    expect(counts).toHaveLength(50);
    optimizer.dispose();
    disposeGraph(teacher);
    disposeGraph(student);
  });

  it('rejects bad parameters with one message naming them', async () => {
    const teacher = buildArchitecture('lenet5', 'mnist', 1);
    await expect(
      executeRun(
        {
          method: methodById('kd')!,
          params: { temperature: -1, bogus: 1 },
          teacher,
          train,
          test,
          seed: 1,
          steps: 1,
          backend,
        },
        () => {},
      ),
    ).rejects.toThrow(/unknown parameter 'bogus'.*temperature must be between 1 and 50/);
    disposeGraph(teacher);
  });

  it('while the user steps, every step reports its losses and progress; otherwise every 25th', async () => {
    const teacher = buildArchitecture('lenet5', 'mnist', 1);
    const lossSteps = async (stepping: boolean) => {
      const events: RunEvent[] = [];
      const { student } = await executeRun(
        {
          method: methodById('kd')!,
          params: { evalEvery: 1000 },
          teacher,
          train,
          test,
          seed: 5,
          steps: 30,
          testExamples: 100,
          backend,
        },
        (e) => events.push(e),
        { stepping: () => stepping },
      );
      disposeGraph(student);
      const stepsOf = (keep: (e: RunEvent) => boolean) =>
        events.flatMap((e) => (keep(e) && 'step' in e ? [e.step] : []));
      return {
        loss: stepsOf((e) => e.kind === 'scalar' && e.key === 'loss'),
        progress: stepsOf((e) => e.kind === 'progress'),
      };
    };
    const everyStep = Array.from({ length: 30 }, (_, i) => i + 1);
    expect(await lossSteps(true)).toEqual({ loss: everyStep, progress: everyStep });
    expect((await lossSteps(false)).loss).toEqual([25, 30]);
    disposeGraph(teacher);
  });
});
