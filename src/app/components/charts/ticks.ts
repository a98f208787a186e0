/**
 * Round axis ticks (steps of 1, 2 or 5 × 10ⁿ) covering [min, max]. Computed here (with the axes'
 * niceTicks="none") because recharts' own run on decimal.js and cost milliseconds per update.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max <= min) {
    const pad = Math.abs(min) * 0.1 || 1;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = magnitude * ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10);
  const first = Math.floor(min / step);
  const last = Math.ceil(max / step);
  // toPrecision strips float noise (0.30000000000000004).
  return Array.from({ length: last - first + 1 }, (_, i) =>
    Number(((first + i) * step).toPrecision(12)),
  );
}
