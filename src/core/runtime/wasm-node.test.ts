import { afterEach, describe, expect, it, vi } from 'vitest';

const v8 = vi.hoisted(() => ({ flags: [] as string[] }));
vi.mock('node:v8', async (original) => {
  const actual = await original<typeof import('node:v8')>();
  return {
    ...actual,
    setFlagsFromString: (flag: string) => {
      v8.flags.push(flag);
      actual.setFlagsFromString(flag);
    },
  };
});

const { enableRelaxedSimd, relaxedSimdValidates } = await import('./wasm-node');

describe('enableRelaxedSimd', () => {
  afterEach(() => void (v8.flags.length = 0));

  it('leaves relaxed SIMD validating, and sets no flag once it does', () => {
    enableRelaxedSimd();
    // A malformed probe module would never validate, flag or not.
    expect(relaxedSimdValidates()).toBe(true);
    v8.flags.length = 0;
    // Node 22 on ships relaxed SIMD and prints an error for the flag it no longer knows.
    enableRelaxedSimd();
    expect(v8.flags).toEqual([]);
  });
});
