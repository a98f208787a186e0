import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, readTensors } from '../../compress/storage';
import { batches, loadDataset, type Dataset } from '../../data';
import { disposeGraph, forward, nodeById, type Graph } from '../../graph';
import { inputOptions } from '../../metrics';
import { initBackend, type BackendInfo } from '../../runtime/backend';
import { Rng } from '../../runtime/rng';
import { loadTeacher } from '../../zoo';
import { methodById } from '../registry';
import { executeRun } from '../runner';
import { crossEntropy } from '../train';
import type { RunEvent } from '../types';
import { WeightSharing } from './kmeans-share';
import { layerSparsities, prunableLayers } from './magnitude-prune';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let teacher: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  teacher = await loadTeacher('lenet5-mnist');
});
afterAll(() => disposeGraph(teacher));

const scalars = (events: RunEvent[], key: string) =>
  events.filter(
    (e): e is Extract<RunEvent, { kind: 'scalar' }> => e.kind === 'scalar' && e.key === key,
  );

async function run(
  method: string,
  params: Record<string, unknown>,
  steps: number,
  stepping = false,
) {
  const events: RunEvent[] = [];
  const tensors: { phase: string; count: number }[] = [];
  const out = await executeRun(
    {
      method: methodById(method)!,
      params,
      teacher,
      train,
      test,
      seed: 1,
      steps,
      testExamples: 500,
      backend,
    },
    (e) => {
      events.push(e);
      if (e.kind === 'progress')
        tensors.push({ phase: e.phase ?? '', count: tf.memory().numTensors });
    },
    { stepping: () => stepping },
  );
  return { ...out, events, tensors };
}

/** Zero count per prunable layer. */
async function zeros(g: Graph): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const l of prunableLayers(g))
    out.set(l.id, (await l.kernel.data()).filter((v) => v === 0).length);
  return out;
}

describe('per-layer sparsity allocation', () => {
  const layers = [
    { id: 'conv1', shape: [5, 5, 1, 6], n: 150 },
    { id: 'conv3', shape: [5, 5, 16, 120], n: 48000 },
    { id: 'fc2', shape: [84, 10], n: 840 },
  ].map((l) => ({
    id: l.id,
    shape: l.shape,
    absValues: Float32Array.from({ length: l.n }, (_, i) => ((i * 7919) % l.n) / l.n),
  }));
  const mean = (s: Map<string, number>) =>
    layers.reduce((a, l) => a + s.get(l.id)! * l.absValues.length, 0) / 48990;

  it.each(['erk', 'std', 'uniform'] as const)(
    '%s removes the target fraction overall',
    (allocation) => {
      const s = layerSparsities(layers, 0.9, allocation, new Map());
      expect(mean(s)).toBeCloseTo(0.9, 3);
      if (allocation === 'erk') {
        // The big conv takes most of the pruning; the small first conv and classifier stay denser.
        expect(s.get('conv3')!).toBeGreaterThan(0.9);
        expect(s.get('conv1')!).toBeLessThan(s.get('fc2')! + 1e-9);
        expect(s.get('fc2')!).toBeLessThan(0.5);
      }
    },
  );

  it('a per-layer ratio is kept and the others make up the target', () => {
    const s = layerSparsities(layers, 0.9, 'uniform', new Map([['conv1', 0.5]]));
    expect(s.get('conv1')).toBe(0.5);
    expect(s.get('conv3')).toBe(s.get('fc2'));
    expect(mean(s)).toBeCloseTo(0.9, 6);
  });
});

