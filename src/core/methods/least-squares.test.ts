import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyNode, GraphBuilder, nodeById, type GraphNode } from '../graph';
import { initBackend } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { layerPatches, LeastSquares } from './least-squares';

beforeAll(async () => {
  await initBackend('wasm');
});

const EVAL = { training: false, updateBatchNormStats: false } as const;
const maxAbs = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** Conv layers of several geometries (with a 2-dilated one) and a dense layer, with inputs. */
function layers(): { node: GraphNode; x: tf.Tensor }[] {
  const conv = new GraphBuilder('t', [9, 9, 3], 1)
    .conv('same2', 4, 3, { padding: 'same', strides: 2 })
    .conv('valid', 5, [2, 3], { useBias: false })
    .build();
  const dense = new GraphBuilder('d', [20], 2).dense('fc', 3).build();
  const dilated = structuredClone(nodeById(conv, 'same2').attrs);
  const dil: GraphNode = {
    ...nodeById(conv, 'same2'),
    id: 'dilated',
    attrs: { ...dilated, strides: [1, 1], dilations: [2, 2] },
  } as GraphNode;
  return [
    { node: nodeById(conv, 'same2'), x: tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 3) },
    { node: nodeById(conv, 'valid'), x: tf.randomNormal([3, 5, 5, 4], 0, 1, 'float32', 4) },
    { node: dil, x: tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 5) },
    { node: nodeById(dense, 'fc'), x: tf.randomNormal([6, 20], 0, 1, 'float32', 6) },
  ];
}

describe('least squares on patches', () => {
  it('patches times the flattened kernel is the layer (padding, strides, dilation, dense)', () => {
    for (const { node, x } of layers()) {
      const k = node.weights.kernel;
      const viaPatches = tf.tidy(() =>
        tf.matMul(layerPatches(node, x), tf.reshape(k, [-1, k.shape.at(-1)!])),
      );
      const y = tf.tidy(() => {
        const out = applyNode(node, [x], {
          ...EVAL,
          weights: { bias: tf.zeros([k.shape.at(-1)!]) },
        });
        return tf.reshape(out, [-1, k.shape.at(-1)!]);
      });
      expect(viaPatches.shape).toEqual(y.shape);
      expect(maxAbs(viaPatches, y)).toBeLessThan(1e-5);
      tf.dispose([viaPatches, y, x]);
    }
  });

  it('has the value and the gradient of the mean squared error, with a fitted or a fixed bias', () => {
    // TF.js has no conv2d gradient for dilations > 1: the dilated layer is checked above only.
    for (const { node, x } of layers().filter((l) => l.node.id !== 'dilated')) {
      const k = node.weights.kernel;
      const b = node.weights.bias;
      // Targets from other weights, so the error is a sizeable part of the signal.
      const other = { kernel: tf.randomNormal(k.shape, 0, 0.5, 'float32', 7) };
      const hT = tf.randomNormal(x.shape, 0, 1, 'float32', 8);
      const terms = [
        { weight: 0.3, input: x, target: applyNode(node, [x], { ...EVAL, weights: other }) },
        { weight: 0.7, input: hT, target: applyNode(node, [hT], { ...EVAL, weights: other }) },
      ];
      const direct = (kernel: tf.Tensor, bias?: tf.Tensor) =>
        tf.addN(
          terms.map((t) => {
            const y = applyNode(node, [t.input], { ...EVAL, weights: { kernel, bias } });
            return tf.mul(t.weight, tf.mean(tf.squaredDifference(y, t.target)));
          }),
        ) as tf.Scalar;
      const forms = new Set<string>();
      for (const bias of b ? (['fitted', 'fixed'] as const) : (['fixed'] as const)) {
        const q = LeastSquares.of(node, terms, bias);
        forms.add(q.form);
        const args = bias === 'fitted' ? [k, b] : [k];
        const [gq, gd] = [
          tf.grads((...w: tf.Tensor[]) => q.value(w[0], w[1]))(args),
          tf.grads((...w: tf.Tensor[]) => direct(w[0], w[1] ?? b))(args),
        ];
        const [vq, vd] = [q.value(k, bias === 'fitted' ? b : undefined), direct(k, b)];
        expect(vq.dataSync()[0]).toBeCloseTo(vd.dataSync()[0], 3);
        expect(vd.dataSync()[0]).toBeGreaterThan(0.1);
        gq.forEach((g, i) => {
          const scale = tf.tidy(() => tf.max(tf.abs(gd[i])).dataSync()[0]);
          expect(maxAbs(g, gd[i]) / scale).toBeLessThan(1e-3);
        });
        q.dispose();
        tf.dispose([...gq, ...gd, vq, vd]);
      }
      // More patch rows than weights per output: the Gram form; fewer: the patch form.
      expect([...forms]).toEqual([node.id === 'fc' ? 'patches' : 'gram']);
      tf.dispose([x, hT, other.kernel, ...terms.map((t) => t.target)]);
    }
  });

  it('keeps the tensor count flat while evaluating', async () => {
    const [{ node, x }] = layers();
    const q = LeastSquares.of(
      node,
      [{ weight: 1, input: x, target: applyNode(node, [x], EVAL) }],
      'fitted',
    );
    await expectFlatTensorCount(() => {
      tf.tidy(() => {
        q.value(node.weights.kernel, node.weights.bias);
      });
    }, 5);
    q.dispose();
  });
});
