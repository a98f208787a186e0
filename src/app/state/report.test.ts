import { describe, expect, it } from 'vitest';
import type { ModelStats, RunResult } from '../../worker/protocol';
import { configFromRecipe, parseRecipe } from '../../core/experiments/recipe';
import { CATALOG, CONFIG } from './fixtures';
import { runReport } from './report';
import { newRun } from './runs';

const node = (id: string, op: ModelStats['nodes'][number]['op'], params: number) => ({
  id,
  op,
  outputShape: [4],
  params,
  flops: params * 2,
  bytes: params * 4,
});
const stats = (nodes: ModelStats['nodes']): ModelStats => ({
  name: 'n',
  nodes,
  params: nodes.reduce((s, n) => s + n.params, 0),
  flops: 0,
  bytes: 0,
});

describe('runReport', () => {
  it('has the config and seed, the result, and per-layer sizes with their metrics', () => {
    const run = {
      ...newRun('r1', CONFIG, 'Cross Distillation', 0),
      status: 'done' as const,
      models: {
        teacher: stats([node('conv1', 'conv2d', 150), node('act1', 'activation', 0)]),
        student: stats([node('conv1', 'conv2d', 75), node('act1', 'activation', 0)]),
      },
      result: {
        metrics: { 'sparsity/conv1': 0.5, 'estimation-error/conv1': 0.1, 'nonzero-params': 75 },
      } as unknown as RunResult,
    };
    const report = runReport(run, 'lenet5-mnist');
    expect(report).toMatchObject({
      run: 'r1',
      seed: CONFIG.seed,
      config: CONFIG,
      teacher: 'lenet5-mnist',
    });
    // The recipe beside the result: the report itself loads as a recipe.
    expect(report.recipe).toEqual({ format: 'clab-recipe', version: 1, ...CONFIG });
    expect(configFromRecipe(parseRecipe(report, CATALOG.methods))).toEqual(CONFIG);
    expect(report.layers).toEqual([
      {
        layer: 'conv1',
        op: 'conv2d',
        output: [4],
        teacherParams: 150,
        studentParams: 75,
        studentFlops: 150,
        metrics: { sparsity: 0.5, 'estimation-error': 0.1 },
      },
    ]);
  });

  it('says a resumed run was resumed, and cannot be reproduced bit for bit, in its recipe too', () => {
    const run = { ...newRun('r1', CONFIG, 'KD', 0), status: 'done' as const, resumedFrom: 250 };
    const report = runReport(run, 'lenet5-mnist');
    expect(report.resumed).toEqual({ fromStep: 250, note: expect.stringMatching(/step 250/) });
    expect(report.resumed?.note).toMatch(/cannot be reproduced bit for bit/);
    expect(report.recipe.resumed).toEqual(report.resumed);
    // It still reads as a recipe (clab run --recipe says what it is) and loads into the form.
    const recipe = parseRecipe(JSON.parse(JSON.stringify(report)), CATALOG.methods);
    expect(recipe.resumed?.fromStep).toBe(250);
    expect(configFromRecipe(recipe)).toEqual(CONFIG);
    expect(() => parseRecipe({ ...report.recipe, resumed: 3 }, CATALOG.methods)).toThrow(
      '"resumed" must be the { fromStep, note } the page wrote',
    );
    expect(runReport({ ...run, resumedFrom: undefined }, 't').recipe.resumed).toBeUndefined();
  });
});
