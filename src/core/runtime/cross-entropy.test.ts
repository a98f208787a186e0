/**
 * The fused softmax cross-entropy (cross-entropy.ts) on wasm against TF.js's own on the CPU
 * backend: the same loss and logits gradient, in two kernels instead of TF.js's ~25.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { expectClose, onBoth, random } from './backend-comparison';
import { softmaxCrossEntropy } from './cross-entropy';
import { registerWasmTrainingKernels } from './wasm-kernels';

beforeAll(() => registerWasmTrainingKernels());

/** Soft labels: each row a distribution. */
function softLabels(n: number, c: number): tf.Tensor {
  return tf.softmax(tf.randomNormal([n, c]));
}

describe('softmaxCrossEntropy', () => {
  it("gives TF.js's loss and logits gradient, for one-hot and soft labels", async () => {
    const logits = random([64, 10]);
    logits.values.forEach((v, i) => (logits.values[i] = 4 * v)); // confident rows too
    const [classes, targets] = [random([64], 10), random([64, 10])];
    for (const soft of [false, true]) {
      // On cpu TF.js's own runs: the kernels are wasm's only.
      const { cpu, wasm } = await onBoth([logits, classes, targets], ([x, ids, t]) => {
        const labels = soft ? tf.softmax(t) : tf.oneHot(tf.cast(ids, 'int32'), 10);
        const loss = (z: tf.Tensor) => softmaxCrossEntropy(labels, z);
        return [loss(x), tf.grad(loss)(x)];
      });
      expectClose(wasm[0], cpu[0], `loss (${soft ? 'soft' : 'one-hot'} labels)`, 1e-6);
      expectClose(wasm[1], cpu[1], `dLogits (${soft ? 'soft' : 'one-hot'} labels)`, 1e-6);
    }
  });

  it('runs one kernel forward and one backward on wasm', async () => {
    await tf.setBackend('wasm');
    const logits = tf.randomNormal([8, 5]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
    const { kernels } = await tf.profile(() =>
      tf.grad((z: tf.Tensor) => softmaxCrossEntropy(labels, z))(logits),
    );
    // Besides the tape's own: the seed gradient (OnesLike) and the saved inputs' clones.
    const names = kernels.map((k) => k.name).filter((n) => n !== 'OnesLike' && n !== 'Identity');
    expect(names).toEqual(['SoftmaxCrossEntropy', 'SoftmaxCrossEntropyGrad']);
  });

  it('differentiates the labels too: −log softmax(logits) / N', async () => {
    await tf.setBackend('wasm');
    const logits = tf.randomNormal([6, 4]);
    const dLabels = tf.grad((y: tf.Tensor) => softmaxCrossEntropy(y, logits))(softLabels(6, 4));
    const expected = tf.div(tf.neg(tf.logSoftmax(logits)), 6);
    const [actual, wanted] = [await dLabels.data(), await expected.data()] as Float32Array[];
    expectClose(actual, wanted, 'dLabels', 1e-5);
  });

  it('gives NaN for NaN logits, as a diverging run must show', async () => {
    await tf.setBackend('wasm');
    const logits = tf.tensor2d([[1, NaN, 0]]);
    const loss = softmaxCrossEntropy(tf.tensor2d([[0, 0, 1]]), logits);
    expect(Number.isNaN((await loss.data())[0])).toBe(true);
  });
});
