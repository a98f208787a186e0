// Defaults and validation of the run configuration, all derived from the worker's catalog: a
// new method brings its own schema and the form follows.
//
// paramError is the one code import from core on the page: params.ts is plain TypeScript (no
// TensorFlow.js), and sharing it keeps the form's messages identical to the runner's.
import { paramError } from '../../core/methods/params';
import type { Catalog, MethodInfo, RunConfig } from '../../worker/protocol';

export const MAX_STEPS = 1_000_000;

export function methodDefaults(
  method: MethodInfo,
): Pick<RunConfig, 'method' | 'student' | 'steps' | 'params'> {
  return {
    method: method.id,
    student: method.defaultStudent,
    steps: method.defaultSteps,
    params: Object.fromEntries(Object.entries(method.params).map(([k, p]) => [k, p.default])),
  };
}

/** The steps and parameters of one of the method's presets ('default': its schema's defaults). */
export function presetValues(
  method: MethodInfo,
  name: string,
): Pick<RunConfig, 'steps' | 'params'> {
  const { steps, params } = methodDefaults(method);
  const preset = method.presets?.[name];
  return preset
    ? { steps: preset.steps, params: { ...params, ...preset.params } }
    : { steps, params };
}

/** The preset the config's steps and parameters equal, or undefined when they were changed. */
export function matchingPreset(method: MethodInfo, config: RunConfig): string | undefined {
  return ['default', ...Object.keys(method.presets ?? {})].find((name) => {
    const { steps, params } = presetValues(method, name);
    return (
      steps === config.steps && Object.entries(params).every(([k, v]) => config.params[k] === v)
    );
  });
}

/** The first trained teacher (or the one asked for), its dataset, and the first method. */
export function defaultConfig(catalog: Catalog, teacherId?: string): RunConfig {
  const teacher =
    catalog.teachers.find((t) => t.id === teacherId) ??
    catalog.teachers.find((t) => t.available) ??
    catalog.teachers[0];
  return {
    teacher: teacher.id,
    dataset: teacher.dataset,
    ...methodDefaults(catalog.methods[0]),
    seed: 1,
    testExamples: 0,
    backend: 'auto',
  };
}

/** Problems by field name ('seed', 'steps', or a parameter's name); empty when the config can run. */
export function configErrors(config: RunConfig, catalog: Catalog): Record<string, string> {
  const errors: Record<string, string> = {};
  const method = catalog.methods.find((m) => m.id === config.method);
  if (!method) return { method: `unknown method '${config.method}'` };
  for (const [key, spec] of Object.entries(method.params)) {
    const err = paramError(spec, config.params[key]);
    if (err) errors[key] = err;
  }
  if (!Number.isInteger(config.seed) || config.seed < 0) {
    errors.seed = 'must be a whole number ≥ 0';
  }
  if (!Number.isInteger(config.testExamples) || config.testExamples < 0) {
    errors.testExamples = 'must be a whole number ≥ 0 (0: the whole test split)';
  }
  if (!Number.isInteger(config.steps) || config.steps < 1 || config.steps > MAX_STEPS) {
    errors.steps = `must be a whole number between 1 and ${MAX_STEPS}`;
  }
  return errors;
}
