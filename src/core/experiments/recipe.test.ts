import { describe, expect, it } from 'vitest';
import type { ParamSchema } from '../methods/params';
import { InvalidInputError } from '../runtime/errors';
import { expandSweep } from './plan';
import {
  cliRecipeProblem,
  configFromRecipe,
  parseRecipe,
  parseRecipeText,
  recipeFileName,
  recipeFromConfig,
  resultFileName,
  RECIPE_VERSION,
  type RecipeConfig,
} from './recipe';

const kdParams: ParamSchema = {
  temperature: { kind: 'number', default: 4, min: 1, max: 20, help: '' },
  learningRate: {
    kind: 'number',
    default: 0.001,
    min: 1e-5,
    max: 1,
    help: '',
    log: true,
    live: true,
  },
  shotsPerClass: { kind: 'int', default: 0, min: 0, max: 1000, help: '' },
  optimizer: { kind: 'enum', default: 'adam', options: ['adam', 'sgd'], help: '' },
};
const methods = [{ id: 'kd', params: kdParams }];

const config: RecipeConfig = {
  teacher: 'lenet5-mnist',
  dataset: 'mnist',
  student: 'half',
  method: 'kd',
  params: { temperature: 2, learningRate: 0.01, shotsPerClass: 5, optimizer: 'sgd' },
  seed: 3,
  steps: 40,
  testExamples: 200,
  backend: 'wasm',
};

/** The message of the InvalidInputError that reading `value` throws. */
function refusal(value: unknown): string {
  try {
    parseRecipe(value, methods, 'r.json');
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as Error).message;
  }
  throw new Error('the recipe was accepted');
}

