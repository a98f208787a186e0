import { InvalidInputError } from '../runtime/errors';

/**
 * `live`: the method reads this value at every step, so it may change while the run goes on
 * (the page's Apply, a recipe's schedule); every other parameter is fixed once the run starts.
 */
interface SpecCommon {
  help: string;
  label?: string;
  live?: boolean;
}

/** One schema drives the page's form, the CLI's flags and validation. */
export type ParamSpec = SpecCommon &
  (
    | { kind: 'int'; default: number; min: number; max: number }
    | { kind: 'number'; default: number; min: number; max: number; log?: boolean }
    | { kind: 'enum'; default: string; options: readonly string[] }
    | { kind: 'boolean'; default: boolean }
    /**
     * Free text that must match `pattern` (a RegExp source, anchored; plain data so the schema
     * crosses to the page), e.g. per-layer ratios "conv1=0.5,fc1=0.9"; `format` says what it takes.
     */
    | { kind: 'text'; default: string; pattern: string; format: string }
  );

export type ParamSchema = Record<string, ParamSpec>;

export type ParamValue<P extends ParamSpec> = P extends { kind: 'enum' }
  ? P['options'][number]
  : P extends { kind: 'boolean' }
    ? boolean
    : P extends { kind: 'text' }
      ? string
      : number;

export type ParamValues<S extends ParamSchema> = { [K in keyof S]: ParamValue<S[K]> };

export function defaultParams<S extends ParamSchema>(schema: S): ParamValues<S> {
  return Object.fromEntries(
    Object.entries(schema).map(([k, p]) => [k, p.default]),
  ) as ParamValues<S>;
}

/** Why a value is not acceptable, or null when it is. */
export function paramError(spec: ParamSpec, value: unknown): string | null {
  switch (spec.kind) {
    case 'int':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      if (spec.kind === 'int' && !Number.isInteger(value)) return 'must be a whole number';
      if (value < spec.min || value > spec.max)
        return `must be between ${spec.min} and ${spec.max}`;
      return null;
    case 'enum':
      return spec.options.includes(value as string)
        ? null
        : `must be one of ${spec.options.join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'text':
      return typeof value === 'string' && new RegExp(`^(?:${spec.pattern})$`).test(value)
        ? null
        : `must be ${spec.format}`;
  }
}

/** Parses a value typed on a command line or in a text field. */
export function parseParam(spec: ParamSpec, text: string): unknown {
  if (spec.kind === 'int' || spec.kind === 'number') return text.trim() === '' ? NaN : Number(text);
  if (spec.kind === 'boolean')
    return text === 'true' || text === '1' || text === ''
      ? true
      : text === 'false' || text === '0'
        ? false
        : text;
  return text;
}

/** Fills defaults and checks every value; unknown keys and bad values throw one error naming them all. */
export function resolveParams<S extends ParamSchema>(
  schema: S,
  given: Record<string, unknown>,
  methodId: string,
): ParamValues<S> {
  const problems: string[] = [];
  for (const key of Object.keys(given)) {
    if (!(key in schema)) problems.push(`unknown parameter '${key}'`);
  }
  const values = defaultParams(schema) as Record<string, unknown>;
  for (const [key, spec] of Object.entries(schema)) {
    if (key in given) values[key] = given[key];
    const err = paramError(spec, values[key]);
    if (err) problems.push(`${key} ${err} (got ${JSON.stringify(values[key])})`);
  }
  if (problems.length > 0) {
    throw new InvalidInputError(
      `Bad parameters for '${methodId}': ${problems.join('; ')}`,
      `Valid parameters: ${Object.keys(schema).join(', ')}.`,
    );
  }
  return values as ParamValues<S>;
}

/** The Adam step size of methods that train a whole network with Adam (kd, fewshot-finetune). */
export const ADAM_LEARNING_RATE = {
  kind: 'number',
  default: 1e-3,
  min: 1e-6,
  max: 1,
  log: true,
  help: 'Adam step size.',
} as const;

/** The names of the parameters that may change while a run goes on. */
export function liveParamNames(schema: ParamSchema): string[] {
  return Object.keys(schema).filter((k) => schema[k].live);
}

/** Parameter values set mid-run, by name. */
export type ParamSettings = Record<string, number | string | boolean>;

/** Live parameters set at a step: one entry of a run's schedule (recorded and replayed). */
export interface ParamChange {
  step: number;
  params: ParamSettings;
}

/**
 * Why `changes` cannot be made to a running method of this schema, or null: each must name a
 * live parameter and hold a value its spec accepts (paramError, as at the start).
 */
export function liveParamsError(
  schema: ParamSchema,
  changes: Record<string, unknown>,
  methodId: string,
): string | null {
  const keys = Object.keys(changes);
  if (keys.length === 0) return 'no parameter to change';
  const live = liveParamNames(schema);
  const problems = keys.map((key) => {
    const spec = schema[key] as ParamSpec | undefined;
    if (!spec) return `'${key}' is not a parameter of '${methodId}'`;
    if (!spec.live) {
      const which = live.length ? `only ${live.join(', ')} can` : 'none of its parameters can';
      return `'${key}' cannot change while a '${methodId}' run goes on (${which})`;
    }
    const err = paramError(spec, changes[key]);
    return err && `${key} ${err} (got ${JSON.stringify(changes[key])})`;
  });
  const found = problems.filter((p): p is string => p !== null);
  return found.length ? found.join('; ') : null;
}

/** Why a schedule (a run's recorded changes, a recipe's) is unusable for this schema, or null. */
export function scheduleError(
  schema: ParamSchema,
  schedule: unknown,
  methodId: string,
): string | null {
  if (!Array.isArray(schedule)) return 'must be a list of { step, params }';
  let previous = 0;
  for (const [i, entry] of schedule.entries()) {
    const e = entry as Partial<ParamChange> | null;
    const step = e?.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step <= previous) {
      return `entry ${i}: "step" must be a whole number above ${previous} (steps increase; got ${JSON.stringify(step)})`;
    }
    previous = step;
    const params = e?.params;
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return `entry ${i}: "params" must be an object of live parameters`;
    }
    const err = liveParamsError(schema, params, methodId);
    if (err) return `entry ${i} (step ${step}): ${err}`;
  }
  return null;
}

/** "learningRate" → "Learning rate": the label when a schema gives none. */
export function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "learning rate 0.01 → 0.001, temperature 4 → 2": a change as a chart marker reads. */
export function describeChange(
  schema: ParamSchema,
  previous: ParamSettings,
  next: ParamSettings,
): string {
  return Object.keys(next)
    .map((key) => {
      const label = schema[key]?.label ?? humanize(key).toLowerCase();
      return `${label} ${String(previous[key])} → ${String(next[key])}`;
    })
    .join(', ');
}
