import type { Dataset } from '../data';
import { disposeGraph, type Graph } from '../graph';
import type { BackendInfo } from '../runtime/backend';
import { executeRun } from '../methods/runner';
import type { AnyMethodSpec, RunEvent } from '../methods/types';
import { expandSweep, type SweepCell, type SweepConfig, type SweepRun } from './plan';

export interface SweepInputs {
  methods: readonly AnyMethodSpec[];
  teacher: Graph;
  train: Dataset;
  test: Dataset;
  backend: BackendInfo;
}

/** Runs every cell in turn; yields after each run so callers can report progress or stop. */
export async function* runSweep(
  config: SweepConfig,
  inputs: SweepInputs,
  onEvent?: (cell: SweepCell, e: RunEvent) => void,
): AsyncGenerator<{ index: number; total: number; run: SweepRun }, SweepRun[]> {
  const cells = expandSweep(config, inputs.methods);
  const runs: SweepRun[] = [];
  for (const [index, cell] of cells.entries()) {
    const estimationErrors: Record<string, { labels: string[]; values: number[] }> = {};
    const { result, student } = await executeRun(
      {
        method: inputs.methods.find((m) => m.id === cell.method)!,
        params: cell.params,
        teacher: inputs.teacher,
        student: config.student,
        train: inputs.train,
        test: inputs.test,
        seed: cell.seed,
        steps: config.steps,
        testExamples: config.testExamples,
        backend: inputs.backend,
      },
      (e) => {
        if (e.kind === 'layers' && e.key.startsWith('estimation-error/'))
          estimationErrors[e.key] = { labels: e.labels, values: e.values };
        onEvent?.(cell, e);
      },
    );
    disposeGraph(student);
    const run = { cell, result, estimationErrors };
    runs.push(run);
    yield { index, total: cells.length, run };
  }
  return runs;
}
