/**
 * The measurements of `clab bench`, one task at a time, on whatever backend is active: the same
 * code times them in Node and in the page's bench worker (src/bench), so the two are comparable.
 */
import { disposeGraph, graphStats } from '../graph';
import { defaultParams } from '../methods/params';
import { dafl, timeDaflStep } from '../methods/dafl';
import { timeInference, timeTrainingStep } from '../metrics';
import type { WarmUp } from '../runtime/timing';
import { buildArchitecture } from '../zoo';

/** The networks whose steps are timed, on MNIST's input. */
export const BENCH_NETWORKS = [
  { id: 'lenet5', title: 'LeNet-5' },
  { id: 'bnnet', title: 'BN-VGG' },
] as const;
export type BenchNetwork = (typeof BENCH_NETWORKS)[number]['id'];

/** Batch of the training steps and inference passes (the LeNet-5 batch-64 Adam step). */
export const BENCH_BATCH = 64;

export type BenchTask =
  /** One Adam step (softmax cross-entropy on random labels), or one forward pass, batch 64. */
  | ({ kind: 'train' | 'infer'; network: BenchNetwork; steps: number } & WarmUp)
  /**
   * One DAFL iteration, LeNet-5 → LeNet-5-half: the paper's generator (width 128) at batch 128,
   * or the method's defaults.
   */
  | { kind: 'dafl'; generator: 'paper' | 'default'; steps: number; warmup: number };

/** What a DAFL task's generator setting means, in words. */
export function daflSetting(generator: 'paper' | 'default'): string {
  const d = defaultParams(dafl.params);
  return generator === 'paper'
    ? 'paper generator (width 128), batch 128'
    : `default generator (width ${d.generatorWidth}), batch ${d.batchSize}`;
}

export interface BenchTiming {
  /** Median ms of the timed repetitions. */
  ms: number;
  samples: number;
  /** Achieved GFLOP/s (train: 6 × forward multiply-adds per image; infer: 2 ×); not for DAFL. */
  gflops?: number;
}

export async function runBenchTask(task: BenchTask): Promise<BenchTiming> {
  if (task.kind === 'dafl') {
    // Random weights: the step's arithmetic does not depend on what the teacher learnt.
    const teacher = buildArchitecture('lenet5', 'mnist', 1);
    const student = buildArchitecture('lenet5-half', 'mnist', 1);
    const defaults = defaultParams(dafl.params);
    const p =
      task.generator === 'paper'
        ? { ...defaults, ...dafl.presets!.paper.params, batchSize: 128 }
        : defaults;
    try {
      const t = await timeDaflStep(teacher, student, p as typeof defaults, task);
      return { ms: t.median, samples: t.samples.length };
    } finally {
      disposeGraph(teacher);
      disposeGraph(student);
    }
  }
  const g = buildArchitecture(task.network, 'mnist', 1);
  try {
    const opts = { batchSize: BENCH_BATCH, warmup: task.warmup, warmupMs: task.warmupMs };
    const t =
      task.kind === 'train'
        ? await timeTrainingStep(g, { ...opts, steps: task.steps })
        : await timeInference(g, { ...opts, repeats: task.steps });
    const flops = (task.kind === 'train' ? 6 : 2) * graphStats(g).flops * BENCH_BATCH;
    return { ms: t.median, samples: t.samples.length, gflops: flops / t.median / 1e6 };
  } finally {
    disposeGraph(g);
  }
}
