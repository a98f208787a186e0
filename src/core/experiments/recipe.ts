// A recipe: one run's whole configuration as a JSON file, the one format of the page's "Recipe
// (.json)" download and "Load recipe…", `clab run --recipe FILE`, `clab sweep --emit DIR` and
// `clab collect DIR`. Plain TypeScript without TensorFlow.js (like plan.ts), so the page bundle
// can parse and validate recipes itself with the very messages the CLI gives.
import type { DatasetId } from '../data/dataset';
import type { BackendChoice } from '../runtime/backend';
import { InvalidInputError } from '../runtime/errors';
import { paramError, scheduleError, type ParamChange } from '../methods/params';
import type { MethodParams, SweepCell } from './plan';

export const RECIPE_FORMAT = 'clab-recipe';
/** Raised when a field changes meaning; a reader refuses versions newer than its own. */
export const RECIPE_VERSION = 1;

const DATASETS: readonly DatasetId[] = ['mnist', 'fashion'];
const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm', 'webgl', 'cpu'];
/** Backends that run in Node: the rest need a browser. */
export const NODE_BACKENDS: readonly BackendChoice[] = ['auto', 'wasm', 'cpu'];
const MAX_STEPS = 1_000_000;

/** Where an emitted recipe sits in its sweep: `clab collect` tabulates results by this cell. */
export interface RecipeSweepCell {
  /** Position in `expandSweep`'s order, from 0. */
  index: number;
  total: number;
  cell: SweepCell;
}

/**
 * One run, completely: the fields of the page's RunConfig (the same names and meanings) with a
 * format tag and version. Params hold every parameter of the method (missing ones are filled
 * with the method's defaults when the recipe is read).
 */
export interface Recipe {
  format: typeof RECIPE_FORMAT;
  version: number;
  method: string;
  params: Record<string, unknown>;
  /**
   * A built-in teacher's id; an uploaded one's ('upload:…', page only); or, for the CLI, the path
   * of a TF.js model.json or an .onnx file.
   */
  teacher: string;
  dataset: DatasetId;
  /** 'half', 'copy' or a zoo architecture id. */
  student: string;
  seed: number;
  steps: number;
  /** Evaluate on the first N test examples (0: all). */
  testExamples: number;
  backend: BackendChoice;
  /** Images uploaded in a browser (an image set's id there) as the few-shot data: page only. */
  shots?: string;
  shotsAsTest?: boolean;
  /**
   * Live parameter changes, each made before its step (a run whose learning rate was changed
   * at step 200 records it here; replaying it reproduces that run). Absent: none.
   */
  schedule?: ParamChange[];
  /** Set by `clab sweep --emit`. */
  sweep?: RecipeSweepCell;
  /** Set when the run it comes from was resumed from a checkpoint: running it is not that run. */
  resumed?: ResumedRun;
}

/** A resumed run, as its recipe and report say: from which step, and what that means. */
export interface ResumedRun {
  fromStep: number;
  note: string;
}

/** The run configuration a recipe carries: exactly the page's RunConfig. */
export type RecipeConfig = Omit<Recipe, 'format' | 'version' | 'sweep' | 'resumed'>;

/** What a recipe or report says of a run resumed from its checkpoint at `step`. */
export function describeResume(step: number): ResumedRun {
  return {
    fromStep: step,
    note: `The run was cut off and resumed from its checkpoint at step ${step}, which holds weights, not the optimisers' state: that restarted there, so that run cannot be reproduced bit for bit. This recipe runs every step uninterrupted.`,
  };
}

const FIELDS = [
  'format',
  'version',
  'method',
  'params',
  'teacher',
  'dataset',
  'student',
  'seed',
  'steps',
  'testExamples',
  'backend',
  'shots',
  'shotsAsTest',
  'schedule',
  'sweep',
  'resumed',
] as const;

/** A run configuration as a recipe (fields in a fixed order, so files diff well). */
export function recipeFromConfig(config: RecipeConfig, sweep?: RecipeSweepCell): Recipe {
  return {
    format: RECIPE_FORMAT,
    version: RECIPE_VERSION,
    method: config.method,
    params: { ...config.params },
    teacher: config.teacher,
    dataset: config.dataset,
    student: config.student,
    seed: config.seed,
    steps: config.steps,
    testExamples: config.testExamples,
    backend: config.backend,
    ...(config.shots !== undefined && { shots: config.shots }),
    ...(config.shotsAsTest !== undefined && { shotsAsTest: config.shotsAsTest }),
    ...(config.schedule?.length && {
      schedule: config.schedule.map((c) => ({ step: c.step, params: { ...c.params } })),
    }),
    ...(sweep && { sweep }),
  };
}

