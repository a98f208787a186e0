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

/** A label's horizontal extent in pixels. */
export interface Span {
  from: number;
  to: number;
}

/**
 * The text row of each label (0 the top) so that no two on a row overlap or come within `gap`
 * pixels: each goes on the first row whose labels so far end before it starts, in the order
 * of their left edges (two phases of a run that begin a few steps apart).
 */
export function labelRows(spans: readonly Span[], gap = 6): number[] {
  const rowEnds: number[] = [];
  const rows = new Array<number>(spans.length);
  const order = spans.map((_, i) => i).sort((a, b) => spans[a].from - spans[b].from);
  for (const i of order) {
    let row = rowEnds.findIndex((end) => end + gap <= spans[i].from);
    if (row < 0) row = rowEnds.push(spans[i].to) - 1;
    rowEnds[row] = spans[i].to;
    rows[i] = row;
  }
  return rows;
}
