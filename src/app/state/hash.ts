// The configuration in the URL hash, TensorFlow Playground style: a link reproduces a run's
// setup, seed included. `<field>_hide` keys hide controls, so a teacher can hand out a link
// that fixes everything but the parameter a class should explore.
import type { BackendChoice, Catalog, DatasetId, RunConfig } from '../../worker/protocol';
import { defaultConfig, methodDefaults } from './config';

export interface HashState {
  config: RunConfig;
  /** Field names ('teacher', 'seed', …, or a parameter's name) whose controls are hidden. */
  hidden: ReadonlySet<string>;
}

const PARAM_PREFIX = 'p.';

export function configToHash(config: RunConfig, hidden: ReadonlySet<string>): string {
  const q = new URLSearchParams();
  const { params, ...fields } = config;
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) q.set(k, String(v));
  for (const [k, v] of Object.entries(params)) q.set(`${PARAM_PREFIX}${k}`, String(v));
  for (const k of hidden) q.set(`${k}_hide`, 'true');
  return q.toString();
}

/** The configuration a hash describes; what it lacks or gets wrong falls back to defaults. */
export function configFromHash(hash: string, catalog: Catalog): HashState {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const base = defaultConfig(catalog, q.get('teacher') ?? undefined);
  const method = catalog.methods.find((m) => m.id === q.get('method'));
  const config: RunConfig = method ? { ...base, ...methodDefaults(method) } : base;
  const pick = <T extends string>(key: string, options: readonly T[]): T | undefined => {
    const v = q.get(key) as T | null;
    return v !== null && options.includes(v) ? v : undefined;
  };
  const int = (key: string): number | undefined => {
    const v = Number(q.get(key) ?? NaN);
    return Number.isInteger(v) ? v : undefined;
  };
  config.dataset =
    pick<DatasetId>(
      'dataset',
      catalog.datasets.map((d) => d.id),
    ) ?? config.dataset;
  config.student =
    pick('student', ['half', 'copy', ...catalog.architectures.map((a) => a.id)]) ?? config.student;
  config.backend =
    pick<BackendChoice>('backend', ['auto', ...catalog.backends.all]) ?? config.backend;
  config.seed = int('seed') ?? config.seed;
  config.steps = int('steps') ?? config.steps;
  config.testExamples = int('testExamples') ?? config.testExamples;
  const schema = catalog.methods.find((m) => m.id === config.method)!.params;
  for (const [key, spec] of Object.entries(schema)) {
    const text = q.get(`${PARAM_PREFIX}${key}`);
    if (text === null) continue;
    config.params[key] =
      spec.kind === 'boolean'
        ? text === 'true'
        : spec.kind === 'enum' || spec.kind === 'text'
          ? text
          : Number(text);
  }
  const hidden = new Set(
    [...q.keys()]
      .filter((k) => k.endsWith('_hide') && q.get(k) !== 'false')
      .map((k) => k.slice(0, -5)),
  );
  return { config, hidden };
}
