import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstExamples, loadDataset } from '../data';
import { disposeGraph } from '../graph';
import { initBackend } from '../runtime/backend';
import { buildArchitecture, loadTeacher } from '../zoo';
import { accuracy } from './accuracy';
import { confusionMatrix, predictionChanges, predictions } from './confusion';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('prediction changes', () => {
  it('counts a confusion matrix and the flipped and rescued examples', () => {
    const labels = [0, 0, 1, 1, 2];
    const teacher = [0, 0, 1, 2, 2];
    const student = [0, 1, 1, 1, 0];
    expect(confusionMatrix(labels, student, 3)).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    expect(predictionChanges(labels, teacher, student)).toEqual({ flipped: [1, 4], rescued: [3] });
  });

  it('predictions agree with accuracy, and an untrained student flips most of the teacher’s hits', async () => {
    const test = firstExamples(await loadDataset('mnist', 'test'), 300);
    const teacher = await loadTeacher('lenet5-mnist');
    const random = buildArchitecture('lenet5', 'mnist', 1);
    random.preprocessing = teacher.preprocessing;
    const before = tf.memory().numTensors;
    const t = await predictions(teacher, test);
    const s = await predictions(random, test);
    expect(tf.memory().numTensors).toBe(before);
    const hits = t.filter((c, i) => c === test.labels[i]).length;
    expect(hits / test.count).toBeCloseTo(await accuracy(teacher, test), 10);
    const { flipped } = predictionChanges(test.labels, t, s);
    expect(flipped.length).toBeGreaterThan(hits / 2);
    disposeGraph(teacher);
    disposeGraph(random);
  });
});
