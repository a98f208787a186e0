import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deletionMasks, obdLoss } from '../../compress/obd';
import { batches, loadDataset, type Batch, type Dataset } from '../../data';
import {
  cloneGraph,
  disposeGraph,
  forward,
  graphStats,
  layerIds,
  nodeById,
  type Graph,
} from '../../graph';
import { accuracy, inputOptions } from '../../metrics';
import { initBackend, type BackendInfo } from '../../runtime/backend';
import { InvalidInputError } from '../../runtime/errors';
import { Rng } from '../../runtime/rng';
import { loadTeacher } from '../../zoo';
import { methodById } from '../registry';
import { executeRun } from '../runner';
import type { RunEvent } from '../types';
import { pruneFilters, recalibrateAfterPruning } from './channel-prune';
import { applyMasks, obdScores } from './obd';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let lenet: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  lenet = await loadTeacher('lenet5-mnist');
});

const scalars = (events: RunEvent[], key: string) =>
  events.filter(
    (e): e is Extract<RunEvent, { kind: 'scalar' }> => e.kind === 'scalar' && e.key === key,
  );

async function run(method: string, params: Record<string, unknown>, steps: number) {
  const events: RunEvent[] = [];
  const before = tf.memory().numTensors;
  const { result, student } = await executeRun(
    {
      method: methodById(method)!,
      params,
      teacher: lenet,
      train,
      test,
      seed: 1,
      steps,
      testExamples: 1000,
      backend,
    },
    (e) => events.push(e),
  );
  return { result, student, events, before };
}

/** Everything the run made is gone once its student is disposed. */
function expectNoLeak(student: Graph, before: number) {
  disposeGraph(student);
  expect(tf.memory().numTensors).toBe(before);
}

