import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../../data';
import {
  circulantMatrix,
  cloneGraph,
  disposeGraph,
  forward,
  graphStats,
  GraphBuilder,
  nodeById,
  trainableVariables,
  type Graph,
  type GraphNode,
  type GraphNodeOf,
} from '../../graph';
import { graphFromLayersJson, graphToLayersJson } from '../../io';
import { initBackend, type BackendInfo } from '../../runtime/backend';
import { expectFlatTensorCount } from '../../runtime/guards';
import { buildArchitecture, loadTeacher } from '../../zoo';
import { methodById } from '../registry';
import { executeRun } from '../runner';
import { crossEntropy, optimizerStep } from '../train';
import type { RunEvent } from '../types';
import {
  disposeNodes,
  factorNodes,
  layerMatrix,
  withReplaced,
  weightOf,
  type Factorisable,
} from './lowrank-svd';
import { circulantProjection, structuredStudent } from './structured';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Convs with 'same' and 'valid' padding, non-square kernels and strides split across axes. */
function smallNet(): Graph {
  return new GraphBuilder('small', [9, 11, 3], 5)
    .conv('c1', 4, [3, 5], { padding: 'same', strides: [2, 1] })
    .act('r1')
    .conv('c2', 6, 3, { padding: 'valid', strides: 2 })
    .add('flatten', 'flatten', {})
    .dense('fc', 7)
    .build();
}

const ofKind = <K extends 'dense' | 'conv2d'>(g: Graph, id: string) =>
  nodeById(g, id) as GraphNodeOf<K>;

