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

/**
 * Wall time of `once` (which must resolve only when the backend has finished its work), `steps`
 * times after `warmup` untimed calls (kernel compilation, optimiser slots). Stops early after a
 * call slower than `giveUpMs`: a backend that slow has already lost.
 */
export async function timeRepeated(
  once: () => unknown,
  { steps, warmup, giveUpMs = Infinity }: { steps: number; warmup: number; giveUpMs?: number },
): Promise<StepTiming> {
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  while (samples.length < steps && !(samples[samples.length - 1] > giveUpMs)) {
    const start = performance.now();
    await once();
    samples.push(performance.now() - start);
  }
  return { samples, median: median(samples) };
}
