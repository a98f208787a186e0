import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../data';
import { disposeGraph, graphStats, nodeById, type Graph } from '../graph';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { loadTeacher } from '../zoo';
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

const run = async (params: Record<string, unknown>) => {
  const events: RunEvent[] = [];
  // What a checkpoint would hold: the network the method says it trains.
  const training: (Graph | undefined)[] = [];
  const out = await executeRun(
    {
      method: methodById('prune-from-scratch')!,
      params: { gateSteps: 30, gateLearningRate: 0.05, batchSize: 32, ...params },
      teacher,
      train,
      test,
      seed: 1,
      steps: 50,
      testExamples: 500,
      backend,
    },
    (e) => events.push(e),
    { onStudent: (g) => training.push(g) },
  );
  const scalars = (key: string) =>
    events.flatMap((e) => (e.kind === 'scalar' && e.key === key ? [e.value] : []));
  return { ...out, scalars, training };
};

describe('pruning from scratch', () => {
  it('learns gates towards the target mean, then trains a physically pruned net within the FLOPs budget', async () => {
    const budget = 0.7 * graphStats(teacher).flops;
    for (const from of ['scratch', 'pretrained']) {
      const { result, student, scalars, training } = await run({ from, prunedRatio: 0.3 });
      // No checkpoint while gates learn; from the pruned network's training on, that network.
      expect(training.slice(1)).toEqual([undefined, student]);
      // The regulariser pulls the mean gate from its start at 1 towards r = 0.2.
      expect(scalars('gates/loss/meanGate').at(-1)!).toBeLessThan(0.99);
      expect(student.nodes.some((n) => n.op === 'channelGate')).toBe(false);
      expect(result.student.flops).toBeLessThanOrEqual(budget);
      expect(result.student.flops).toBeGreaterThan(0.6 * graphStats(teacher).flops);
      expect(result.metrics['flops-ratio']).toBeCloseTo(
        result.student.flops / result.teacher.flops,
        6,
      );
      const filters = (g: Graph) => {
        const n = nodeById(g, 'conv5');
        return n.op === 'conv2d' ? n.attrs.filters : 0;
      };
      expect(filters(student)).toBeLessThan(filters(teacher) * (from === 'scratch' ? 1.25 : 1));
      // Pretrained weights fine-tuned for a few steps keep most of the teacher's accuracy.
      if (from === 'pretrained') expect(result.student.accuracy).toBeGreaterThan(0.5);
      disposeGraph(student);
    }
  }, 120_000);
});
