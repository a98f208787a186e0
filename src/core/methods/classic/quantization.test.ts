import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerKernels, toFixedPoint } from '../../compress/quantizers';
import { batches, loadDataset, type Dataset } from '../../data';
import { disposeGraph, forward, trainableVariables, type Graph } from '../../graph';
import { inputOptions } from '../../metrics';
import { initBackend, type BackendInfo } from '../../runtime/backend';
import { buildArchitecture, loadTeacher } from '../../zoo';
import { methodById } from '../registry';
import { executeRun } from '../runner';
import { crossEntropy } from '../train';
import type { RunEvent } from '../types';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let teacher: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  teacher = await loadTeacher('lenet5-mnist');
});

/** Runs a method on a copy of `from`, collecting its events. */
async function execute(
  method: string,
  params: Record<string, unknown>,
  steps: number,
  from = teacher,
) {
  const events: RunEvent[] = [];
  const out = await executeRun(
    {
      method: methodById(method)!,
      params: { evalEvery: 1000, ...params },
      teacher: from,
      student: 'copy',
      train,
      test,
      seed: 5,
      steps,
      testExamples: 500,
      backend,
    },
    (e) => events.push(e),
  );
  return { ...out, events };
}

/** execute, checking that the run leaves no tensor behind but its student. */
async function run(method: string, params: Record<string, unknown>, steps: number) {
  const before = tf.memory().numTensors;
  const out = await execute(method, params, steps);
  const { events } = out;
  const kernels = await Promise.all(layerKernels(out.student).map((k) => k.kernel.data()));
  const params0 = trainableVariables(out.student).reduce((s, v) => s + v.size, 0);
  disposeGraph(out.student);
  expect(tf.memory().numTensors).toBe(before);
  const accuracies = events.filter(
    (e): e is Extract<RunEvent, { kind: 'scalar' }> =>
      e.kind === 'scalar' && e.key === 'accuracy/test',
  );
  return { ...out, events, kernels, params: params0, accuracies };
}

const levels = (values: ArrayLike<number>) => new Set(Array.from(values)).size;

describe('uniform-quant', () => {
  it('post-training 8-bit: ≤ 256 levels per kernel, packed bytes ≈ ¼ of float32, accuracy kept', async () => {
    const r = await run('uniform-quant', { bits: 8, mode: 'post-training' }, 10);
    for (const k of r.kernels) expect(levels(k)).toBeLessThanOrEqual(256);
    const bytes = r.result.metrics['encoded-bytes'];
    expect(bytes).toBeGreaterThan((4 * r.params) / 4.2);
    expect(bytes).toBeLessThan((4 * r.params) / 3.5);
    expect(r.result.metrics.bits).toBe(8);
    expect(r.result.student.accuracy).toBeGreaterThan(r.result.teacher.accuracy - 0.01);
    // Before compression, then right after it, both at step 0; no training steps.
    expect(r.accuracies.map((a) => a.step)).toEqual([0, 0]);
    expect(r.events.some((e) => e.kind === 'log' && /unused/.test(e.message))).toBe(true);
  });

  it('QAT 2-bit per-channel trains the shadows and stores ≤ 4 levels per output channel', async () => {
    const r = await run(
      'uniform-quant',
      { bits: 2, granularity: 'per-channel', mode: 'qat', learningRate: 1e-3 },
      40,
    );
    const last = layerKernels(teacher).at(-1)!.kernel;
    const channels = last.shape.at(-1)!;
    const k = r.kernels.at(-1)!;
    for (let c = 0; c < channels; c++) {
      expect(levels(k.filter((_, i) => i % channels === c))).toBeLessThanOrEqual(4);
    }
    expect(levels(k)).toBeGreaterThan(4); // per channel, not one grid
    expect(r.events.some((e) => e.kind === 'scalar' && e.key === 'loss')).toBe(true);
    expect(r.result.metrics['encoded-bytes']).toBeLessThan((4 * r.params) / 12);
    // The fine-tune recovers from the one-shot 2-bit drop (3 bits per channel barely drop LeNet-5:
    // 0.99 before and after on these 500 test images).
    expect(r.accuracies.at(-1)!.value).toBeGreaterThan(r.result.metrics['accuracy/before-retrain']);
  });
});

describe('binary-connect', () => {
  it('stores ±scale kernels (1 bit each) and trains the binary net well above its one-shot accuracy', async () => {
    const r = await run('binary-connect', { learningRate: 1e-3 }, 60);
    for (const k of r.kernels) {
      const values = [...new Set(Array.from(k))].sort((a, b) => a - b);
      expect(values).toHaveLength(2);
      expect(values[0]).toBe(-values[1]);
    }
    expect(r.result.metrics['encoded-bytes']).toBeLessThan((4 * r.params) / 20);
    expect(r.result.metrics['accuracy/before-retrain']).toBeLessThan(0.9);
    expect(r.result.student.accuracy).toBeGreaterThan(0.9);
  });
});

describe('fixed-point (Gupta et al. 2015)', () => {
  /** Cross-entropy of a network on a fixed training batch. */
  function batchLoss(g: Graph): number {
    const batch = batches(train, { ...inputOptions(g, train), batchSize: 512 }).next().value!;
    const loss = tf.tidy(() => crossEntropy(forward(g, batch.x).output, batch.y).dataSync()[0]);
    tf.dispose([batch.x, batch.y]);
    return loss;
  }

  it('with updates below half the resolution, stochastic rounding trains and round-to-nearest stalls', async () => {
    // An untrained LeNet-5 in ⟨2, 8⟩ (ε = 2^−8 ≈ 0.0039); Adam moves each weight by ≈ lr = ε/8.
    const untrained = buildArchitecture('lenet5', 'mnist', 21);
    const format = { integerBits: 2, fractionalBits: 8 };
    const converted = tf.tidy(() =>
      trainableVariables(untrained).map((v) => toFixedPoint(v, format, 'nearest')),
    );
    const start = await Promise.all(converted.map((t) => t.data()));
    const common = { wordLength: 10, integerBits: 2, learningRate: 2 ** -11 };
    const nearest = await execute('fixed-point', { ...common, rounding: 'nearest' }, 40, untrained);
    const after = await Promise.all(trainableVariables(nearest.student).map((v) => v.data()));
    after.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(start[i])));
    const stochastic = await execute(
      'fixed-point',
      { ...common, rounding: 'stochastic' },
      40,
      untrained,
    );
    const base = batchLoss(nearest.student);
    expect(batchLoss(stochastic.student)).toBeLessThan(base - 0.1);
    expect(stochastic.result.metrics['encoded-bytes']).toBeLessThan(
      (4 * trainableVariables(untrained).reduce((s, v) => s + v.size, 0)) / 3,
    );
    tf.dispose(converted);
    [untrained, nearest.student, stochastic.student].forEach(disposeGraph);
  });
});
