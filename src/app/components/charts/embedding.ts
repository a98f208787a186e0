// The pure parts of the embedding view and its gate heatmap: where each point is drawn, which
// one the pointer is on, and what is known about one point.
import type { EmbeddingEvent } from '../../state/runs';

export type Gates = NonNullable<EmbeddingEvent['gates']>;

/** The plot area inside the canvas, in CSS pixels. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The event's groups, one unnamed group when it has none. */
export const groupNames = (e: EmbeddingEvent): string[] => e.groupNames ?? ['test images'];
export const groupOf = (e: EmbeddingEvent, i: number): number => e.groups?.[i] ?? 0;

/** Classes 0…n−1 cover every label and prediction. */
export function classCount(e: EmbeddingEvent): number {
  let max = -1;
  for (const c of e.labels) max = Math.max(max, c);
  for (const c of e.predictions ?? []) max = Math.max(max, c);
  return max + 1;
}

/**
 * Each point's position (x, y pairs) in the frame: the points' bounding box fills it, y upwards.
 * A box of zero width or height puts its points in the middle.
 */
export function layout(points: Float32Array, frame: Frame): Float32Array {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]);
    x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]);
    y1 = Math.max(y1, points[i + 1]);
  }
  const at = (v: number, lo: number, hi: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const xy = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    xy[i] = frame.left + at(points[i], x0, x1) * frame.width;
    xy[i + 1] = frame.top + (1 - at(points[i + 1], y0, y1)) * frame.height;
  }
  return xy;
}

/** The point nearest to (x, y) no further than `radius`, or −1. */
export function nearest(xy: Float32Array, x: number, y: number, radius: number): number {
  let best = -1;
  let bestD = radius * radius;
  for (let i = 0; i < xy.length / 2; i++) {
    const d = (xy[2 * i] - x) ** 2 + (xy[2 * i + 1] - y) ** 2;
    if (d <= bestD) [best, bestD] = [i, d];
  }
  return best;
}

export interface PointFacts {
  label: string;
  /** The model's class, when the event has predictions. */
  predicted?: string;
  wrong: boolean;
  group: string;
}

export function pointFacts(e: EmbeddingEvent, i: number, classes: readonly string[]): PointFacts {
  const prediction = e.predictions?.[i];
  return {
    label: classes[e.labels[i]],
    predicted: prediction === undefined ? undefined : classes[prediction],
    wrong: prediction !== undefined && prediction !== e.labels[i],
    group: groupNames(e)[groupOf(e, i)],
  };
}

export interface GateRow {
  layer: string;
  /** The layer's mask for the point, one value per channel; 0 is a skipped channel. */
  values: Float32Array;
  active: number;
}

/** Point i's masks, one row per gated layer. */
export function gateRows(gates: Gates, i: number): GateRow[] {
  const total = gates.widths.reduce((a, b) => a + b, 0);
  let offset = i * total;
  return gates.layers.map((layer, l) => {
    const values = gates.values.subarray(offset, offset + gates.widths[l]);
    offset += gates.widths[l];
    return { layer, values, active: values.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) };
  });
}
