import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormNodes, competitionLoss } from '../datafree';
import { cloneGraph, disposeGraph, forward, type Graph } from '../graph';
import { initBackend } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { loadTeacher } from '../zoo';
import { deepInversion, synthesise, type DeepInversionParams } from './deepinversion';
import { defaultParams } from './params';

let teacher: Graph;

beforeAll(async () => {
  await initBackend('wasm');
  teacher = await loadTeacher('bnnet-mnist');
});

const params = (o: Partial<DeepInversionParams> = {}): DeepInversionParams => ({
  ...defaultParams(deepInversion.params),
  batchSize: 20,
  ...o,
});

describe('DeepInversion / ADI', () => {
  it('refuses a teacher without BatchNorm, saying why', async () => {
    const lenet = await loadTeacher('lenet5-mnist');
    expect(() => batchNormNodes(lenet, 'DeepInversion')).toThrow(/no BatchNorm layer/);
    disposeGraph(lenet);
  });

  it('synthesis lowers the BatchNorm-statistics and class losses from noise; images keep the teacher’s shape', async () => {
    const bn = batchNormNodes(teacher, 'DeepInversion');
    const student = cloneGraph(teacher);
    const run = (steps: number) =>
      synthesise(teacher, bn, student, params({ synthesisSteps: steps }), new Rng(1, ['s']));
    const start = await run(1);
    const end = await run(60);
    expect(end.images.shape).toEqual([20, 28, 28, 1]);
    expect(end.images.dataSync().every(Number.isFinite)).toBe(true);
    // terms: ce, feature, tv, l2, competition, total
    expect(end.terms[1]).toBeLessThan(start.terms[1] / 2);
    expect(end.terms[0]).toBeLessThan(start.terms[0]);
    tf.dispose([start.images, end.images]);
    disposeGraph(student);
  }, 60_000);

  it('ADI’s competition term makes images the student disagrees with the teacher on', async () => {
    const bn = batchNormNodes(teacher, 'DeepInversion');
    // A student close to the teacher: its weights with 20 % noise.
    const student = cloneGraph(teacher);
    const noise = new Rng(7, ['noise']);
    for (const node of student.nodes) {
      const kernel = node.weights.kernel;
      if (kernel) {
        tf.tidy(() => {
          const n = tf.randomNormal(kernel.shape, 0, 1, 'float32', noise.seedForTf());
          kernel.assign(
            tf.add(kernel, tf.mul(n, tf.mul(0.2, tf.sqrt(tf.mean(tf.square(kernel)))))),
          );
        });
      }
    }
    const disagreement = async (competitionWeight: number) => {
      const p = params({ synthesisSteps: 40, competitionWeight });
      const { images } = await synthesise(teacher, bn, student, p, new Rng(1, ['s']));
      const js = tf.tidy(
        () =>
          1 -
          competitionLoss(
            forward(teacher, images).output as tf.Tensor2D,
            forward(student, images).output as tf.Tensor2D,
            3,
          ).dataSync()[0],
      );
      images.dispose();
      return js;
    };
    const plain = await disagreement(0);
    const adi = await disagreement(100);
    expect(adi).toBeGreaterThan(plain * 1.5);
    disposeGraph(student);
  }, 60_000);

  it('keeps the tensor count flat over synthesis rounds', async () => {
    const bn = batchNormNodes(teacher, 'DeepInversion');
    const p = params({ synthesisSteps: 3, competitionWeight: 1 });
    const rng = new Rng(2, ['s']);
    await expectFlatTensorCount(async () => {
      const batch = await synthesise(teacher, bn, teacher, p, rng);
      batch.images.dispose();
    }, 3);
  });
});
