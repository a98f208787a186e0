// Axis props shared by the line and bar charts, with ticks from niceTicks instead of recharts'
// own (see ticks.ts for why).
import type { XAxisProps, YAxisProps } from 'recharts';
import { formatNumber } from '../../format';
import { niceTicks } from './ticks';

/** Room for the top tick label and the last x label. */
export const MARGIN = { top: 8, right: 16, bottom: 0, left: 0 };

/**
 * Round ticks over [min, max], the first and last the axis' ends; none above `ceiling` (an
 * accuracy of 1 drawn alone would otherwise get an axis up to 1.1).
 */
export const axisTicks = (min: number, max: number, ceiling = Infinity) =>
  niceTicks(min, max).filter((t, i) => i === 0 || t <= ceiling);

/** `axisTicks` as a recharts axis' ticks and domain, labelled by `format`. */
function ticked(min: number, max: number, format: (v: number) => string, ceiling = Infinity) {
  const ticks = axisTicks(min, max, ceiling);
  return {
    domain: [ticks[0], ticks[ticks.length - 1]],
    ticks,
    niceTicks: 'none',
    tickFormatter: (v: number) => format(v),
  } satisfies XAxisProps & YAxisProps;
}

/** A numeric x axis (steps, a grid value) over series that each bring their own data. */
export function numberXAxis(dataKey: string, min: number, max: number) {
  return {
    dataKey,
    type: 'number',
    allowDuplicatedCategory: false,
    ...ticked(min, max, formatNumber),
  } satisfies XAxisProps;
}

/** The value axis, wide enough for labels like "0.0001" or "100%". */
export function valueYAxis(min: number, max: number, format = formatNumber, ceiling?: number) {
  return { ...ticked(min, max, format, ceiling), width: 56 } satisfies YAxisProps;
}

/**
 * The range of an accuracy axis: at least 10 points tall (and, as drawn, never above 100 %), so
 * a change of a few tenths of a point is not drawn as a cliff.
 */
export const accuracyRange = (min: number, max: number): [number, number] => [
  Math.max(0, Math.min(min, max - 0.1)),
  max,
];

/** An accuracy axis in percent (see accuracyRange). */
export function accuracyYAxis(min: number, max: number) {
  return valueYAxis(...accuracyRange(min, max), percentTick, 1);
}

/** A tick label in percent with only the digits the ticks need: 80%, 82.5%. */
export const percentTick = (v: number) => `${Number((v * 100).toPrecision(4))}%`;

/** A value axis' title, written upwards along it and centred on it. */
export const yAxisTitle = (value: string) => ({
  value,
  angle: -90,
  position: 'insideLeft' as const,
  offset: 4,
  style: { textAnchor: 'middle' as const },
});

/** The step or category axis' title, centred under its tick labels. */
export const xAxisTitle = (value: string) => ({
  value,
  position: 'insideBottom' as const,
  offset: 0,
});

/** Height of an x axis with a title under its tick labels, and the margin that keeps it whole. */
export const TITLED_X_AXIS_HEIGHT = 40;
export const TITLED_MARGIN = { ...MARGIN, bottom: 8 };
