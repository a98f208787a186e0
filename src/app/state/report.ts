// The run report that leaves beside a downloaded student: what ran (configuration, seed), what
// came out (the result and its metrics) and a per-layer table, as JSON a script can read.
import {
  recipeFromConfig,
  describeResume,
  type Recipe,
  type ResumedRun,
} from '../../core/experiments/recipe';
import type { ModelStats, RunConfig, RunResult } from '../../worker/protocol';
import { configWithChanges, type RunRecord } from './runs';

export interface ReportLayer {
  layer: string;
  op: string;
  /** Output shape of one example. */
  output: number[];
  teacherParams?: number;
  studentParams: number;
  studentFlops: number;
  /** The result's per-layer metrics ('sparsity/conv1' → sparsity), by name. */
  metrics: Record<string, number>;
}

export interface RunReport {
  run: string;
  method: string;
  status: string;
  createdAt: string;
  teacher: string;
  config: RunConfig;
  /** The configuration as a recipe (`npx clab run --recipe` and "Load recipe…" read this file). */
  recipe: Recipe;
  /** The run was resumed from a checkpoint: it cannot be reproduced bit for bit. */
  resumed?: ResumedRun;
  seed: number;
  result?: RunResult;
  layers: ReportLayer[];
}

/** Per-layer metrics ('estimation-error/conv2') grouped by layer; the others stay in the result. */
function metricsByLayer(metrics: Record<string, number>): Map<string, Record<string, number>> {
  const byLayer = new Map<string, Record<string, number>>();
  for (const [key, value] of Object.entries(metrics)) {
    const slash = key.lastIndexOf('/');
    if (slash < 0) continue;
    const layer = key.slice(slash + 1);
    byLayer.set(layer, { ...byLayer.get(layer), [key.slice(0, slash)]: value });
  }
  return byLayer;
}

function layerRows(
  models: { teacher: ModelStats; student: ModelStats } | undefined,
  metrics: Record<string, number>,
): ReportLayer[] {
  if (!models) return [];
  const byLayer = metricsByLayer(metrics);
  const teacherParams = new Map(models.teacher.nodes.map((n) => [n.id, n.params]));
  return models.student.nodes
    .filter((n) => n.params > 0 || byLayer.has(n.id))
    .map((n) => ({
      layer: n.id,
      op: n.op,
      output: n.outputShape,
      teacherParams: teacherParams.get(n.id),
      studentParams: n.params,
      studentFlops: n.flops,
      metrics: byLayer.get(n.id) ?? {},
    }));
}

/** The run's configuration as a recipe, saying so when the run was resumed from a checkpoint. */
export function runRecipe(run: RunRecord): Recipe {
  const recipe = recipeFromConfig(configWithChanges(run));
  return run.resumedFrom === undefined
    ? recipe
    : { ...recipe, resumed: describeResume(run.resumedFrom) };
}

/** The report of one run; `teacher` is the teacher's name as the page shows it. */
export function runReport(run: RunRecord, teacher: string): RunReport {
  return {
    run: run.id,
    method: run.methodTitle,
    status: run.status,
    createdAt: new Date(run.createdAt).toISOString(),
    teacher,
    config: run.config,
    recipe: runRecipe(run),
    ...(run.resumedFrom !== undefined && { resumed: describeResume(run.resumedFrom) }),
    seed: run.config.seed,
    result: run.result,
    layers: layerRows(run.models, run.result?.metrics ?? {}),
  };
}
