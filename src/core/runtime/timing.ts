/** Wall-time measurement shared by the benchmarks and the backend choice. */

export interface StepTiming {
  /** Milliseconds of each timed call, in order. */
  samples: number[];
  median: number;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** How long a timing warms up: at least `warmup` untimed calls, and at least `warmupMs` of them. */
export interface WarmUp {
  warmup: number;
  warmupMs?: number;
}

/**
 * Wall time of `once` (which must resolve only when the backend has finished its work), `steps`
 * times after the warm-up's untimed calls (kernel compilation, optimiser slots; in V8 also the
 * optimising compiler's tier-up, which takes LeNet-5's step about 100 calls). Stops early after
 * a call slower than `giveUpMs`: a backend that slow has already lost.
 */
export async function timeRepeated(
  once: () => unknown,
  {
    steps,
    warmup,
    warmupMs = 0,
    giveUpMs = Infinity,
  }: WarmUp & { steps: number; giveUpMs?: number },
): Promise<StepTiming> {
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupMs; i++) await once();
  const samples: number[] = [];
  while (samples.length < steps && !(samples[samples.length - 1] > giveUpMs)) {
    const start = performance.now();
    await once();
    samples.push(performance.now() - start);
  }
  return { samples, median: median(samples) };
}
