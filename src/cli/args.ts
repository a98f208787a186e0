import { InvalidInputError } from '../core/runtime/errors';

export interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  /** --name value and --flag (value 'true'); later repeats win. */
  options: Map<string, string>;
}

const BOOLEAN_FLAGS = new Set(['json', 'help']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!name)
      throw new InvalidInputError(`Bad argument '${arg}'`, 'Options look like --name value.');
    if (eq >= 0) {
      options.set(name, arg.slice(eq + 1));
    } else if (BOOLEAN_FLAGS.has(name) || i + 1 >= rest.length || rest[i + 1].startsWith('--')) {
      options.set(name, 'true');
    } else {
      options.set(name, rest[++i]);
    }
  }
  return { command, positional, options };
}

/** Takes an option out of the map, so that what is left can be checked for unknown names. */
export function take(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  args.options.delete(name);
  return v;
}

export function takeInt(args: ParsedArgs, name: string): number | undefined {
  const v = take(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidInputError(
      `--${name} must be a whole number ≥ 0, got '${v}'`,
      `Pass --${name} N.`,
    );
  }
  return n;
}

export function rejectUnknown(args: ParsedArgs, command: string): void {
  const left = [...args.options.keys()];
  if (left.length > 0) {
    throw new InvalidInputError(
      `Unknown option${left.length > 1 ? 's' : ''} ${left.map((k) => `--${k}`).join(', ')} for '${command}'`,
      `See \`clab help\`.`,
    );
  }
}

/** "camelCase" params are also accepted as "kebab-case" flags. */
export const kebabToCamel = (s: string) =>
  s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
