// The classic methods go on from a checkpoint: a run stopped mid-way (its student and the state
// it named, as the worker keeps them) is resumed, and what the method had made before the stop
// (masks, targets, codebooks, shadow weights, a rebuilt or narrower network) holds to the end.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../../data';
import { disposeGraph, layerIds, nodeById, type Graph } from '../../graph';
import { initBackend, type BackendInfo } from '../../runtime/backend';
import { loadTeacher } from '../../zoo';
import { methodById } from '../registry';
import { executeRun, type RunRequest } from '../runner';
import { stopAt } from '../stop-at';
import type { RunEvent } from '../types';
import { kernelName } from '../../compress/obd';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let lenet: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  lenet = await loadTeacher('lenet5-mnist');
});

const request = (method: string, params: Record<string, unknown>, steps: number): RunRequest => ({
  method: methodById(method)!,
  params: method === 'sensitivity' ? params : { batchSize: 16, evalEvery: 100, ...params },
  teacher: lenet,
  train,
  test,
  seed: 3,
  steps,
  testExamples: 200,
  backend,
});

/** Each conv and dense kernel's values, by layer. */
const kernels = (g: Graph) =>
  layerIds(g).map((id) => {
    const node = nodeById(g, id);
    return Array.from(node.weights[kernelName(node)].dataSync());
  });
const zerosOf = (values: number[]) => values.flatMap((v, i) => (v === 0 ? [i] : []));

/**
 * The run stopped once step `at` is done (every step reported, as in step mode), then resumed
 * from the student and state it stopped with (and stopped again at `stopResumedAt`, if given).
 */
async function stopAndResume(req: RunRequest, at: number, stopResumedAt = Infinity) {
  const stopped = await stopAt(req, at);
  expect(stopped.result.stoppedAtStep).toBe(at);
  const atStop = kernels(stopped.student);
  const resumed = await stopAt(
    { ...req, fromCheckpoint: { step: at, student: stopped.student, state: stopped.state } },
    stopResumedAt,
  );
  const steps = resumed.events.flatMap((e) => ('step' in e ? [e.step] : []));
  expect(Math.min(...steps)).toBeGreaterThan(at);
  expect(resumed.result.resumedFrom).toBe(at);
  return { atStop, stoppedState: stopped.state, ...resumed };
}

/** The distinct values of each kernel. */
const distinct = (g: Graph) => kernels(g).map((k) => new Set(k).size);