describe('recipes', () => {
  it('round-trips a run configuration through a JSON file unchanged', () => {
    const recipe = recipeFromConfig(config);
    expect(recipe).toMatchObject({ format: 'clab-recipe', version: RECIPE_VERSION });
    const text = JSON.stringify(recipe, null, 2);
    const back = parseRecipeText(text, methods);
    expect(back).toEqual(recipe);
    expect(configFromRecipe(back)).toEqual(config);
    expect(JSON.stringify(recipeFromConfig(configFromRecipe(back)), null, 2)).toBe(text);
  });

  it('round-trips a schedule of live parameter changes and refuses a bad one', () => {
    const scheduled: RecipeConfig = {
      ...config,
      schedule: [
        { step: 10, params: { learningRate: 0.001 } },
        { step: 30, params: { learningRate: 0.0001 } },
      ],
    };
    const text = JSON.stringify(recipeFromConfig(scheduled), null, 2);
    const back = parseRecipeText(text, methods);
    expect(back.schedule).toEqual(scheduled.schedule);
    expect(configFromRecipe(back)).toEqual(scheduled);
    // No changes: no field, so recipes of ordinary runs read as before.
    expect('schedule' in recipeFromConfig({ ...config, schedule: [] })).toBe(false);
    const bad = (schedule: unknown) => refusal({ ...recipeFromConfig(config), schedule });
    expect(bad([{ step: 5, params: { temperature: 3 } }])).toMatch(
      /"schedule" entry 0 \(step 5\): 'temperature' cannot change while a 'kd' run goes on \(only learningRate can\)/,
    );
    expect(bad([{ step: 5, params: { learningRate: 2 } }])).toMatch(
      /"schedule" entry 0 \(step 5\): learningRate must be between 0.00001 and 1 \(got 2\)/,
    );
    expect(bad([{ step: 41, params: { learningRate: 0.1 } }])).toMatch(
      /"schedule" has a change after the last step \(40\)/,
    );
    expect(bad({ step: 5 })).toMatch(/"schedule" must be a list of \{ step, params \}/);
  });

  it('keeps uploaded images and an emitted sweep cell, and reads a report for its recipe', () => {
    const [cell] = expandSweep(
      { teacher: 't', dataset: 'mnist', methods: ['kd'], shotsPerClass: [5], seeds: [1] },
      methods,
    );
    const withShots = { ...config, shots: 'images:abc', shotsAsTest: true };
    const recipe = recipeFromConfig(withShots, { index: 0, total: 1, cell });
    const back = parseRecipe(JSON.parse(JSON.stringify(recipe)), methods);
    expect(back).toEqual(recipe);
    expect(configFromRecipe(back)).toEqual(withShots);
    const report = { run: 'id', config: withShots, recipe, result: {} };
    expect(parseRecipe(report, methods)).toEqual(recipe);
  });

  it("fills a missing parameter with the method's default", () => {
    const { params: _p, ...rest } = recipeFromConfig(config);
    const recipe = parseRecipe({ ...rest, params: { temperature: 8 } }, methods);
    expect(recipe.params).toEqual({
      temperature: 8,
      learningRate: 0.001,
      shotsPerClass: 0,
      optimizer: 'adam',
    });
  });

  it('refuses bad fields, naming each field and what it must be', () => {
    const good = recipeFromConfig(config);
    expect(refusal([1])).toMatch(/^r\.json is not a usable recipe: it is not a JSON object/);
    expect(refusal({ ...good, format: undefined })).toMatch(/"format" must be "clab-recipe"/);
    expect(refusal({ teacher: 'x', methods: ['kd'], seeds: [1] })).toMatch(
      /a sweep file runs with `clab sweep`/,
    );
    expect(refusal({ ...good, version: RECIPE_VERSION + 1 })).toMatch(
      /recipe version 2, newer than this Compression Lab reads \(1\)/,
    );
    const message = refusal({
      ...good,
      seed: -1,
      steps: 0,
      dataset: 'cifar',
      backend: 'tpu',
      seeds: [1],
      params: { temperature: 'hot', mu: 1 },
    });
    expect(message).toContain('unknown field "seeds" (remove it;');
    expect(message).toContain(`"params.mu" is not a parameter of 'kd'`);
    expect(message).toContain('"params.temperature" must be a number (got "hot")');
    expect(message).toContain('"seed" must be a whole number ≥ 0 (got -1)');
    expect(message).toContain('"steps" must be a whole number between 1 and 1000000 (got 0)');
    expect(message).toContain('"dataset" must be one of mnist, fashion (got "cifar")');
    expect(message).toContain('"backend" must be one of auto, webgpu, wasm, webgl, cpu');
    expect(refusal({ ...good, method: 'dafl' })).toContain(
      '"method" must be one of kd (got "dafl")',
    );
    expect(refusal({ ...good, teacher: '' })).toContain('"teacher" must be a non-empty string');
    expect(() => parseRecipeText('{"format": ', methods, 'x.json')).toThrow(
      /^x\.json is not valid JSON/,
    );
  });

  it('says what the CLI cannot run: uploads and browser-only backends', () => {
    const ok = recipeFromConfig(config);
    expect(cliRecipeProblem(ok)).toBeUndefined();
    expect(cliRecipeProblem({ ...ok, teacher: 'upload:1234' })).toMatch(
      /teacher uploaded in a browser.*Replace it with the path of that model's model\.json or \.onnx file/,
    );
    expect(cliRecipeProblem({ ...ok, shots: 'images:1' })).toMatch(
      /images uploaded in a browser.*remove "shots"/,
    );
    expect(cliRecipeProblem({ ...ok, backend: 'webgpu' })).toMatch(/Set "backend" to "wasm"/);
  });

  it('names emitted recipes so that they sort in cell order, with their results beside', () => {
    const cells = expandSweep(
      {
        teacher: 't',
        dataset: 'mnist',
        methods: ['kd'],
        shotsPerClass: [1, 10],
        seeds: [1, 2],
        grid: { temperature: [2, 0.5] },
      },
      methods,
    );
    const names = cells.map((c, i) => recipeFileName(c, i, cells.length));
    expect(names[0]).toBe('001-kd-K1-temperature2-seed1.json');
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    expect(recipeFileName(cells[0], 0, 1234)).toBe('0001-kd-K1-temperature2-seed1.json');
    expect(resultFileName('001-kd-seed1.json')).toBe('001-kd-seed1.result.json');
  });
});
