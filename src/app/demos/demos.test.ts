// Each demo opens a valid configuration of the method it names, with every parameter it sets
// known to that method: a misspelt key in a hash would be dropped silently.
import { describe, expect, it } from 'vitest';
import { METHODS } from '../../core/methods';
import { ARCHITECTURES, TEACHERS } from '../../core/zoo';
import { methodInfo } from '../../worker/catalog';
import type { Catalog } from '../../worker/protocol';
import { configErrors } from '../state/config';
import { configFromHash } from '../state/hash';
import { DEMOS } from './demos';

const catalog: Catalog = {
  methods: METHODS.map(methodInfo),
  teachers: TEACHERS.map((t) => ({ ...t, available: true })),
  architectures: ARCHITECTURES.map(({ id, title, description }) => ({ id, title, description })),
  datasets: [
    { id: 'mnist', title: 'MNIST' },
    { id: 'fashion', title: 'Fashion-MNIST' },
  ],
  backends: { all: ['webgpu', 'wasm', 'webgl', 'cpu'], usable: ['wasm'] },
};

describe('demos', () => {
  for (const demo of DEMOS) {
    it(`${demo.id} opens a valid configuration with every setting it names`, () => {
      const q = new URLSearchParams(demo.hash);
      const { config, hidden } = configFromHash(demo.hash, catalog);
      expect(config.method).toBe(q.get('method'));
      expect(config.teacher).toBe(q.get('teacher'));
      expect(configErrors(config, catalog)).toEqual({});
      const method = catalog.methods.find((m) => m.id === config.method)!;
      for (const [key, value] of q) {
        if (key.startsWith('p.')) {
          expect(Object.keys(method.params), key).toContain(key.slice(2));
          expect(String(config.params[key.slice(2)])).toBe(value);
        } else if (!key.endsWith('_hide')) {
          expect(String(config[key as keyof typeof config]), key).toBe(value);
        }
      }
      expect([...hidden].every((f) => f in config)).toBe(true);
    });
  }
});
