import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, loadDataset, toTensors, type Dataset } from '../data';
import { decide, flopsTerms, gatedFlops, insertGates } from '../dynamic';
import { disposeGraph, nodeById, type Graph } from '../graph';
import { inputOptions } from '../metrics';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { expectFlatTensorCount } from '../runtime/guards';
import { Rng } from '../runtime/rng';
import { loadTeacher } from '../zoo';
import { DynamicTrainer, dynamicPrune } from './dynamic-prune';
import { defaultParams } from './params';
import { methodById } from './registry';
import { executeRun } from './runner';
import type { RunEvent } from './types';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let teacher: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  teacher = await loadTeacher('bnnet-mnist');
});

const params = (o: Partial<ReturnType<typeof defaultParams<typeof dynamicPrune.params>>> = {}) => ({
  ...defaultParams(dynamicPrune.params),
  actions: 4,
  ...o,
});

/** `steps` two-pass updates on real MNIST batches of 64; the mean FLOPs ratio after them. */
async function trainDecisions(lambda: number, steps: number) {
  const { graph, gated } = insertGates(teacher, { kind: 'dynamic', actions: 4 }, 1);
  const trainer = new DynamicTrainer(
    graph,
    gated,
    params({ lambda, sparsityTarget: 0, learningRate: 0.05 }),
    new Rng(1, ['t']),
  );
  const data = batches(train, { ...inputOptions(graph, train), batchSize: 64, rng: new Rng(2) });
  for (let i = 0; i < steps; i++) {
    const { x, y } = data.next().value!;
    await trainer.step(x, y, 1, false);
    tf.dispose([x, y]);
  }
  const terms = flopsTerms(graph);
  const { x } = toTensors(
    test,
    Int32Array.from({ length: 100 }, (_, i) => i),
    inputOptions(graph, test),
  );
  const d = await decide(graph, gated, terms, x);
  x.dispose();
  const mean = d.flops.reduce((a, b) => a + b, 0) / d.flops.length;
  trainer.dispose();
  return { graph, gated, ratio: mean / gatedFlops(terms, () => 1) };
}

describe('dynamic channel pruning', () => {
  it('the sparsity regulariser drives masks to exactly zero, so inputs skip channels; without it they stay', async () => {
    const sparse = await trainDecisions(20, 30);
    const plain = await trainDecisions(0, 30);
    expect(sparse.ratio).toBeLessThan(0.85);
    expect(plain.ratio).toBeGreaterThan(0.98);
    for (const u of sparse.gated) {
      const m = nodeById(sparse.graph, u.gate).weights.masks.dataSync();
      expect(Math.min(...m)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...m)).toBeLessThanOrEqual(5);
      // Head columns have unit norm after every step.
      const norms = tf.tidy(() => tf.norm(nodeById(sparse.graph, u.head!).weights.kernel, 2, 0));
      expect(Math.abs(Math.max(...norms.dataSync()) - 1)).toBeLessThan(1e-4);
      norms.dispose();
    }
    disposeGraph(sparse.graph);
    disposeGraph(plain.graph);
  }, 60_000);

  it('keeps the tensor count flat over decision and fine-tune steps', async () => {
    const { graph, gated } = insertGates(teacher, { kind: 'dynamic', actions: 4 }, 1);
    const trainer = new DynamicTrainer(graph, gated, params(), new Rng(3));
    const { x, y } = toTensors(
      train,
      Int32Array.from({ length: 32 }, (_, i) => i),
      inputOptions(graph, train),
    );
    // Each kind of step once first: optimisers make their slots on their first update.
    const kinds: [number | undefined, boolean][] = [
      [2, false],
      [2, true],
      [undefined, false],
      [undefined, true],
    ];
    for (const [t, read] of kinds) await trainer.step(x, y, t, read);
    await expectFlatTensorCount(async (i) => {
      const [t, read] = kinds[i % 4];
      await trainer.step(x, y, t, read);
    }, 8);
    tf.dispose([x, y]);
    trainer.dispose();
    disposeGraph(graph);
  }, 60_000);

  it('runs end to end: FLOPs per input, attacks, detectors on decision features and softmax, the UMAP', async () => {
    const events: RunEvent[] = [];
    const training: (Graph | undefined)[] = [];
    const { result, student } = await executeRun(
      {
        method: methodById('dynamic-prune')!,
        params: {
          actions: 4,
          batchSize: 32,
          fineTuneSteps: 4,
          analysisExamples: 24,
          pgdSteps: 2,
          attacks: 'all',
          lambda: 5,
        },
        teacher,
        train,
        test,
        seed: 1,
        steps: 12,
        testExamples: 300,
        backend,
      },
      (e) => events.push(e),
      { onStudent: (g) => training.push(g) },
    );
    expect(result.metrics['flops-ratio']).toBeGreaterThan(0);
    expect(result.metrics['flops-ratio']).toBeLessThanOrEqual(1.01);
    const attacks = ['fgsm', 'pgd', 'bim', 'deepfool', 'cw'];
    for (const attack of attacks) {
      expect(result.metrics[`attack-success/${attack}`]).toBeGreaterThan(0);
      for (const detector of ['auc', 'auc-forest']) {
        for (const on of ['decision', 'softmax']) {
          const auc = result.metrics[`${detector}/${attack}/${on}`];
          expect(auc).toBeGreaterThanOrEqual(0);
          expect(auc).toBeLessThanOrEqual(1);
        }
      }
    }
    const umap = events.find((e) => e.kind === 'embedding')!;
    if (umap.kind !== 'embedding') throw new Error('no embedding');
    // 24 images, clean and five attacks.
    expect(umap.points.length).toBe(2 * 144);
    expect(umap.groupNames).toHaveLength(6);
    expect(umap.images!.pixels.length).toBe(144 * 28 * 28);
    expect(umap.gates!.values.length).toBe(144 * umap.gates!.widths.reduce((a, b) => a + b, 0));
    expect(events.filter((e) => e.kind === 'curve')).toHaveLength(attacks.length);
    const tables = events.filter((e) => e.kind === 'table').map((e) => e.kind === 'table' && e.key);
    expect(tables).toEqual(expect.arrayContaining(['attacks', 'detector-auc']));
    // The student keeps its decision units and evaluates deterministically.
    expect(student.nodes.some((n) => n.op === 'decisionMask')).toBe(true);
    // Checkpoints were of the gated network being trained, which became the student.
    expect(training.at(-1)).toBe(student);
    disposeGraph(student);
  }, 240_000);
});
