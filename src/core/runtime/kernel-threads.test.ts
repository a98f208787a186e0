/**
 * SplitChoices: whether a kernel call splits between threads, from timings of both ways; how
 * many chunks a split call gets.
 */
import { describe, expect, it } from 'vitest';

import { KernelThreads, MAX_CHUNKS, SplitChoices } from './kernel-threads';
import { SimdKernels } from './wasm-simd';

/** Calls `key` until decided, each taking `ms(split, call)`; the order in which it tried. */
function decide(choices: SplitChoices, key: string, ms: (split: boolean, call: number) => number) {
  const tried: boolean[] = [];
  while (!choices.decisions().has(key)) {
    const split = choices.split(key);
    choices.record(key, split, ms(split, tried.length));
    tried.push(split);
  }
  return tried;
}

describe('SplitChoices', () => {
  it('tries split and whole in turn, split first, then keeps the faster', () => {
    const choices = new SplitChoices(3);
    const tried = decide(choices, 'slow split', (split) => (split ? 2.1 : 1.9));
    expect(tried).toEqual([true, false, true, false, true, false]);
    expect(choices.split('slow split')).toBe(false);
    decide(choices, 'fast split', (split) => (split ? 1.2 : 1.9));
    expect(choices.split('fast split')).toBe(true);
    // One slow call later does not undo a decision.
    choices.record('fast split', true, 100);
    expect(choices.decisions().get('fast split')).toBe(true);
    expect(choices.decisions().get('slow split')).toBe(false);
  });

  it('decides after two calls of each where one way is clearly faster', () => {
    const choices = new SplitChoices(3);
    const twoEach = [true, false, true, false];
    expect(decide(choices, 'wide', (split) => (split ? 60 : 100))).toEqual(twoEach);
    expect(choices.split('wide')).toBe(true);
    expect(decide(choices, 'narrow', (split) => (split ? 1.5 : 1))).toEqual(twoEach);
    expect(choices.split('narrow')).toBe(false);
  });

  it('judges each way by its quickest call, so one call slowed by the host does not decide', () => {
    const choices = new SplitChoices(3);
    // The first split call is slowed (a helper woken from deep sleep, code not yet optimised).
    decide(choices, 'conv', (split, call) => (split ? (call === 0 ? 9 : 1.2) : 1.9));
    expect(choices.split('conv')).toBe(true);
  });

  it('tries both ways again later, so trials made while the code warmed up do not decide for good', () => {
    const choices = new SplitChoices(3);
    // Split calls are slow until the helper's code is optimised, after the first trials.
    const ms = (split: boolean, call: number) => (split ? (call < 8 ? 9 : 1.2) : 1.9);
    const tried: boolean[] = [];
    for (let call = 0; call < 20; call++) {
      const split = choices.split('conv');
      choices.record('conv', split, ms(split, call));
      tried.push(split);
    }
    // Split clearly slower after two calls of each: whole until the 8th call tries both again.
    expect(tried.slice(0, 9)).toEqual([true, false, true, false, false, false, false, true, false]);
    // The 16th call tries split again; clearly faster now, it is taken from then on.
    expect(tried.slice(9, 15).every((split) => !split)).toBe(true);
    expect(tried.slice(15)).toEqual([true, true, true, true, true]);
    expect(choices.split('conv')).toBe(true);
  });

  it("keeps each way's quickest call, not every call: a long run's calls stay cheap", () => {
    const choices = new SplitChoices(3);
    for (let call = 0; call < 300_000; call++) {
      const split = choices.split('conv');
      choices.record('conv', split, split ? 1 : 2);
    }
    expect(choices.decisions().get('conv')).toBe(true);
  });
});

describe('SimdKernels.runSplit', () => {
  it('cuts a split call into at most MAX_CHUNKS chunks, however many threads', () => {
    const chunkCounts: number[] = [];
    // A pool of 32 threads (a 32-core machine's page) that only counts the chunks it is given.
    const pool = {
      threads: 32,
      run: (_kernels: unknown, _name: string, chunks: number[][]) =>
        chunkCounts.push(chunks.length),
    } as unknown as KernelThreads;
    const simd = new SimdKernels({ convForward: () => {} }, false, pool);
    // A shape's first call is tried split.
    simd.runSplit('convForward', [1], 1e9, (count) => Array.from({ length: count }, () => [0]));
    expect(chunkCounts).toEqual([MAX_CHUNKS]);
  });
});
