export interface Point {
  step: number;
  value: number;
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps the first and last points and, per
 * bucket, the point spanning the largest triangle with its neighbours, so peaks and trends of a
 * long series survive in a few hundred points.
 */
export function lttb(points: readonly Point[], threshold: number): Point[] {
  if (threshold >= points.length || threshold < 3) return points.slice();
  const out: Point[] = [points[0]];
  const every = (points.length - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // Average of the next bucket: the third corner of the triangle.
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, points.length);
    let avgStep = 0;
    let avgValue = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgStep += points[j].step;
      avgValue += points[j].value;
    }
    const n = Math.max(nextEnd - nextStart, 1);
    avgStep /= n;
    avgValue /= n;
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const area = Math.abs(
        (points[a].step - avgStep) * (points[j].value - points[a].value) -
          (points[a].step - points[j].step) * (avgValue - points[a].value),
      );
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]);
    a = best;
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Points kept per series after down-sampling; a series grows to twice this before the next. */
export const SERIES_POINTS = 300;

/** Appends a batch of points, down-sampling once the series has grown past twice `keep`. */
export function appendPoints(
  points: readonly Point[],
  added: readonly Point[],
  keep = SERIES_POINTS,
): Point[] {
  const next = points.concat(added);
  return next.length > 2 * keep ? lttb(next, keep) : next;
}
