import { describe, expect, it } from 'vitest';
import {
  availableCosts,
  comparisonRows,
  costPoints,
  latencyBackends,
  latencyCosts,
  paretoFront,
  sharedKeys,
  testSetMismatch,
} from './compare';
import { CONFIG } from './fixtures';
import { newRun, withLatency, type RunRecord } from './runs';

function finished(id: string, method: string, accuracy: number, bytes: number, extra = {}) {
  const run: RunRecord = {
    ...newRun(id, { ...CONFIG, method, ...extra }, method.toUpperCase(), 0),
    status: 'done',
  };
  const summary = (acc: number, b: number) => ({
    name: 'n',
    accuracy: acc,
    params: b / 4,
    flops: b * 10,
    bytes: b,
  });
  run.result = {
    method,
    params: {},
    seed: 1,
    steps: 100,
    dataset: 'mnist',
    backend: 'wasm',
    status: 'done',
    wallTimeMs: 1000,
    teacher: summary(0.99, 400),
    student: summary(accuracy, bytes),
    compressionRatio: 400 / bytes,
    metrics: method === 'cd' ? { 'quantized-bytes': bytes / 8 } : {},
  };
  return run;
}

describe('comparison', () => {
  it('makes one row per run, telling alike runs apart and flagging different test sets', () => {
    const runs = [
      finished('a', 'kd', 0.9, 100),
      finished('b', 'kd', 0.8, 100),
      finished('c', 'cd', 0.95, 200),
    ];
    const rows = comparisonRows(runs);
    expect(rows.map((r) => r.label)).toEqual(['KD · seed 1 (1)', 'KD · seed 1 (2)', 'CD · seed 1']);
    expect(rows[2]).toMatchObject({
      accuracy: 0.95,
      bytes: 200,
      encodedBytes: 25,
      testSet: 'all mnist',
    });
    expect(testSetMismatch(rows)).toBeUndefined();
    const subset = comparisonRows([runs[0], finished('d', 'kd', 0.9, 50, { testExamples: 500 })]);
    expect(testSetMismatch(subset)).toMatch(/different test sets \(all mnist; first 500 mnist\)/);
    // What was varied tells runs of one method apart.
    const warm = finished('f', 'kd', 0.9, 50, { params: { temperature: 1, batchSize: 64 } });
    expect(comparisonRows([runs[0], warm, runs[2]]).map((r) => r.label)).toEqual([
      'KD · temperature=4 · seed 1',
      'KD · temperature=1 · seed 1',
      'CD · seed 1',
    ]);
    const shots = comparisonRows([finished('e', 'kd', 0.9, 50, { shots: 'images:1' })]);
    expect(shots[0]).toMatchObject({ agreement: true, testSet: 'teacher agreement' });
  });

  it('finds the Pareto front: no run on it is beaten on both accuracy and cost', () => {
    const points = [
      { id: 'cheap-bad', cost: 10, accuracy: 0.5 },
      { id: 'dominated', cost: 30, accuracy: 0.6 },
      { id: 'mid', cost: 20, accuracy: 0.8 },
      { id: 'tie-cost-worse', cost: 20, accuracy: 0.7 },
      { id: 'best', cost: 40, accuracy: 0.9 },
    ];
    expect(paretoFront(points).map((p) => p.id)).toEqual(['cheap-bad', 'mid', 'best']);
    const rows = comparisonRows([finished('a', 'kd', 0.9, 100), finished('c', 'cd', 0.95, 200)]);
    expect(costPoints(rows, 'bytes')).toEqual([
      { id: 'a', cost: 100, accuracy: 0.9 },
      { id: 'c', cost: 200, accuracy: 0.95 },
    ]);
    // Only one run has encoded bytes: not a cost to compare on.
    expect(availableCosts(rows)).toEqual(['bytes', 'flops', 'params']);
  });

  it('offers latency as a cost per backend, only once every plotted run was timed there', () => {
    const timed = (run: RunRecord, backend: 'wasm' | 'webgpu', batch1Ms: number) => ({
      ...run,
      hasStudent: true,
      latency: withLatency(run.latency, { backend, batch1Ms, perImageMs: batch1Ms / 10 }, 5),
    });
    const a = finished('a', 'kd', 0.9, 100);
    const c = finished('c', 'cd', 0.95, 200);
    expect(latencyCosts(comparisonRows([a, c]))).toEqual([
      { title: 'latency (ms, batch 1)', missing: ['KD · seed 1', 'CD · seed 1'] },
    ]);
    const rows = comparisonRows([timed(timed(a, 'wasm', 2), 'webgpu', 1), timed(c, 'wasm', 3)]);
    expect(rows[0].latency.wasm).toEqual({ batch1Ms: 2, perImageMs: 0.2, at: 5 });
    expect(latencyBackends(rows)).toEqual(['webgpu', 'wasm']);
    expect(latencyCosts(rows)).toEqual([
      { cost: 'latency:webgpu', title: 'latency (ms, batch 1, webgpu)', missing: ['CD · seed 1'] },
      { cost: 'latency:wasm', title: 'latency (ms, batch 1, wasm)', missing: [] },
    ]);
    expect(costPoints(rows, 'latency:wasm')).toEqual([
      { id: 'a', cost: 2, accuracy: 0.9 },
      { id: 'c', cost: 3, accuracy: 0.95 },
    ]);
    // A run without a stored student says why it has no latency.
    expect(comparisonRows([a])[0].noLatency).toBe('it has no stored student');
  });

  it('shares the keys at least two runs have', () => {
    expect(sharedKeys([{ a: 1, b: 1 }, { b: 2, c: 2 }, { c: 3 }])).toEqual(['b', 'c']);
  });
});
