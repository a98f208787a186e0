import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { Rng } from './rng';

const draw = (rng: Rng, n = 8) => Array.from({ length: n }, () => rng.next());

describe('Rng', () => {
  it('repeats the same sequence for the same seed', () => {
    expect(draw(new Rng(42))).toEqual(draw(new Rng(42)));
    expect(draw(new Rng('run-7'))).toEqual(draw(new Rng('run-7')));
  });

  it('gives different sequences for different seeds, including 1 and "1"', () => {
    expect(draw(new Rng(1))).not.toEqual(draw(new Rng(2)));
    expect(draw(new Rng(1))).not.toEqual(draw(new Rng('1')));
  });

  it('draws floats in [0, 1), unbiased ints and standard normals', () => {
    const rng = new Rng(3);
    const floats = draw(rng, 10_000);
    expect(Math.min(...floats)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...floats)).toBeLessThan(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    const normals = Array.from({ length: 20_000 }, () => rng.normal());
    const mean = normals.reduce((a, b) => a + b) / normals.length;
    const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / normals.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(() => rng.int(0)).toThrow(RangeError);
  });

  it('forks independent streams that do not depend on draws from the parent', () => {
    const parent = new Rng(5);
    const a = draw(parent.fork('data'));
    const b = draw(parent.fork('init'));
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(draw(new Rng(5)));
    // Drawing from the parent does not shift a fork, and forking does not shift the parent.
    const other = new Rng(5);
    draw(other, 100);
    expect(draw(other.fork('data'))).toEqual(a);
    const untouched = new Rng(5);
    untouched.fork('data');
    expect(draw(untouched)).toEqual(draw(new Rng(5)));
    // Nested paths are distinct from flat labels.
    expect(draw(parent.fork('a').fork('b'))).not.toEqual(draw(parent.fork('a/b')));
  });

  it('shuffles deterministically into a permutation', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const once = new Rng(9).shuffle([...items]);
    expect(new Rng(9).shuffle([...items])).toEqual(once);
    expect(once).not.toEqual(items);
    expect([...once].sort((x, y) => x - y)).toEqual(items);
  });

  it('continues the same stream from a saved state', () => {
    const rng = new Rng('ckpt').fork('sampler');
    draw(rng, 5);
    const restored = Rng.fromState(JSON.parse(JSON.stringify(rng.state())));
    expect(draw(restored)).toEqual(draw(rng));
    expect(draw(restored.fork('x'))).toEqual(draw(rng.fork('x')));
  });

  it('seeds TF.js random ops reproducibly', async () => {
    await tf.setBackend('cpu');
    const sample = (seed: number) =>
      tf.tidy(() => Array.from(tf.randomNormal([4], 0, 1, 'float32', seed).dataSync()));
    const s1 = new Rng(11).seedForTf();
    expect(Number.isSafeInteger(s1) && s1 >= 0).toBe(true);
    expect(sample(s1)).toEqual(sample(new Rng(11).seedForTf()));
    expect(sample(s1)).not.toEqual(sample(new Rng(12).seedForTf()));
  });
});