/** The run configuration of a recipe (what the page's form and the runner take). */
export function configFromRecipe(recipe: Recipe): RecipeConfig {
  const { format: _f, version: _v, sweep: _s, resumed: _r, ...config } = recipe;
  return {
    ...config,
    params: { ...config.params },
    ...(config.schedule && {
      schedule: config.schedule.map((c) => ({ ...c, params: { ...c.params } })),
    }),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const wholeAtLeast = (v: unknown, min: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min;
const shown = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Reads a recipe (already parsed from JSON) and checks every field against the methods it can
 * run; a run report or a `.result.json`, which carry their recipe under `recipe`, are read for it
 * too. Every problem is named in one InvalidInputError, each with its fix. `source` names the
 * file in messages.
 */
export function parseRecipe(
  value: unknown,
  methods: readonly MethodParams[],
  source = 'the recipe',
): Recipe {
  const bad = (problems: string[]) =>
    new InvalidInputError(
      `${source} is not a usable recipe: ${problems.join('; ')}`,
      'Fix those fields (a recipe is what "Recipe (.json)" in the page or `clab sweep --emit` writes; docs/ARCHITECTURE.md, "Recipes", lists its fields).',
    );
  if (isObject(value) && value.format === undefined && isObject(value.recipe)) {
    value = value.recipe;
  }
  if (!isObject(value)) throw bad(['it is not a JSON object']);
  if (value.format !== RECIPE_FORMAT) {
    throw bad([
      `"format" must be "${RECIPE_FORMAT}" (got ${shown(value.format)}); a sweep file runs with \`clab sweep\`, not as a recipe`,
    ]);
  }
  if (!wholeAtLeast(value.version, 1)) {
    throw bad([`"version" must be a whole number ≥ 1 (got ${shown(value.version)})`]);
  }
  if ((value.version as number) > RECIPE_VERSION) {
    throw new InvalidInputError(
      `${source} is recipe version ${String(value.version)}, newer than this Compression Lab reads (${RECIPE_VERSION})`,
      'Update Compression Lab (git pull, npm install), or export the recipe again from this version.',
    );
  }
  const problems: string[] = [];
  const unknown = Object.keys(value).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) {
    problems.push(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (remove ${unknown.length > 1 ? 'them' : 'it'}; the fields are ${FIELDS.join(', ')})`,
    );
  }
  const method = methods.find((m) => m.id === value.method);
  if (!method) {
    problems.push(
      `"method" must be one of ${methods.map((m) => m.id).join(', ')} (got ${shown(value.method)})`,
    );
  }
  const params: Record<string, unknown> = {};
  if (value.params !== undefined && !isObject(value.params)) {
    problems.push(
      `"params" must be an object of the method's parameters (got ${shown(value.params)})`,
    );
  } else if (method) {
    const given = (value.params ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!(key in method.params)) {
        problems.push(
          `"params.${key}" is not a parameter of '${method.id}' (its parameters: ${Object.keys(method.params).join(', ')})`,
        );
      }
    }
    for (const [key, spec] of Object.entries(method.params)) {
      params[key] = key in given ? given[key] : spec.default;
      const err = paramError(spec, params[key]);
      if (err) problems.push(`"params.${key}" ${err} (got ${shown(params[key])})`);
    }
  }
  const nonEmpty = (field: string) => {
    const v = value[field];
    if (typeof v !== 'string' || v.trim() === '')
      problems.push(`"${field}" must be a non-empty string (got ${shown(v)})`);
  };
  nonEmpty('teacher');
  nonEmpty('student');
  if (!DATASETS.includes(value.dataset as DatasetId)) {
    problems.push(`"dataset" must be one of ${DATASETS.join(', ')} (got ${shown(value.dataset)})`);
  }
  if (!wholeAtLeast(value.seed, 0)) {
    problems.push(`"seed" must be a whole number ≥ 0 (got ${shown(value.seed)})`);
  }
  if (!wholeAtLeast(value.steps, 1) || (value.steps as number) > MAX_STEPS) {
    problems.push(
      `"steps" must be a whole number between 1 and ${MAX_STEPS} (got ${shown(value.steps)})`,
    );
  }
  if (!wholeAtLeast(value.testExamples, 0)) {
    problems.push(
      `"testExamples" must be a whole number ≥ 0, 0 for the whole test split (got ${shown(value.testExamples)})`,
    );
  }
  if (!BACKENDS.includes(value.backend as BackendChoice)) {
    problems.push(`"backend" must be one of ${BACKENDS.join(', ')} (got ${shown(value.backend)})`);
  }
  if (value.shots !== undefined && typeof value.shots !== 'string') {
    problems.push(
      `"shots" must be an uploaded image set's id, or left out (got ${shown(value.shots)})`,
    );
  }
  if (value.shotsAsTest !== undefined && typeof value.shotsAsTest !== 'boolean') {
    problems.push(
      `"shotsAsTest" must be true or false, or left out (got ${shown(value.shotsAsTest)})`,
    );
  }
  if (value.schedule !== undefined && method) {
    const err = scheduleError(method.params, value.schedule, method.id);
    if (err) problems.push(`"schedule" ${err}`);
  }
  if (
    value.schedule !== undefined &&
    wholeAtLeast(value.steps, 1) &&
    Array.isArray(value.schedule) &&
    value.schedule.some(
      (c: { step?: unknown }) => typeof c?.step === 'number' && c.step > (value.steps as number),
    )
  ) {
    problems.push(`"schedule" has a change after the last step (${String(value.steps)})`);
  }
  const sweep = value.sweep;
  if (
    sweep !== undefined &&
    !(
      isObject(sweep) &&
      wholeAtLeast(sweep.index, 0) &&
      wholeAtLeast(sweep.total, 1) &&
      isObject(sweep.cell) &&
      typeof sweep.cell.method === 'string'
    )
  ) {
    problems.push(
      '"sweep" must be the { index, total, cell } that `clab sweep --emit` wrote, or left out',
    );
  }
  const resumed = value.resumed;
  if (
    resumed !== undefined &&
    !(isObject(resumed) && wholeAtLeast(resumed.fromStep, 0) && typeof resumed.note === 'string')
  ) {
    problems.push('"resumed" must be the { fromStep, note } the page wrote, or left out');
  }
  if (problems.length) throw bad(problems);
  const recipe = recipeFromConfig(
    { ...(value as unknown as RecipeConfig), params },
    value.sweep as RecipeSweepCell | undefined,
  );
  return resumed ? { ...recipe, resumed: resumed as unknown as ResumedRun } : recipe;
}

/** Parses a recipe file's text; broken JSON gets the same kind of message as a bad field. */
export function parseRecipeText(
  text: string,
  methods: readonly MethodParams[],
  source = 'the recipe',
): Recipe {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(
      `${source} is not valid JSON (${(e as Error).message})`,
      'Pick the .json file that "Recipe (.json)" or `clab sweep --emit` wrote, or fix its syntax.',
    );
  }
  return parseRecipe(value, methods, source);
}

