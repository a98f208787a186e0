/**
 * A LeNet-5 training step built from raw tf ops (no zoo, no IR), so the runtime can time
 * backends and profile kernels without depending on the rest of core: conv 6@5x5 valid → relu →
 * maxpool 2 → conv 16@5x5 → relu → maxpool 2 → dense 120 → 84 → 10 (on 32x32 inputs the paper's
 * C5, a 5x5 convolution of 5x5 maps, is this dense 120), trained with Adam on a fixed random
 * batch.
 */
import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from './cross-entropy';

import { FusedAdam } from './adam';
import { Rng } from './rng';

export interface LenetStepOptions {
  batchSize?: number;
  /** Input side in pixels: 32 (the paper; MNIST padded) or 28. */
  inputSize?: number;
  seed?: number;
}

export interface LenetStep {
  /** One forward, backward and Adam update; returns the loss before the update. */
  run(): number;
  dispose(): void;
}

export function createLenetStep({
  batchSize = 64,
  inputSize = 32,
  seed = 1,
}: LenetStepOptions = {}): LenetStep {
  const rng = new Rng(seed, ['lenet-step']);
  // He initialisation; typed by rank so the ops below type-check.
  const normal = <R extends tf.Rank>(shape: tf.ShapeMap[R], fanIn: number) =>
    tf.variable(tf.randomNormal<R>(shape, 0, Math.sqrt(2 / fanIn), 'float32', rng.seedForTf()));
  const zeros = (n: number) => tf.variable(tf.zeros<tf.Rank.R1>([n]));
  const flat = 16 * Math.pow(((inputSize - 4) / 2 - 4) / 2, 2);
  const params = {
    conv1: normal<tf.Rank.R4>([5, 5, 1, 6], 25),
    b1: zeros(6),
    conv2: normal<tf.Rank.R4>([5, 5, 6, 16], 150),
    b2: zeros(16),
    fc1: normal<tf.Rank.R2>([flat, 120], flat),
    fb1: zeros(120),
    fc2: normal<tf.Rank.R2>([120, 84], 120),
    fb2: zeros(84),
    fc3: normal<tf.Rank.R2>([84, 10], 84),
    fb3: zeros(10),
  };
  const x = tf.randomUniform<tf.Rank.R4>(
    [batchSize, inputSize, inputSize, 1],
    0,
    1,
    'float32',
    rng.seedForTf(),
  );
  const labels = Array.from({ length: batchSize }, () => rng.int(10));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 10));
  const optimizer = new FusedAdam(1e-3);

  const convBlock = (h: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D =>
    tf.maxPool(tf.relu(tf.add<tf.Tensor4D>(tf.conv2d(h, w, 1, 'valid'), b)), 2, 2, 'valid');
  const dense = (z: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D =>
    tf.add(tf.matMul(z, w), b);

  const loss = (): tf.Scalar => {
    const p = params;
    const features = convBlock(convBlock(x, p.conv1, p.b1), p.conv2, p.b2);
    let z = tf.reshape<tf.Rank.R2>(features, [batchSize, flat]);
    z = tf.relu(dense(z, p.fc1, p.fb1));
    z = tf.relu(dense(z, p.fc2, p.fb2));
    return softmaxCrossEntropy(y, dense(z, p.fc3, p.fb3));
  };

  return {
    run() {
      const value = optimizer.minimize(loss, true, Object.values(params));
      const out = value!.dataSync()[0];
      value!.dispose();
      return out;
    },
    dispose() {
      tf.dispose([x, y, ...Object.values(params)]);
      optimizer.dispose();
    },
  };
}
