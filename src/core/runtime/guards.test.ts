import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { DivergenceError, TensorLeakError } from './errors';
import { assertFinite, expectFlatTensorCount } from './guards';
import { createLenetStep } from './lenet-step';
import { registerWasmTrainingKernels } from './wasm-kernels';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('expectFlatTensorCount', () => {
  it('passes a LeNet-5 training step, which creates optimizer state only on step 1', async () => {
    const lenet = createLenetStep({ batchSize: 8 });
    const counts = await expectFlatTensorCount(() => void lenet.run(), 4);
    expect(new Set(counts).size).toBe(1);
    lenet.dispose();
  });

  it('names the growth of a leaking step', async () => {
    const kept: tf.Tensor[] = [];
    const leaky = () => void kept.push(tf.ones([2]));
    const error = await expectFlatTensorCount(leaky, 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TensorLeakError);
    expect((error as TensorLeakError).message).toMatch(/after step 2.*\+1\.0 per step/);
    expect((error as TensorLeakError).hint).toMatch(/tf\.tidy/);
    tf.dispose(kept);
  });
});

describe('assertFinite', () => {
  it('accepts finite numbers, arrays and tensors', () => {
    expect(() => assertFinite(0.5, 'loss')).not.toThrow();
    expect(() => assertFinite([1, -2, 3e30], 'gradients')).not.toThrow();
    const weights = tf.tensor([1, 2]);
    expect(() => assertFinite(weights, 'weights')).not.toThrow();
    weights.dispose();
  });

  it('throws a DivergenceError that names the quantity and suggests a lower learning rate', () => {
    const error = (() => {
      try {
        assertFinite(Number.NaN, 'loss', 12);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DivergenceError);
    expect((error as DivergenceError).message).toBe('loss is NaN at step 12: the run diverged');
    expect((error as DivergenceError).hint).toMatch(/learning rate/);
    const inTensor = tf.tensor([1, Number.POSITIVE_INFINITY]);
    expect(() => assertFinite(inTensor, 'gradient of conv1')).toThrow(
      /gradient of conv1 is Infinity/,
    );
    inTensor.dispose();
  });
});
