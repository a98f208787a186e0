import { describe, expect, it } from 'vitest';
import { valueYAxis } from './axes';
import { labelRows, niceTicks } from './ticks';

describe('niceTicks', () => {
  it('covers the range with round steps', () => {
    expect(niceTicks(0.13, 2.31)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(25, 3000)).toEqual([0, 1000, 2000, 3000]);
    expect(niceTicks(0.8835, 0.8905)).toEqual([0.882, 0.884, 0.886, 0.888, 0.89, 0.892]);
  });

  it('widens a single value into a range', () => {
    const ticks = niceTicks(5, 5);
    expect(ticks[0]).toBeLessThan(5);
    expect(ticks[ticks.length - 1]).toBeGreaterThan(5);
  });

  it('stops a capped value axis at its ceiling: an accuracy of 1 alone does not reach 1.1', () => {
    expect(valueYAxis(1, 1).ticks.at(-1)).toBeGreaterThan(1);
    const capped = valueYAxis(1, 1, undefined, 1);
    expect(capped.ticks.at(-1)).toBe(1);
    expect(capped.domain).toEqual([capped.ticks[0], 1]);
  });
});

describe('labelRows', () => {
  it('puts labels that would overlap on rows below, and reuses a row once it is clear', () => {
    const spans = [
      { from: 0, to: 50 },
      { from: 30, to: 120 }, // overlaps the first
      { from: 52, to: 80 }, // clear of the first, but within the gap
      { from: 130, to: 160 }, // clear of both
    ];
    expect(labelRows(spans)).toEqual([0, 1, 2, 0]);
    expect(labelRows(spans, 0)).toEqual([0, 1, 0, 0]);
  });

  it('orders by left edge, whatever the order given', () => {
    expect(
      labelRows([
        { from: 30, to: 120 },
        { from: 0, to: 50 },
      ]),
    ).toEqual([1, 0]);
  });
});