describe('classic methods resume from a checkpoint', () => {
  it('magnitude pruning: the checkpoint’s zeros stay pruned, and later rounds reach the targets measured before the stop', async () => {
    // 3 rounds over 12 steps (pruning at 0, 4, 8), Han et al.'s per-layer thresholds: the
    // targets depend on the unpruned weights, so they must come from the checkpoint.
    const req = () => request('magnitude-prune', { sparsity: 0.8, allocation: 'std' }, 12);
    const whole = await executeRun(req(), () => {});
    const wholeZeros = kernels(whole.student).map((k) => zerosOf(k).length);
    disposeGraph(whole.student);

    const early = await stopAndResume(req(), 6);
    expect(early.stoppedState?.tensors.map((t) => t.name)).toEqual(['prune-targets']);
    expect(kernels(early.student).map((k) => zerosOf(k).length)).toEqual(wholeZeros);
    disposeGraph(early.student);

    const late = await stopAndResume(req(), 10);
    const end = kernels(late.student);
    for (const [layer, values] of late.atStop.entries()) {
      expect(zerosOf(values).filter((i) => end[layer][i] !== 0)).toEqual([]);
    }
    expect(late.result.metrics['accuracy/before-retrain']).toBeUndefined();
    disposeGraph(late.student);
  });

  it('Optimal Brain Damage: the deleted weights stay deleted through the rest of the round', async () => {
    const { atStop, student, result } = await stopAndResume(
      request('obd', { sparsity: 0.6, rounds: 2, hessianExamples: 64 }, 8),
      6,
    );
    const end = kernels(student);
    for (const [layer, values] of atStop.entries()) {
      expect(zerosOf(values).filter((i) => end[layer][i] !== 0)).toEqual([]);
    }
    expect(result.metrics['kernel-sparsity']).toBeCloseTo(0.6, 2);
    disposeGraph(student);
  });

  it('k-means sharing and Deep Compression: the fine-tune goes on from the checkpoint’s shared values', async () => {
    const share = await stopAndResume(request('kmeans-share', { bits: 2 }, 8), 4);
    // Every layer still holds at most 2^bits values, each near one it held at the stop.
    expect(distinct(share.student).every((n) => n <= 4)).toBe(true);
    const near = (a: number[], b: number[]) =>
      [...new Set(a)].every((v) => [...new Set(b)].some((w) => Math.abs(v - w) < 0.02));
    const end = kernels(share.student);
    expect(share.atStop.every((k, i) => near(end[i], k))).toBe(true);
    disposeGraph(share.student);

    const deep = await stopAndResume(
      request('deep-compression', { bits: 2, sparsity: 0.8, rounds: 2, pruneSteps: 0.5 }, 12),
      9,
    );
    const deepEnd = kernels(deep.student);
    for (const [layer, values] of deep.atStop.entries()) {
      expect(zerosOf(values).filter((i) => deepEnd[layer][i] !== 0)).toEqual([]);
    }
    expect(distinct(deep.student).every((n) => n <= 4)).toBe(true);
    // The stages before the checkpoint were measured by the first attempt, not this one.
    expect(deep.result.metrics['accuracy/dense']).toBeUndefined();
    expect(deep.result.metrics['accuracy/decoded']).toBeGreaterThan(0);
    disposeGraph(deep.student);
  });

  it('quantization-aware training goes on from the checkpoint’s float shadow weights', async () => {
    const req = request('uniform-quant', { mode: 'qat', bits: 2, learningRate: 1e-3 }, 8);
    // Stopped at 4, resumed and stopped again after one more step: one Adam step (≤ its step
    // size) away from the shadows at 4, not the 2-bit kernels a run without them would restart from.
    const { stoppedState, state, student } = await stopAndResume(req, 4, 5);
    const at4 = new Float32Array(stoppedState!.data);
    const at5 = new Float32Array(state!.data);
    expect(stoppedState!.tensors.map((t) => t.name)).toEqual(state!.tensors.map((t) => t.name));
    let moved = 0;
    for (let i = 0; i < at4.length; i++) moved = Math.max(moved, Math.abs(at5[i] - at4[i]));
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(1.5e-3);
    disposeGraph(student);

    // A checkpoint without them is refused, naming what it lacks.
    const again = await stopAt(req, 4);
    await expect(
      executeRun({ ...req, fromCheckpoint: { step: 4, student: again.student } }, () => {}),
    ).rejects.toThrow('The checkpoint at step 4 holds no float shadow weights');
  });

  it('BinaryConnect and fixed point keep their weights binary and on the grid', async () => {
    const binary = await stopAndResume(request('binary-connect', { scale: 'mean-abs' }, 8), 4);
    expect(distinct(binary.student).every((n) => n <= 2)).toBe(true);
    disposeGraph(binary.student);

    const fixed = await stopAndResume(
      request('fixed-point', { wordLength: 8, integerBits: 2 }, 8),
      4,
    );
    const eps = 2 ** -6;
    expect(
      kernels(fixed.student)
        .flat()
        .every((v) => Number.isInteger(v / eps)),
    ).toBe(true);
    disposeGraph(fixed.student);
  });

  it('the rebuilt students (structured, factorised, channel-pruned) go on training as they were rebuilt', async () => {
    const ops = (g: Graph) => g.nodes.map((n) => n.op).join();
    const shapes = (g: Graph) => kernels(g).map((k) => k.length);
    for (const [method, params] of [
      ['structured', { replace: 'both' }],
      ['lowrank-svd', { rankRatio: 0.3 }],
      ['channel-prune', { flopsReduction: 0.5, latencyBatch: 8 }],
    ] as const) {
      const stopped = await stopAt(request(method, params, 8), 4);
      // The stopped run's student is the network being trained, not the teacher's copy.
      expect(
        ops(stopped.student) !== ops(lenet) ||
          shapes(stopped.student).join() !== shapes(lenet).join(),
      ).toBe(true);
      const layout = [ops(stopped.student), shapes(stopped.student).join()];
      const events: RunEvent[] = [];
      const resumed = await executeRun(
        { ...request(method, params, 8), fromCheckpoint: { step: 4, student: stopped.student } },
        (e) => events.push(e),
      );
      expect([ops(resumed.student), shapes(resumed.student).join()]).toEqual(layout);
      expect(resumed.result).toMatchObject({ status: 'done', resumedFrom: 4 });
      expect(Math.min(...events.flatMap((e) => ('step' in e ? [e.step] : [])))).toBeGreaterThan(4);
      disposeGraph(resumed.student);
    }
  });

  it('the sensitivity scan measures only what its checkpoint lacks, and ends with the whole table', async () => {
    const req = request('sensitivity', { mode: 'prune' }, 45);
    const whole = await executeRun(req, () => {});
    disposeGraph(whole.student);
    // Stopped after 12 of LeNet-5's 5 layers × 9 ratios: the second layer part-scanned.
    const { events, result, student } = await stopAndResume(req, 12);
    const progress = events.flatMap((e) => (e.kind === 'progress' ? [e.step] : []));
    expect(progress).toEqual(Array.from({ length: 33 }, (_, i) => 13 + i));
    // A checkpoint is offered after each layer scanned in this attempt.
    expect(events.flatMap((e) => (e.kind === 'checkpoint' ? [e.step] : []))).toEqual([
      18, 27, 36, 45,
    ]);
    // The same measurements as the uninterrupted scan: those before the stop came from the checkpoint.
    // (as float32, the checkpoint's precision)
    expect(Object.keys(result.metrics)).toEqual(Object.keys(whole.result.metrics));
    for (const [key, value] of Object.entries(whole.result.metrics)) {
      expect(result.metrics[key]).toBeCloseTo(value, 6);
    }
    disposeGraph(student);
  });

  it('keeps the tensor count flat over a stop and a resume', async () => {
    const req = request('uniform-quant', { mode: 'qat', bits: 2 }, 6);
    await stopAndResume(req, 3).then((r) => disposeGraph(r.student));
    const before = tf.memory().numTensors;
    await stopAndResume(req, 3).then((r) => disposeGraph(r.student));
    expect(tf.memory().numTensors).toBe(before);
  });
});