describe('magnitude-prune', () => {
  it('reaches the sparsity, pruned weights stay exactly zero while retraining, retraining recovers accuracy', async () => {
    const { result, student, events } = await run(
      'magnitude-prune',
      { rounds: 2, evalEvery: 1000 },
      60,
    );
    // Every layer ends with exactly the zeros its last pruning made: none grew back.
    const pruned = events.filter(
      (e): e is Extract<RunEvent, { kind: 'layers' }> =>
        e.kind === 'layers' && e.key === 'sparsity',
    );
    expect(pruned.map((e) => e.step)).toEqual([0, 30]);
    const after = await zeros(student);
    const sizes = prunableLayers(student).map((l) => l.kernel.size);
    pruned.at(-1)!.labels.forEach((id, i) => {
      expect(after.get(id)).toBe(Math.round(pruned.at(-1)!.values[i] * sizes[i]));
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    const zeroCount = [...after.values()].reduce((a, b) => a + b, 0);
    expect(zeroCount / total).toBeCloseTo(0.9, 3);
    expect(result.metrics.sparsity).toBeCloseTo(0.9, 3);
    // Accuracy curve: before pruning, after each pruning, after each retraining.
    const acc = scalars(events, 'accuracy/test');
    expect(acc.map((e) => e.step)).toEqual([0, 0, 30, 30, 60]);
    expect(acc.at(-1)!.value).toBeGreaterThanOrEqual(result.metrics['accuracy/before-retrain']);
    expect(acc.at(-1)!.value).toBeGreaterThan(0.9);
    const encoded = await encodeModel(student, { huffman: false });
    expect(result.metrics['encoded-bytes']).toBe(encoded.bytes.length);
    expect(result.metrics['nonzero-params']).toBe(encoded.nonZeros);
    disposeGraph(student);
  });
});

describe('kmeans-share', () => {
  it('∂L/∂c_k is the sum of the gradients of the weights assigned to c_k', async () => {
    const g = teacher;
    const sharing = await WeightSharing.create(g, 3, 'linear', new Rng(2));
    const batch = batches(test, { ...inputOptions(g, test), batchSize: 16 }).next().value!;
    const [centroids] = sharing.variables(g);
    // The gradient through the codebook, and the gradient of the loss at the shared weights.
    const viaCodebook = tf.variableGrads(() => {
      const overrides = sharing.overrides();
      return crossEntropy(forward(g, batch.x, { weightOverrides: overrides }).output, batch.y);
    }, [centroids]).grads[centroids.name];
    const all = sharing.overrides();
    const shared = all.get('conv1')!.kernel;
    const kernelGrad = tf.grad((w: tf.Tensor) =>
      crossEntropy(
        forward(g, batch.x, { weightOverrides: new Map([...all, ['conv1', { kernel: w }]]) })
          .output,
        batch.y,
      ),
    )(shared);
    // Each weight's cluster, read back from its shared value.
    const codebook = Array.from(await centroids.data());
    const values = await shared.data();
    const perCluster = new Float64Array(centroids.size);
    const gw = await kernelGrad.data();
    values.forEach((v, i) => (perCluster[codebook.indexOf(v)] += gw[i]));
    const got = await viaCodebook.data();
    perCluster.forEach((v, k) => expect(got[k]).toBeCloseTo(v, 5));
    expect(Math.max(...got.map(Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([
      batch.x,
      batch.y,
      viaCodebook,
      kernelGrad,
      ...[...all.values()].map((o) => o.kernel),
    ]);
    sharing.dispose();
  });

  it('leaves at most 2^bits distinct values per layer, zeros of a pruned layer among them', async () => {
    const { result, student } = await run('kmeans-share', { bits: 3, evalEvery: 1000 }, 20);
    for (const t of await readTensors(student)) {
      if (t.indexBits !== undefined) expect(new Set(t.values).size).toBeLessThanOrEqual(8);
    }
    expect(result.metrics.bits).toBe(3);
    expect(result.student.accuracy).toBeGreaterThan(0.9);
    expect(result.metrics['encoded-bytes']).toBe(
      (await encodeModel(student, { huffman: false })).bytes.length,
    );
    disposeGraph(student);
  });
});

describe('deep-compression', () => {
  it('reports real encoded bytes, > 10× smaller at the default sparsity, with a flat tensor count', async () => {
    const before = tf.memory().numTensors;
    const { result, student, events, tensors } = await run(
      'deep-compression',
      { rounds: 2, evalEvery: 1000 },
      60,
      true,
    );
    const coded = await encodeModel(student, { huffman: true });
    expect(result.metrics['encoded-bytes']).toBe(coded.bytes.length);
    expect(result.metrics['compression-ratio']).toBeCloseTo(246824 / coded.bytes.length, 9);
    expect(result.metrics['compression-ratio']).toBeGreaterThan(10);
    expect(result.metrics['accuracy/decoded']).toBe(result.metrics['accuracy/shared']);
    expect(result.metrics['accuracy/decoded']).toBe(result.student.accuracy);
    const stages = events.find((e) => e.kind === 'table' && e.key === 'stages') as Extract<
      RunEvent,
      { kind: 'table' }
    >;
    expect(stages.rows).toHaveLength(4);
    expect(stages.rows[3][3]).toBe(coded.bytes.length);
    // Each stage is smaller than the one before.
    const bytes = stages.rows.map((r) => r[3] as number);
    expect(bytes).toEqual([...bytes].sort((a, b) => b - a));
    const storage = events.find((e) => e.kind === 'table' && e.key === 'storage') as Extract<
      RunEvent,
      { kind: 'table' }
    >;
    expect(storage.rows.at(-1)!.at(-1)).toBe(coded.bytes.length);
    // Within each stage the tensor count stays flat from its second step on.
    for (const phase of ['prune', 'share']) {
      const counts = tensors.filter((t) => t.phase === phase).map((t) => t.count);
      expect(counts.length).toBeGreaterThan(10);
      expect(new Set(counts.slice(1)).size).toBe(1);
    }
    // The sparsity and the shared values survive into the final student.
    expect(nodeById(student, 'conv3').weights.kernel.size).toBe(48000);
    disposeGraph(student);
    expect(tf.memory().numTensors).toBe(before);
  });
});
