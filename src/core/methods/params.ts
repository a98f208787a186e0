import { InvalidInputError } from '../runtime/errors';

/** One schema drives the page's form, the CLI's flags and validation. */
export type ParamSpec =
  | { kind: 'int'; default: number; min: number; max: number; help: string; label?: string }
  | {
      kind: 'number';
      default: number;
      min: number;
      max: number;
      help: string;
      label?: string;
      log?: boolean;
    }
  | { kind: 'enum'; default: string; options: readonly string[]; help: string; label?: string }
  | { kind: 'boolean'; default: boolean; help: string; label?: string };

export type ParamSchema = Record<string, ParamSpec>;

export type ParamValue<P extends ParamSpec> = P extends { kind: 'enum' }
  ? P['options'][number]
  : P extends { kind: 'boolean' }
    ? boolean
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
