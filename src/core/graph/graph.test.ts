import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backend';
import { NORMALIZATION } from '../data';
import { buildArchitecture } from '../zoo';
import {
  cloneGraph,
  disposeGraph,
  forward,
  graphStats,
  inferShapes,
  layerIds,
  recalibrateBatchNorm,
  trainableVariables,
  widthMultiplier,
} from '.';

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('model IR', () => {
  it('counts LeNet-5 params, FLOPs and shapes as the paper architecture has them', () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const stats = graphStats(g);
    // conv1 156 + conv2 2416 + conv3 48120 + fc1 10164 + fc2 850
    expect(stats.params).toBe(61706);
    // 28²·25·6 + 10²·150·16 + 1·400·120 + 120·84 + 84·10 multiply-accumulates
    expect(stats.flops).toBe(117600 + 240000 + 48000 + 10080 + 840);
    expect(stats.bytes).toBe(61706 * 4);
    expect(inferShapes(g).get('pool2')).toEqual([5, 5, 16]);
    expect(layerIds(g)).toEqual(['conv1', 'conv2', 'conv3', 'fc1', 'fc2']);
    disposeGraph(g);
  });

  it('builds VGG-small with 4×4 and 2×2 maps at its last convolutions (Cross Distillation’s regime)', () => {
    const g = buildArchitecture('vgg-small', 'fashion', 1);
    const shapes = inferShapes(g);
    expect(['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map((id) => shapes.get(id))).toEqual([
      [32, 32, 32],
      [16, 16, 64],
      [8, 8, 128],
      [4, 4, 128],
      [2, 2, 256],
    ]);
    // Σ H·W·9·C_in·C_out over the convs + 256·10.
    expect(graphStats(g).flops).toBe(294912 + 4718592 + 4718592 + 2359296 + 1179648 + 2560);
    disposeGraph(g);
  });

  it('derives LeNet-5-half (DAFL: convs 3-8-60, fc 42) with widthMultiplier(0.5)', () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const half = widthMultiplier(g, 0.5, 2);
    const widths = half.nodes.flatMap((n) =>
      n.op === 'conv2d' ? [n.attrs.filters] : n.op === 'dense' ? [n.attrs.units] : [],
    );
    expect(widths).toEqual([3, 8, 60, 42, 10]);
    expect(half.preprocessing).toEqual(NORMALIZATION.mnist);
    disposeGraph(g);
    disposeGraph(half);
  });

  it('a splice of a node’s own output leaves the forward pass unchanged; taps read outputs', () => {
    const g = buildArchitecture('bnnet', 'mnist', 3);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 4);
    const plain = forward(g, x, { taps: ['conv3', 'relu4'] });
    expect(plain.tapped.get('conv3')!.shape).toEqual([4, 14, 14, 32]);
    const spliced = forward(g, x, { splices: new Map([['conv3', plain.tapped.get('conv3')!]]) });
    expect(maxAbsDiff(plain.output, spliced.output)).toBe(0);
    // A different tensor in the splice does change the output.
    const other = forward(g, x, {
      splices: new Map([['conv3', tf.zerosLike(plain.tapped.get('conv3')!)]]),
    });
    expect(maxAbsDiff(plain.output, other.output)).toBeGreaterThan(1e-4);
    tf.dispose([x, plain.output, ...plain.tapped.values(), spliced.output, other.output]);
    disposeGraph(g);
  });

  it('runs each conv layer and its ReLU as one fused kernel, values and gradients unchanged', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const x = tf.randomNormal([8, ...g.inputShape], 0, 1, 'float32', 7);
    const vars = trainableVariables(g);
    // A tap on a layer's output (before its ReLU) keeps the two apart.
    const run = (taps: string[]) =>
      tf.tidy(() => {
        const loss = () =>
          tf.sum(tf.square(forward(g, x, { training: true, taps }).output)) as tf.Scalar;
        const { value, grads } = tf.variableGrads(loss, vars);
        return [value, ...vars.map((v) => grads[v.name])];
      });
    const kernels = async (taps: string[]) =>
      (await tf.profile(() => run(taps))).kernels.map((k) => k.name);
    // conv1, conv2 and C5 fused; the dense layer's ReLU apart.
    const relus = (names: string[]) => names.filter((name) => name === 'Relu').length;
    const [fusedKernels, apartKernels] = [await kernels([]), await kernels(layerIds(g))];
    expect(fusedKernels.filter((name) => name === 'FusedConv2D')).toHaveLength(3);
    expect(relus(fusedKernels)).toBe(relus(apartKernels) - 3);
    const [fused, apart] = [run([]), run(layerIds(g))];
    fused.forEach((t, i) => {
      const scale = tf.tidy(() => tf.max(tf.abs(apart[i])).dataSync()[0]);
      expect(maxAbsDiff(t, apart[i]), `output ${i}`).toBeLessThanOrEqual(1e-5 * scale);
    });
    tf.dispose([x, ...fused, ...apart]);
    disposeGraph(g);
  });

  it('training mode updates BatchNorm moving statistics only when asked', () => {
    const g = buildArchitecture('bnnet', 'mnist', 5);
    const bn = g.nodes.find((n) => n.id === 'bn1')!;
    const before = bn.weights.movingMean.dataSync().slice();
    const x = tf.randomNormal([8, 28, 28, 1], 2, 1, 'float32', 6);
    tf.tidy(() => forward(g, x, { training: true, updateBatchNormStats: false }).output);
    expect(Array.from(bn.weights.movingMean.dataSync())).toEqual(Array.from(before));
    tf.tidy(() => forward(g, x, { training: true }).output);
    expect(Array.from(bn.weights.movingMean.dataSync())).not.toEqual(Array.from(before));
    x.dispose();
    disposeGraph(g);
  });

  it('recalibrateBatchNorm sets moving statistics to the moments of each BatchNorm input', () => {
    const g = buildArchitecture('bnnet', 'mnist', 5);
    const x = tf.randomNormal([12, 28, 28, 1], 2, 1, 'float32', 7);
    // Unbatched, the statistics are those of the batch-statistics forward pass itself.
    recalibrateBatchNorm(g, x, 12);
    const expected = tf.tidy(() => {
      const { tapped } = forward(g, x, { batchStatistics: true, taps: ['conv1', 'conv4'] });
      return ['conv1', 'conv4'].map((id) => tf.moments(tapped.get(id)!, [0, 1, 2]));
    });
    ['bn1', 'bn4'].forEach((id, i) => {
      const bn = g.nodes.find((n) => n.id === id)!;
      expect(maxAbsDiff(bn.weights.movingMean, expected[i].mean)).toBeLessThan(1e-4);
      expect(maxAbsDiff(bn.weights.movingVariance, expected[i].variance)).toBeLessThan(1e-3);
    });
    // In batches, bn1 (fed straight by conv1) sees the same union of images: same moments.
    const bn1 = g.nodes.find((n) => n.id === 'bn1')!;
    const tensors = tf.memory().numTensors;
    recalibrateBatchNorm(g, x, 5);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(maxAbsDiff(bn1.weights.movingMean, expected[0].mean)).toBeLessThan(1e-4);
    expect(maxAbsDiff(bn1.weights.movingVariance, expected[0].variance)).toBeLessThan(1e-3);
    // Inference mode now normalises conv1's output on x to mean β per channel.
    const mean = tf.tidy(
      () => tf.moments(forward(g, x, { taps: ['bn1'] }).tapped.get('bn1')!, [0, 1, 2]).mean,
    );
    expect(maxAbsDiff(mean, bn1.weights.beta)).toBeLessThan(1e-3);
    tf.dispose([x, mean, ...expected.flatMap((m) => [m.mean, m.variance])]);
    disposeGraph(g);
  });

  it('clones own their variables', () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    const c = cloneGraph(g);
    const conv1 = c.nodes.find((n) => n.id === 'conv1')!;
    conv1.weights.kernel.assign(tf.zerosLike(conv1.weights.kernel));
    const orig = g.nodes.find((n) => n.id === 'conv1')!;
    expect(tf.tidy(() => tf.sum(tf.abs(orig.weights.kernel)).dataSync()[0])).toBeGreaterThan(0);
    disposeGraph(g);
    disposeGraph(c);
  });
});
