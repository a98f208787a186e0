import { describe, expect, it } from 'vitest';

import { timeRepeated } from './timing';

describe('timeRepeated', () => {
  it('warms up for at least `warmup` calls and at least `warmupMs`', async () => {
    const starts: number[] = [];
    const once = async () => {
      starts.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    const timing = await timeRepeated(once, { steps: 3, warmup: 2, warmupMs: 40 });
    const warmUpCalls = starts.length - 3;
    expect(timing.samples).toHaveLength(3);
    expect(warmUpCalls).toBeGreaterThanOrEqual(2);
    // The first timed call starts only once the warm-up has run for 40 ms.
    expect(starts[warmUpCalls] - starts[0]).toBeGreaterThanOrEqual(40);
  });
});
