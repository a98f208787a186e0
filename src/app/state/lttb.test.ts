import { describe, expect, it } from 'vitest';
import { appendPoints, lttb, type Point } from './lttb';

const series = (n: number, f: (i: number) => number): Point[] =>
  Array.from({ length: n }, (_, i) => ({ step: i, value: f(i) }));

describe('lttb', () => {
  it('keeps the first and last points and returns the requested count', () => {
    const points = series(1000, (i) => Math.sin(i / 30));
    const out = lttb(points, 100);
    expect(out).toHaveLength(100);
    expect(out[0]).toBe(points[0]);
    expect(out[99]).toBe(points[999]);
    expect(out.every((p, i) => i === 0 || p.step > out[i - 1].step)).toBe(true);
  });

  it('keeps a lone spike', () => {
    const points = series(1000, (i) => (i === 537 ? 100 : 0));
    expect(lttb(points, 50).some((p) => p.value === 100)).toBe(true);
  });

  it('returns short series unchanged', () => {
    const points = series(10, (i) => i);
    expect(lttb(points, 100)).toEqual(points);
  });
});

describe('appendPoints', () => {
  it('bounds a streaming series to a few hundred points, ending at the newest', () => {
    let points: Point[] = [];
    for (let i = 0; i < 5000; i++) points = appendPoints(points, [{ step: i, value: i % 7 }], 300);
    expect(points.length).toBeLessThanOrEqual(600);
    expect(points.length).toBeGreaterThanOrEqual(300);
    expect(points[0].step).toBe(0);
    expect(points[points.length - 1].step).toBe(4999);
  });
});
