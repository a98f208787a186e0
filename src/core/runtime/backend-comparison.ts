/**
 * Test helpers comparing the wasm backend with the CPU backend (the reference implementation).
 * Used by the *.test.ts files here; not part of the runtime API.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

import { batchNormTraining } from './batch-norm';
import { Rng } from './rng';

export type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
export type Shape4 = [number, number, number, number];

export interface Input {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
}

const rng = new Rng('backend-comparison');

/** Seeded normal values, or integers below `levels`. */
export function random(shape: number[], levels?: number): Input {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  // Few levels make ties (equal maxima in a pooling window) common.
  for (let i = 0; i < values.length; i++) {
    values[i] = levels === undefined ? rng.normal() : rng.int(levels);
  }
  return { shape, values };
}

/** Runs `fn` on the cpu backend, then on wasm, with the same inputs; returns both outputs. */
export async function onBoth(
  inputs: Input[],
  fn: (ts: tf.Tensor[], backend: 'cpu' | 'wasm') => tf.Tensor | tf.Tensor[],
): Promise<{ cpu: Float32Array[]; wasm: Float32Array[]; shapes: number[][] }> {
  const run = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const ts = inputs.map((i) => tf.tensor(i.values, i.shape, i.dtype ?? 'float32'));
      const out = [fn(ts, backend)].flat();
      return {
        values: out.map((t) => t.dataSync() as Float32Array),
        shapes: out.map((t) => t.shape),
      };
    });
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  expect(wasm.shapes).toEqual(cpu.shapes);
  return { cpu: cpu.values, wasm: wasm.values, shapes: cpu.shapes };
}

/** max |wasm - cpu| relative to the largest reference magnitude. */
export function expectClose(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
  rtol = 1e-4,
): void {
  let scale = 1e-6;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  expect(err / scale, `${what}: max error ${err} at scale ${scale}`).toBeLessThanOrEqual(rtol);
}

/** Runs kernel `name` directly on both backends and compares its first output. */
export async function compareKernel(
  name: string,
  inputs: Record<string, Input>,
  attrs: tf.NamedAttrMap,
  label: string,
) {
  const names = Object.keys(inputs);
  const { cpu, wasm } = await onBoth(
    Object.values(inputs),
    (ts) =>
      tf
        .engine()
        .runKernel(name, Object.fromEntries(names.map((n, i) => [n, ts[i]])), attrs) as tf.Tensor,
  );
  expectClose(wasm[0], cpu[0], `${name} ${label}`);
}

/**
 * Training-mode batch norm (batch-norm.ts) of x `shape` on both backends, wasm's fused kernels
 * against TF.js's moments and batchNorm on cpu: y, mean and variance, and the gradients of a
 * loss that weighs all three by random weights (so each output's gradient counts) with respect
 * to x, scale and offset. `shift` is added to x (a mean far from zero).
 */
export async function compareBatchNormTraining(
  shape: number[],
  label: string,
  shift = 0,
): Promise<void> {
  const c = shape[shape.length - 1];
  const x = random(shape);
  x.values.forEach((v, i) => (x.values[i] = v + shift));
  const inputs = [x, random([c]), random([c]), random(shape), random([c]), random([c])];
  const { cpu, wasm } = await onBoth(inputs, ([input, scale, offset, wy, wm, wv]) => {
    const f = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const { y, mean, variance } = batchNormTraining(a, s, o, 1e-3);
      return [y, mean, variance];
    };
    const loss = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const [y, mean, variance] = f(a, s, o);
      return tf.addN([
        tf.sum(tf.mul(y, wy)),
        tf.sum(tf.mul(mean, wm)),
        tf.sum(tf.mul(variance, wv)),
      ]);
    };
    return [...f(input, scale, offset), ...tf.grads(loss)([input, scale, offset])];
  });
  ['y', 'mean', 'variance', 'dx', 'dScale', 'dOffset'].forEach((what, i) =>
    expectClose(wasm[i], cpu[i], `batch norm ${label}: ${what}`, 2e-4),
  );
}