describe('channel pruning (Li et al. 2017)', () => {
  it('keeps the highest-L1 filters, removes half the FLOPs, and takes BatchNorm entries and the next layer’s inputs with them', async () => {
    const { graph, layers, kept, ratio } = await pruneFilters(lenet, {
      criterion: 'l1',
      flopsReduction: 0.5,
    });
    // The output layer fc2 is read by none: its 10 units are never pruned.
    expect(layers.map((l) => l.producer)).toEqual(['conv1', 'conv2', 'conv3', 'fc1']);
    const flops = graphStats(graph).flops / graphStats(lenet).flops;
    expect(flops).toBeLessThanOrEqual(0.5);
    expect(flops).toBeGreaterThan(0.4);
    expect(ratio).toBeGreaterThan(0.2);
    // conv1 keeps exactly its largest-norm filters, unchanged.
    const norms = tf.tidy(() =>
      Array.from(
        tf.sum(tf.abs(tf.reshape(nodeById(lenet, 'conv1').weights.kernel, [-1, 6])), 0).dataSync(),
      ),
    );
    const ranked = [...norms.keys()].sort((a, b) => norms[b] - norms[a]);
    expect(kept[0]).toEqual(ranked.slice(0, kept[0].length).sort((a, b) => a - b));
    const conv1 = nodeById(graph, 'conv1').weights.kernel;
    const expected = tf.gather(nodeById(lenet, 'conv1').weights.kernel, kept[0], 3);
    expect(tf.max(tf.abs(tf.sub(conv1, expected))).dataSync()[0]).toBe(0);
    expect(nodeById(graph, 'conv2').weights.kernel.shape).toEqual([
      5,
      5,
      kept[0].length,
      kept[1].length,
    ]);
    expect(nodeById(graph, 'fc2').weights.kernel.shape).toEqual([kept[3].length, 10]);
    tf.dispose([expected]);
    disposeGraph(graph);

    const fashionNet = await loadTeacher('bnnet-fashion');
    const bn = await pruneFilters(fashionNet, {
      criterion: 'l2',
      flopsReduction: 0.5,
      layerRatios: new Map([['conv1', 0]]),
    });
    expect(bn.kept[0]).toHaveLength(16);
    expect(nodeById(bn.graph, 'bn3').weights.gamma.shape).toEqual([bn.kept[2].length]);
    expect(nodeById(bn.graph, 'fc').weights.kernel.shape).toEqual([bn.kept[4].length, 10]);
    expect(graphStats(bn.graph).flops / graphStats(fashionNet).flops).toBeLessThanOrEqual(0.5);
    disposeGraph(bn.graph);
    disposeGraph(fashionNet);
  });

  it('re-estimated BatchNorm statistics bring a pruned BN net back from chance', async () => {
    const net = await loadTeacher('bnnet-fashion');
    const [fashionTrain, fashionTest] = await Promise.all([
      loadDataset('fashion', 'train'),
      loadDataset('fashion', 'test'),
    ]);
    const indices = Int32Array.from({ length: 500 }, (_, i) => i);
    const { graph } = await pruneFilters(net, { criterion: 'l1', flopsReduction: 0.5 });
    const stale = await accuracy(graph, fashionTest, { indices });
    recalibrateAfterPruning(graph, fashionTrain, new Rng(1));
    const fresh = await accuracy(graph, fashionTest, { indices });
    // Measured: 0.10 → 0.50.
    expect(stale).toBeLessThan(0.25);
    expect(fresh).toBeGreaterThan(stale + 0.2);
    disposeGraph(graph);
    disposeGraph(net);
  }, 120_000);

  it('refuses a FLOPs target that one filter per layer cannot reach', async () => {
    await expect(pruneFilters(lenet, { criterion: 'l1', flopsReduction: 0.999 })).rejects.toThrow(
      InvalidInputError,
    );
  });

  it('the run returns a smaller network, retrains it back, times both, and leaks nothing', async () => {
    const { result, student, events, before } = await run('channel-prune', { evalEvery: 100 }, 150);
    const m = result.metrics!;
    expect(result.student.params).toBeLessThan(result.teacher.params / 2);
    expect(m['flops/after']).toBeLessThanOrEqual(0.5 * m['flops/before']);
    expect(graphStats(student).flops).toBe(m['flops/after']);
    expect(m['encoded-bytes']).toBe(4 * graphStats(student).params);
    // Accuracy: teacher, right after pruning (a drop), after retraining (recovered).
    const acc = scalars(events, 'accuracy/test').map((e) => e.value);
    expect(acc[1]).toBe(m['accuracy/before-retrain']);
    expect(acc[1]).toBeLessThan(acc[0]);
    expect(acc.at(-1)!).toBeGreaterThan(acc[1]);
    expect(result.student.accuracy).toBeGreaterThan(0.97);
    for (const k of ['latency-ms/teacher', 'latency-ms/student', 'speedup', 'speedup-batch1']) {
      expect(m[k]).toBeGreaterThan(0);
    }
    expectNoLeak(student, before);
  }, 120_000);
});

describe('Optimal Brain Damage (LeCun et al. 1989)', () => {
  it('at 85 % sparsity without retraining, deleting the lowest saliencies raises LeNet-5’s loss less than deleting the smallest weights', async () => {
    // Held-out training images: what the deletion costs, measured on data the saliencies did not see.
    const held: Batch[] = [];
    for (const b of batches(train, {
      ...inputOptions(lenet, train),
      batchSize: 500,
      rng: new Rng(99),
    })) {
      held.push(b);
      if (held.length === 4) break;
    }
    const lossOf = (g: Graph) =>
      tf.tidy(
        () =>
          held.reduce(
            (s, b) => s + obdLoss(forward(g, b.x).output, b.y, 'cross-entropy').dataSync()[0],
            0,
          ) / held.length,
      );
    const base = lossOf(lenet);
    const magnitude = new Map(
      layerIds(lenet).map((id) => [
        id,
        Float32Array.from(nodeById(lenet, id).weights.kernel.dataSync(), Math.abs),
      ]),
    );
    const saliencies = await obdScores(lenet, train, 4096, new Rng(1));
    const rise = (scores: Map<string, Float32Array>) => {
      const g = cloneGraph(lenet);
      applyMasks(g, deletionMasks(scores, 0.85, 'global'));
      const loss = lossOf(g);
      disposeGraph(g);
      return loss - base;
    };
    const [obd, mag] = [rise(saliencies), rise(magnitude)];
    // Measured: 0.24 against 0.61 (base loss 0.004). At 60 % both rises are under 0.01 and
    // magnitude is the smaller; per layer (scope: layer) magnitude wins at 50–90 %.
    expect(obd).toBeLessThan(0.75 * mag);
    tf.dispose(held.flatMap((b) => [b.x, b.y]));
  }, 120_000);

  it('the run deletes exactly the target share of kernel weights over its rounds, keeps them zero while retraining, and recovers', async () => {
    const { result, student, events, before } = await run(
      'obd',
      { sparsity: 0.8, rounds: 2, hessianExamples: 1024, evalEvery: 50 },
      100,
    );
    const m = result.metrics!;
    const kernels = layerIds(student).map((id) => nodeById(student, id).weights.kernel);
    const total = kernels.reduce((s, k) => s + k.size, 0);
    const zeros = kernels.reduce(
      (s, k) => s + tf.tidy(() => tf.sum(tf.equal(k, 0)).dataSync()[0]),
      0,
    );
    expect(zeros / total).toBeCloseTo(0.8, 3);
    expect(m['kernel-sparsity']).toBeCloseTo(0.8, 3);
    expect(m['nonzero-params']).toBe(graphStats(student).params - zeros);
    const layers = events.filter((e) => e.kind === 'layers' && e.key === 'sparsity');
    expect(layers).toHaveLength(2);
    expect(scalars(events, 'accuracy/test').at(-1)!.value).toBeGreaterThan(
      m['accuracy/before-retrain'],
    );
    expect(result.student.accuracy).toBeGreaterThan(0.97);
    expectNoLeak(student, before);
  }, 120_000);
});