/**
 * Why the CLI cannot run this recipe as written (things only a browser has), or undefined. The
 * fix is an edit of the recipe: a recipe is the whole run.
 */
export function cliRecipeProblem(recipe: Recipe, source = 'the recipe'): string | undefined {
  if (recipe.teacher.startsWith('upload:')) {
    return `${source} names a teacher uploaded in a browser ("teacher": "${recipe.teacher}"), which the CLI cannot read. Replace it with the path of that model's model.json or .onnx file (its own preprocessing is used: one chosen in the page is not in the recipe)`;
  }
  if (recipe.shots !== undefined) {
    return `${source} trains on images uploaded in a browser ("shots": "${recipe.shots}"), which the CLI cannot read. Run it in the page that made it, or remove "shots" and "shotsAsTest" to use the dataset`;
  }
  if (!NODE_BACKENDS.includes(recipe.backend)) {
    return `${source} asks for the ${recipe.backend} backend, which runs only in a browser. Set "backend" to "wasm" (the same numbers as the page's wasm) or "cpu"`;
  }
  return undefined;
}

/** `003-kd-K5-mu0.5-seed2.json`: emitted recipe names, which sort in the sweep's cell order. */
export function recipeFileName(cell: SweepCell, index: number, total: number): string {
  const width = Math.max(3, String(total).length);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  const parts = [
    String(index + 1).padStart(width, '0'),
    safe(cell.method),
    ...(cell.shotsPerClass ? [`K${cell.shotsPerClass}`] : []),
    ...Object.entries(cell.grid).map(([k, v]) => safe(`${k}${String(v)}`)),
    `seed${cell.seed}`,
  ];
  return `${parts.join('-')}.json`;
}

/** `<file>.result.json` beside `<file>.json`. */
export const resultFileName = (recipeFile: string) =>
  `${recipeFile.replace(/\.json$/i, '')}.result.json`;
