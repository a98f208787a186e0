/**
 * FusedAdam against tf.AdamOptimizer: the same values and moments to the bit on WASM and CPU,
 * one kernel per variable instead of fourteen, the same saved state, no tensor leak.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { ADAM_UPDATE, FusedAdam } from './adam';
import { initBackend } from './backend';
import { expectFlatTensorCount } from './guards';
import { Rng } from './rng';

const rng = new Rng('adam.test');
const normals = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** A few Adam steps of a small least-squares fit; the variables and moments afterwards. */
async function train(optimizer: tf.AdamOptimizer, init: Float32Array[], x: Float32Array) {
  const w = tf.variable(tf.tensor2d(init[0], [6, 3]), true, `w${rng.int(1e9)}`);
  const b = tf.variable(tf.tensor1d(init[1]), true, `b${rng.int(1e9)}`);
  const xs = tf.tensor2d(x, [5, 6]);
  for (let step = 0; step < 4; step++) {
    optimizer.minimize(() => tf.sum(tf.square(tf.add(tf.matMul(xs, w), b))), false, [w, b]);
  }
  const weights = await optimizer.getWeights();
  const out = {
    values: [w.dataSync(), b.dataSync()].map((a) => Array.from(a)),
    slots: weights.map((s) => s.name.replace(/^[wb]\d+/, (v) => v[0])),
    moments: weights.slice(1).map((s) => Array.from(s.tensor.dataSync())),
  };
  tf.dispose([w, b, xs]);
  optimizer.dispose();
  return out;
}

describe.each(['wasm', 'cpu'] as const)('FusedAdam on %s', (backend) => {
  it('gives the stock optimizer’s values and moments to the bit', async () => {
    await initBackend(backend);
    const init = [normals(18), normals(3)];
    const x = normals(30);
    const stock = await train(tf.train.adam(0.05, 0.8, 0.95), init, x);
    const fused = await train(new FusedAdam(0.05, 0.8, 0.95), init, x);
    expect(fused.slots).toEqual(stock.slots);
    expect(fused.values).toEqual(stock.values);
    expect(fused.moments).toEqual(stock.moments);
    // The variables moved: the comparison is not of two untouched copies.
    expect(fused.values[0]).not.toEqual(Array.from(init[0]));
  });

  it('launches one update kernel per variable and leaks nothing', async () => {
    await initBackend(backend);
    const w = tf.variable(tf.randomNormal([8, 4], 0, 1, 'float32', 1));
    const v = tf.variable(tf.randomNormal([4], 0, 1, 'float32', 2));
    const optimizer = new FusedAdam(0.01);
    const step = () =>
      void optimizer.minimize(() => tf.sum(tf.square(tf.add(tf.sum(w, 0), v))), false, [w, v]);
    step();
    const kernels = (await tf.profile(step)).kernels.map((k) => k.name);
    expect(kernels.filter((k) => k === ADAM_UPDATE)).toHaveLength(2);
    // The stock update's element-wise ops are gone: only the β^t accumulators multiply.
    expect(kernels.filter((k) => k === 'Sqrt' || k === 'RealDiv')).toHaveLength(0);
    await expectFlatTensorCount(step, 4);
    tf.dispose([w, v]);
    optimizer.dispose();
  });
});