describe('sensitivity scan (Han et al. 2015)', () => {
  it('charts accuracy per layer against the share pruned, suggests per-layer ratios, and returns the model unchanged', async () => {
    const { result, student, events, before } = await run('sensitivity', { maxDrop: 0.5 }, 45);
    const curve = events.find((e) => e.kind === 'curve' && e.key === 'sensitivity');
    const last = events
      .filter((e): e is Extract<RunEvent, { kind: 'curve' }> => e.kind === 'curve')
      .at(-1)!;
    expect(curve).toBeDefined();
    expect(last.series.map((s) => s.name)).toEqual(['conv1', 'conv2', 'conv3', 'fc1', 'fc2']);
    const progress = events.filter((e) => e.kind === 'progress');
    expect(progress.at(-1)).toMatchObject({ step: 45, total: 45 });
    const m = result.metrics!;
    // The big layers lose much before accuracy moves; the 150-weight first conv very little.
    expect(m['suggested-ratio/conv3']).toBeGreaterThan(m['suggested-ratio/conv1']);
    expect(m['sensitivity/conv1/0.9']).toBeLessThan(m['accuracy/base'] - 0.05);
    const log = events.find(
      (e): e is Extract<RunEvent, { kind: 'log' }> =>
        e.kind === 'log' && e.message.includes('layerRatios'),
    )!;
    expect(log.message).toMatch(/conv1=[\d.]+,conv2=[\d.]+,conv3=[\d.]+,fc1=[\d.]+,fc2=[\d.]+$/);
    // The returned copy computes exactly what the teacher does.
    for (const id of layerIds(lenet)) {
      const diff = tf.tidy(
        () =>
          tf
            .max(
              tf.abs(
                tf.sub(nodeById(student, id).weights.kernel, nodeById(lenet, id).weights.kernel),
              ),
            )
            .dataSync()[0],
      );
      expect(diff).toBe(0);
    }
    expect(result.student.accuracy).toBe(result.teacher.accuracy);
    expectNoLeak(student, before);
  }, 120_000);

  it('in quantize mode scans 8 down to 2 bits per layer', async () => {
    const { result, student, events, before } = await run('sensitivity', { mode: 'quantize' }, 35);
    const last = events
      .filter((e): e is Extract<RunEvent, { kind: 'curve' }> => e.kind === 'curve')
      .at(-1)!;
    expect(last.series[0].x).toEqual([8, 7, 6, 5, 4, 3, 2]);
    // 8 bits costs (almost) nothing anywhere.
    for (const s of last.series)
      expect(s.y[0]).toBeGreaterThan(result.metrics!['accuracy/base'] - 0.005);
    expectNoLeak(student, before);
  }, 120_000);
});