describe('lowrank-svd factorisation', () => {
  it('reproduces dense and conv layers at full rank (same/valid padding, strides)', async () => {
    const g = smallNet();
    const x = tf.randomNormal([3, 9, 11, 3], 0, 1, 'float32', 1);
    const reference = forward(g, x).output;
    for (const id of ['c1', 'c2', 'fc']) {
      const l = await layerMatrix(nodeById(g, id) as Factorisable);
      const pair = factorNodes(l, l.svd.k);
      const y = forward(withReplaced(g, id, pair), x).output;
      expect(maxAbsDiff(y, reference)).toBeLessThan(1e-4);
      // A lower rank is a different layer: the check can fail.
      const low = factorNodes(l, 1);
      const yLow = forward(withReplaced(g, id, low), x).output;
      expect(maxAbsDiff(yLow, reference)).toBeGreaterThan(1e-2);
      tf.dispose([y, yLow]);
      disposeNodes([...pair, ...low]);
    }
    tf.dispose([x, reference]);
    disposeGraph(g);
  });

  it('conv: Tai et al.’s (C·kh)×(N·kw) matrix, vertical kh×1 then horizontal 1×kw, params k·(kh·C + kw·N)', async () => {
    const g = smallNet();
    const l = await layerMatrix(ofKind<'conv2d'>(g, 'c2'));
    expect([l.rows, l.cols]).toEqual([4 * 3, 6 * 3]);
    const [v, h] = factorNodes(l, 2);
    expect(v.weights.kernel.shape).toEqual([3, 1, 4, 2]);
    expect(h.weights.kernel.shape).toEqual([1, 3, 2, 6]);
    expect(h.id).toBe('c2');
    const stats = graphStats(withReplaced(g, 'c2', [v, h])).nodes;
    expect(
      stats.find((n) => n.id === 'c2_v')!.params + stats.find((n) => n.id === 'c2')!.params,
    ).toBe(2 * (3 * 4 + 3 * 6) + 6);
    disposeNodes([v, h]);
    disposeGraph(g);
  });

  it('on LeNet-5: spectra, a rank sweep whose accuracy rises with rank, ranks and sizes', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const teacher = await loadTeacher('lenet5-mnist');
    const events: RunEvent[] = [];
    const { result, student } = await executeRun(
      {
        method: methodById('lowrank-svd')!,
        params: {
          energy: 0.6,
          layerRatios: 'fc1=0.1',
          sweepExamples: 300,
          sweepRanks: 4,
          evalEvery: 10,
        },
        teacher,
        train,
        test,
        seed: 1,
        steps: 10,
        testExamples: 500,
        backend,
      },
      (e) => events.push(e),
    );
    const spectra = events.find((e) => e.kind === 'curve' && e.key === 'singular-values');
    expect(spectra?.kind === 'curve' && spectra.series.map((s) => s.name)).toEqual([
      'conv1',
      'conv2',
      'conv3',
      'fc1',
      'fc2',
    ]);
    const sweep = events.find(
      (e): e is Extract<RunEvent, { kind: 'table' }> =>
        e.kind === 'table' && e.key === 'rank-sweep',
    )!;
    expect(sweep.columns).toEqual(['layer', 'rank', 'params', 'FLOPs', 'accuracy']);
    const ranks = events.find((e) => e.kind === 'layers' && e.key === 'rank');
    expect(ranks?.kind === 'layers' && ranks.labels.length).toBeGreaterThan(1);
    // fc1's rank from its per-layer ratio (0.1 of 84), the others' from the retained energy.
    expect(ranks?.kind === 'layers' && ranks.values[ranks.labels.indexOf('fc1')]).toBe(8);
    for (const layer of new Set(sweep.rows.map((r) => r[0]))) {
      const rows = sweep.rows.filter((r) => r[0] === layer) as [
        string,
        number,
        number,
        number,
        number,
      ][];
      // Monotone-ish: the full-rank end is at least as accurate as rank 1, params grow with rank.
      expect(rows.at(-1)![4]).toBeGreaterThanOrEqual(rows[0][4]);
      expect(rows.at(-1)![4]).toBeGreaterThan(0.95);
      for (let i = 1; i < rows.length; i++) expect(rows[i][2]).toBeGreaterThan(rows[i - 1][2]);
    }
    // Some layer at rank 1 breaks the network: the sweep measures something.
    expect(Math.min(...sweep.rows.map((r) => r[4] as number))).toBeLessThan(0.8);
    expect(result.student.params).toBeLessThan(result.teacher.params);
    expect(result.metrics!['encoded-bytes']).toBe(result.student.params * 4);
    // The curve starts at the teacher copy, then drops to the factorised network's accuracy.
    const curve = events.filter(
      (e): e is Extract<RunEvent, { kind: 'scalar' }> =>
        e.kind === 'scalar' && e.key === 'accuracy/test',
    );
    expect(curve.slice(0, 2).map((e) => e.step)).toEqual([0, 0]);
    expect(curve[0].value).toBeGreaterThan(0.97);
    expect(curve[1].value).toBe(result.metrics!['accuracy/before-retrain']);
    expect(curve[1].value).toBeLessThan(curve[0].value);
    disposeGraph(student);
    disposeGraph(teacher);
    // The sweep's trial layers and the replaced layers' weights are all disposed.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  }, 60_000);
});

describe('circulant and depthwise-separable layers', () => {
  // WASM has no FFT kernel (gathered matrix and matmul); the CPU backend runs the FFT form.
  it.each(['wasm', 'cpu'])(
    'circulantDense on %s equals the explicit block-circulant product, and its gradient reaches each vector',
    async (name) => {
      await tf.setBackend(name);
      expect(tf.getKernel('FFT', name) !== undefined).toBe(name === 'cpu');
      const [n, m, b] = [7, 10, 4];
      const kernel = weightOf(tf.randomNormal([2, 3, b], 0, 1, 'float32', 2));
      const w = kernel.dataSync();
      const explicit = new Float32Array(n * m);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < m; c++)
          explicit[r * m + c] =
            w[(Math.floor(r / b) * 3 + Math.floor(c / b)) * b + ((((c - r) % b) + b) % b)];
      const node: GraphNode = {
        id: 'circ',
        op: 'circulantDense',
        inputs: ['input'],
        attrs: { units: m, blockSize: b, useBias: false },
        weights: { kernel },
      };
      const g: Graph = {
        name: 'c',
        nodes: [{ id: 'input', op: 'input', inputs: [], attrs: { shape: [n] }, weights: {} }, node],
        input: 'input',
        output: 'circ',
        inputShape: [n],
        preprocessing: { mean: 0, std: 1 },
      };
      tf.tidy(() => {
        const x = tf.randomNormal([5, n], 0, 1, 'float32', 3);
        const upstream = tf.randomNormal([5, m], 0, 1, 'float32', 4);
        const M = tf.tensor2d(explicit, [n, m]);
        expect(maxAbsDiff(forward(g, x).output, tf.matMul(x, M))).toBeLessThan(1e-5);
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.mul(forward(g, x).output, upstream)) as tf.Scalar,
          [kernel],
        );
        // dL/dM = xᵀ·G; each w[p, q, k] collects the entries of its block's k-th wrapped diagonal.
        const dM = tf.matMul(x, upstream, true, false).dataSync();
        const expected = new Float32Array(2 * 3 * b);
        for (let r = 0; r < n; r++)
          for (let c = 0; c < m; c++)
            expected[(Math.floor(r / b) * 3 + Math.floor(c / b)) * b + ((((c - r) % b) + b) % b)] +=
              dM[r * m + c];
        expect(maxAbsDiff(grads[kernel.name], tf.tensor3d(expected, [2, 3, b]))).toBeLessThan(1e-4);
        // Least-squares projection of a block-circulant matrix gives back its vectors.
        const projected = circulantProjection(
          circulantMatrix(kernel as tf.Tensor3D, n, m).dataSync() as Float32Array,
          n,
          m,
          b,
        );
        expect(maxAbsDiff(tf.tensor3d(projected, [2, 3, b]), kernel)).toBeLessThan(1e-6);
      });
      const stats = graphStats(g).nodes[1];
      expect(stats.params).toBe(2 * 3 * b);
      // The FFT form's intermediate spectra are freed too.
      const optimizer = tf.train.sgd(0.1);
      const x = tf.randomNormal([5, n], 0, 1, 'float32', 3);
      await expectFlatTensorCount(() => {
        optimizer.minimize(() => tf.sum(tf.square(forward(g, x).output)) as tf.Scalar, false, [
          kernel,
        ]);
      }, 3);
      tf.dispose([x, kernel]);
      optimizer.dispose();
      await tf.setBackend('wasm');
    },
  );

  it('exports and re-imports a structured student unchanged', async () => {
    const g = buildArchitecture('lenet5', 'mnist', 3);
    structuredStudent(g, 'both', 16, false, 7);
    const { json, weightData } = await graphToLayersJson(g);
    const back = await graphFromLayersJson(json, weightData);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 5);
    const [a, b] = [forward(g, x).output, forward(back, x).output];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    expect(back.nodes.some((n) => n.op === 'circulantDense')).toBe(true);
    tf.dispose([x, a, b]);
    disposeGraph(g);
    disposeGraph(back);
  });

  it('projection: a separable conv kernel is reproduced exactly by depthwise + pointwise', () => {
    const g = new GraphBuilder('sep', [8, 8, 2], 1)
      .conv('c1', 3, 3)
      .conv('c2', 5, 3, { padding: 'same' })
      .build();
    // c2's kernel W[y, x, c, n] = D[y, x, c]·P[c, n]: rank one per input channel.
    const c2 = ofKind<'conv2d'>(g, 'c2');
    tf.tidy(() => {
      const d = tf.randomNormal([3, 3, 3, 1], 0, 1, 'float32', 8);
      const p = tf.randomNormal([1, 1, 3, 5], 0, 1, 'float32', 9);
      c2.weights.kernel.assign(tf.mul(d, p));
    });
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 6);
    const reference = forward(g, x).output;
    const { replaced } = structuredStudent(g, 'depthwise-separable', 16, true, 1);
    expect(replaced).toEqual(['c2']); // c1 reads the image
    const y = forward(g, x).output;
    expect(maxAbsDiff(y, reference)).toBeLessThan(1e-4);
    tf.dispose([x, reference, y]);
    disposeGraph(g);
  });

  it('the structured LeNet-5 student learns from the teacher: the KD loss falls', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const teacher = await loadTeacher('lenet5-mnist');
    const events: RunEvent[] = [];
    const { result, student } = await executeRun(
      {
        method: methodById('structured')!,
        params: { replace: 'both', init: 'random', learningRate: 3e-3, evalEvery: 60 },
        teacher,
        train,
        test,
        seed: 2,
        steps: 60,
        testExamples: 500,
        backend,
      },
      (e) => events.push(e),
    );
    const loss = events.filter(
      (e): e is Extract<RunEvent, { kind: 'scalar' }> => e.kind === 'scalar' && e.key === 'loss',
    );
    expect(loss.length).toBeGreaterThan(1);
    expect(loss.at(-1)!.value).toBeLessThan(loss[0].value * 0.7);
    expect(result.student.params).toBeLessThan(result.teacher.params / 5);
    expect(result.student.accuracy).toBeGreaterThan(result.metrics!['accuracy/before-retrain']);
    disposeGraph(student);
    disposeGraph(teacher);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  }, 60_000);

  it('keeps the tensor count flat while a structured student trains', async () => {
    const g = cloneGraph(buildArchitecture('lenet5', 'mnist', 4));
    structuredStudent(g, 'both', 8, true, 3);
    const optimizer = tf.train.adam(1e-3);
    const x = tf.randomNormal([8, 32, 32, 1], 0, 1, 'float32', 7);
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    await expectFlatTensorCount(() => {
      optimizerStep(
        optimizer,
        trainableVariables(g),
        () => ({ total: crossEntropy(forward(g, x, { training: true }).output, y) }),
        false,
      );
    }, 4);
    optimizer.dispose();
    tf.dispose([x, y]);
    disposeGraph(g);
  });
});
