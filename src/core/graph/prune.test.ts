import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backend';
import {
  channelPruneBlocker,
  disposeGraph,
  forward,
  GraphBuilder,
  graphStats,
  kernelGroups,
  nodeById,
  pruneChannels,
  type Graph,
} from '.';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Zeroes the input-channel groups `drop` of a layer's kernel (viewed as [spatial, C, out]). */
function zeroGroups(g: Graph, id: string, drop: number[]): void {
  const { spatial, channels, out } = kernelGroups(g, id);
  const kernel = nodeById(g, id).weights.kernel;
  const keep = Float32Array.from({ length: channels }, (_, c) => (drop.includes(c) ? 0 : 1));
  tf.tidy(() =>
    kernel.assign(
      tf.reshape(
        tf.mul(tf.reshape(kernel, [spatial, channels, out]), tf.tensor3d(keep, [1, channels, 1])),
        kernel.shape,
      ),
    ),
  );
}

/** Prunes and checks: same predictions, fewer params and FLOPs, the expected new widths. */
function expectExactPrune(g: Graph, id: string, drop: number[]): Graph {
  const { channels } = kernelGroups(g, id);
  zeroGroups(g, id, drop);
  const keep = Array.from({ length: channels }, (_, c) => c).filter((c) => !drop.includes(c));
  const pruned = pruneChannels(g, id, keep);
  const x = tf.randomNormal([3, ...g.inputShape], 0, 1, 'float32', 7);
  const [before, after] = [forward(g, x).output, forward(pruned, x).output];
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(before, after))).dataSync()[0]);
  const scale = tf.tidy(() => tf.max(tf.abs(before)).dataSync()[0]);
  expect(scale).toBeGreaterThan(1e-3);
  expect(diff).toBeLessThan(1e-5 * Math.max(1, scale));
  const [s0, s1] = [graphStats(g), graphStats(pruned)];
  expect(s1.params).toBeLessThan(s0.params);
  expect(s1.flops).toBeLessThan(s0.flops);
  expect(kernelGroups(pruned, id).channels).toBe(keep.length);
  tf.dispose([x, before, after]);
  return pruned;
}

/** Random BatchNorm statistics, so a wrongly sliced BN would show. */
function randomizeBatchNorm(g: Graph): void {
  g.nodes.forEach((n, i) => {
    if (n.op !== 'batchNorm') return;
    tf.tidy(() => {
      const c = n.weights.gamma.shape[0];
      n.weights.gamma.assign(tf.randomUniform([c], 0.5, 1.5, 'float32', i));
      n.weights.beta.assign(tf.randomUniform([c], -0.5, 0.5, 'float32', i + 1));
      n.weights.movingMean.assign(tf.randomUniform([c], -0.5, 0.5, 'float32', i + 2));
      n.weights.movingVariance.assign(tf.randomUniform([c], 0.5, 2, 'float32', i + 3));
    });
  });
}

describe('pruneChannels', () => {
  it('conv → conv: drops filters of the producer and input channels of the consumer', () => {
    const g = new GraphBuilder('cc', [8, 8, 2], 1)
      .conv('c1', 5, 3, { padding: 'same' })
      .act('r1')
      .conv('c2', 3, 3)
      .build();
    const p = expectExactPrune(g, 'c2', [1, 3]);
    expect(nodeById(p, 'c1').attrs).toMatchObject({ filters: 3 });
    expect(nodeById(p, 'c1').weights.kernel.shape).toEqual([3, 3, 2, 3]);
    expect(nodeById(p, 'c1').weights.bias.shape).toEqual([3]);
    expect(nodeById(p, 'c2').weights.kernel.shape).toEqual([3, 3, 3, 3]);
    // The original is untouched and still owns its variables.
    expect(nodeById(g, 'c1').weights.kernel.shape).toEqual([3, 3, 2, 5]);
    disposeGraph(p);
    disposeGraph(g);
  });

  it('conv → BN → ReLU → pool → conv: BatchNorm γ, β and moving statistics follow', () => {
    const g = new GraphBuilder('cbc', [8, 8, 1], 2)
      .conv('c1', 4, 3, { padding: 'same', useBias: false })
      .batchNorm('bn1')
      .act('r1')
      .maxPool('p1')
      .conv('c2', 2, 3, { padding: 'same', useBias: false })
      .build();
    randomizeBatchNorm(g);
    const p = expectExactPrune(g, 'c2', [0, 2]);
    for (const w of Object.values(nodeById(p, 'bn1').weights)) expect(w.shape).toEqual([2]);
    expect(nodeById(p, 'bn1').weights.movingVariance.trainable).toBe(false);
    disposeGraph(p);
    disposeGraph(g);
  });

  it('conv → flatten → dense: removes the rows p·C + c of the flattened NHWC map', () => {
    const g = new GraphBuilder('cfd', [6, 6, 1], 3)
      .conv('c1', 4, 3)
      .act('r1')
      .add('flatten', 'flat', {})
      .dense('fc', 5)
      .build();
    expect(kernelGroups(g, 'fc')).toMatchObject({ spatial: 16, channels: 4, out: 5 });
    const p = expectExactPrune(g, 'fc', [1, 2]);
    expect(nodeById(p, 'fc').weights.kernel.shape).toEqual([32, 5]);
    disposeGraph(p);
    disposeGraph(g);
  });

  it('dense → dense and conv → BN → GAP → dense', () => {
    const g = new GraphBuilder('dd', [4, 4, 1], 4)
      .add('flatten', 'flat', {})
      .dense('fc1', 6)
      .act('r1')
      .dense('fc2', 3)
      .build();
    const p = expectExactPrune(g, 'fc2', [0, 2, 5]);
    expect(nodeById(p, 'fc1').attrs).toMatchObject({ units: 3 });
    disposeGraph(p);
    disposeGraph(g);

    const h = new GraphBuilder('gap', [6, 6, 1], 5)
      .conv('c1', 4, 3, { useBias: false })
      .batchNorm('bn1')
      .act('r1')
      .add('globalAvgPool', 'gap', {})
      .dense('fc', 3)
      .build();
    randomizeBatchNorm(h);
    const q = expectExactPrune(h, 'fc', [3]);
    disposeGraph(q);
    disposeGraph(h);
  });

  it('refuses channels shared with a residual add or read from the image', () => {
    const b = new GraphBuilder('res', [6, 6, 1], 6)
      .conv('c1', 4, 3, { padding: 'same' })
      .act('r1')
      .conv('c2', 4, 3, { padding: 'same' });
    b.add('add', 'sum', {}, ['r1', 'c2']).conv('c3', 2, 3);
    const g = b.build();
    expect(channelPruneBlocker(g, 'c3')).toMatch(/add/);
    expect(channelPruneBlocker(g, 'c2')).toMatch(/more than one node/);
    expect(channelPruneBlocker(g, 'c1')).toMatch(/network input/);
    expect(() => pruneChannels(g, 'c3', [0, 1])).toThrow(/cannot prune 'c3'/);
    expect(() => pruneChannels(g, 'c1', [])).toThrow();
    disposeGraph(g);
  });
});
