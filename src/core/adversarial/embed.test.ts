import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { startUmap, umapEmbed, umapEmbedAsync } from './embed';

/** Two Gaussian blobs of 60 points in 10-D, 12 standard deviations apart; rows 0..59 the first. */
function blobs(seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: 120 }, (_, i) =>
    Float32Array.from({ length: 10 }, (_, j) => rng.normal(i >= 60 && j === 0 ? 12 : 0, 1)),
  );
}

/** Whether every point lies nearer its own blob's centroid than the other's. */
function separated(points: Float32Array) {
  const centroid = (from: number) => {
    let [x, y] = [0, 0];
    for (let i = from; i < from + 60; i++) [x, y] = [x + points[2 * i], y + points[2 * i + 1]];
    return [x / 60, y / 60];
  };
  const c = [centroid(0), centroid(60)];
  const dist = (i: number, [x, y]: number[]) =>
    Math.hypot(points[2 * i] - x, points[2 * i + 1] - y);
  return Array.from({ length: 120 }, (_, i) => i).every((i) => {
    const own = i < 60 ? 0 : 1;
    return dist(i, c[own]) < dist(i, c[1 - own]);
  });
}

describe('UMAP embedding', () => {
  it('keeps two well-separated blobs apart and is deterministic for a seed', () => {
    const rows = blobs(1);
    const points = umapEmbed(rows, { nEpochs: 100, rng: new Rng(7) });
    expect(points.length).toBe(240);
    expect(points.every(Number.isFinite)).toBe(true);
    expect(separated(points)).toBe(true);
    expect(umapEmbed(rows, { nEpochs: 100, rng: new Rng(7) })).toEqual(points);
    expect(umapEmbed(rows, { nEpochs: 100, rng: new Rng(8) })).not.toEqual(points);
  });

  it('runs epoch by epoch; the async version yields, reports progress and gives the same layout', async () => {
    const rows = blobs(2);
    const run = startUmap(rows, { nEpochs: 50, rng: new Rng(3) });
    expect([run.epoch, run.epochs]).toEqual([0, 50]);
    expect(run.step(20)).toBe(20);
    expect(run.step(100)).toBe(50);
    const progress: number[] = [];
    const points = await umapEmbedAsync(rows, {
      nEpochs: 50,
      rng: new Rng(3),
      yieldEvery: 20,
      onProgress: (epoch) => progress.push(epoch),
    });
    expect(progress).toEqual([20, 40, 50]);
    expect(points).toEqual(run.embedding());
  });

  it('caps the neighbourhood at n − 1 for small sets and refuses fewer than 3 rows', () => {
    const rows = blobs(3).slice(55, 65);
    expect(umapEmbed(rows, { nEpochs: 20, rng: new Rng(1) }).length).toBe(20);
    expect(() => umapEmbed(rows.slice(0, 2), { rng: new Rng(1) })).toThrow(RangeError);
  });
});
