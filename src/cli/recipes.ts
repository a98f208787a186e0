// Recipe files for the CLI: reading one for `clab run --recipe`, the result beside an emitted
// one, and a sweep fanned out as recipes (`clab sweep --emit DIR`) and gathered back
// (`clab collect DIR`) into the runs `clab sweep` tabulates.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  cliRecipeProblem,
  parseRecipeText,
  recipeFileName,
  recipeFromConfig,
  resultFileName,
  type Recipe,
} from '../core/experiments/recipe';
import {
  expandSweep,
  type LayerValues,
  type MethodParams,
  type SweepConfig,
  type SweepRun,
} from '../core/experiments/plan';
import { defaultParams } from '../core/methods/params';
import type { RunResult } from '../core/methods/runner';
import type { BackendChoice } from '../core/runtime/backend';
import { InvalidInputError } from '../core/runtime/errors';

/** What `clab sweep --emit` writes beside the recipes: the sweep, so collect tabulates alike. */
export const MANIFEST = 'sweep.json';
/** The recipes' file names, one a line, in cell order: the list a batch scheduler indexes. */
export const RECIPE_LIST = 'recipes.txt';
const MANIFEST_FORMAT = 'clab-sweep-emit';

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  config: SweepConfig;
  /** The `clab sweep` command whose tables collect reproduces (the tables name it). */
  command: string;
  recipes: string[];
}

/** What `clab run --recipe` writes beside an emitted recipe (and prints with --json). */
export interface RecipeResult extends RunResult {
  estimationErrors: Record<string, LayerValues>;
  recipe: Recipe;
}

async function readText(path: string, what: string, fix: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidInputError(`Cannot read ${what} '${path}' (${(e as Error).message})`, fix);
  }
}

/** A recipe file the CLI can run: parsed, validated, and nothing in it only a browser has. */
export async function readRecipeFile(
  path: string,
  methods: readonly MethodParams[],
): Promise<Recipe> {
  if (path === 'true') {
    throw new InvalidInputError('--recipe needs a file', 'Pass --recipe path/to/recipe.json.');
  }
  const text = await readText(path, 'the recipe', 'Check the path.');
  const recipe = parseRecipeText(text, methods, path);
  const problem = cliRecipeProblem(recipe, path);
  if (problem) {
    const [message, hint] = problem.split(/\. (?=[A-Z])/);
    throw new InvalidInputError(message, `${hint}.`);
  }
  return recipe;
}

/** `<file>.result.json` beside the recipe: the run's result with the recipe that made it. */
export async function writeRecipeResult(
  recipePath: string,
  recipe: Recipe,
  result: RunResult,
  estimationErrors: Record<string, LayerValues>,
): Promise<string> {
  const path = join(dirname(recipePath), resultFileName(basename(recipePath)));
  const content: RecipeResult = { ...result, estimationErrors, recipe };
  await writeFile(path, `${JSON.stringify(content, null, 2)}\n`);
  return path;
}

/**
 * One self-contained recipe per cell of the sweep (every parameter spelled out, the sweep's
 * student, steps and test examples resolved as `clab sweep` resolves them), the manifest and the
 * list; nothing runs. Refuses a directory that already holds JSON files, so results of another
 * sweep never mix in.
 */
export async function emitSweep(
  config: SweepConfig,
  methods: readonly (MethodParams & { defaultStudent: string; defaultSteps: number })[],
  backend: BackendChoice,
  command: string,
  dir: string,
): Promise<string[]> {
  const cells = expandSweep(config, methods);
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  if (existing.length) {
    throw new InvalidInputError(
      `${dir} already holds ${existing.length} JSON file(s) (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''})`,
      'Emit into a new or empty directory, so results of another sweep cannot mix in.',
    );
  }
  const names: string[] = [];
  for (const [index, cell] of cells.entries()) {
    const method = methods.find((m) => m.id === cell.method)!;
    const recipe = recipeFromConfig(
      {
        method: cell.method,
        params: { ...defaultParams(method.params), ...cell.params },
        teacher: config.teacher,
        dataset: config.dataset,
        student: config.student ?? method.defaultStudent,
        seed: cell.seed,
        steps: config.steps ?? method.defaultSteps,
        testExamples: config.testExamples ?? 0,
        backend,
      },
      { index, total: cells.length, cell },
    );
    const name = recipeFileName(cell, index, cells.length);
    await writeFile(join(dir, name), `${JSON.stringify(recipe, null, 2)}\n`);
    names.push(name);
  }
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    config,
    command,
    recipes: names,
  };
  await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, RECIPE_LIST), `${names.join('\n')}\n`);
  return names;
}

/**
 * The runs of an emitted sweep that have a result, in cell order, and the recipes that have
 * none yet. A result written by a different recipe than the one in the directory is refused.
 */
export async function collectSweep(
  dir: string,
  methods: readonly MethodParams[],
): Promise<{ config: SweepConfig; command: string; runs: SweepRun[]; missing: string[] }> {
  const manifestPath = join(dir, MANIFEST);
  const fix = `Pass the directory that \`clab sweep CONFIG --emit ${dir}\` wrote.`;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readText(manifestPath, 'the sweep manifest', fix)) as Manifest;
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    throw new InvalidInputError(`${manifestPath} is not valid JSON`, fix);
  }
  if (manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.recipes)) {
    throw new InvalidInputError(`${manifestPath} is not a manifest of emitted recipes`, fix);
  }
  const runs: SweepRun[] = [];
  const missing: string[] = [];
  for (const name of manifest.recipes) {
    const recipePath = join(dir, name);
    const recipe = parseRecipeText(
      await readText(recipePath, 'the recipe', fix),
      methods,
      recipePath,
    );
    const resultPath = join(dir, resultFileName(name));
    let text: string;
    try {
      text = await readFile(resultPath, 'utf8');
    } catch {
      missing.push(name);
      continue;
    }
    let saved: RecipeResult;
    try {
      saved = JSON.parse(text) as RecipeResult;
    } catch (e) {
      throw new InvalidInputError(
        `${resultPath} is not valid JSON (${(e as Error).message})`,
        `Delete it and run npx clab run --recipe ${recipePath} again.`,
      );
    }
    if (JSON.stringify(saved.recipe) !== JSON.stringify(recipe) || !recipe.sweep) {
      throw new InvalidInputError(
        `${resultPath} was written by a different recipe than ${recipePath}`,
        `Delete it and run npx clab run --recipe ${recipePath} again.`,
      );
    }
    const { estimationErrors, recipe: _recipe, ...result } = saved;
    runs.push({ cell: recipe.sweep.cell, result, estimationErrors });
  }
  return { config: manifest.config, command: manifest.command, runs, missing };
}
