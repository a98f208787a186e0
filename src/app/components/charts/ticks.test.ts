import { describe, expect, it } from 'vitest';
import { niceTicks } from './ticks';

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
});
