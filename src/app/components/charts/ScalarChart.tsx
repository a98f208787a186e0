import { useEffect, useState } from 'react';
import { Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber, formatPercent } from '../../format';
import type { Point } from '../../state/lttb';
import {
  accuracyYAxis,
  TITLED_MARGIN,
  numberXAxis,
  TITLED_X_AXIS_HEIGHT,
  valueYAxis,
  xAxisTitle,
  yAxisTitle,
} from './axes';
import { describeScalars } from './describe';
import { ChartFigure, seriesTable } from './figure';
import { color } from './palette';
import { staggered } from './stagger';

/** Series whose keys share a first segment ('loss', 'loss/soft') are drawn in one chart. */
export function groupScalars(keys: readonly string[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const key of [...keys].sort()) {
    const group = key.split('/')[0];
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }
  return [...groups];
}

interface Props {
  title: string;
  keys: string[];
  scalars: Record<string, Point[]>;
  /** Where the run's phases began: drawn as labelled vertical lines. */
  stages?: readonly { step: number; label: string }[];
}

// Drawn for streaming: no animation (a series changes ten times a second), no grid, and axis
// ticks of our own (axes.ts); each of these costs recharts milliseconds per update.
/**
 * Where a stage line's label goes, by where the line is across the chart (0 left … 1 right):
 * right of it near the left edge, left of it near the right edge, centred on it between, so
 * a label as long as "learning rate 0.001 → 0.0001" stays inside a narrow chart.
 */
function stageLabelPosition(at: number): 'insideTopLeft' | 'insideTop' | 'insideTopRight' {
  return at < 0.3 ? 'insideTopLeft' : at > 0.7 ? 'insideTopRight' : 'insideTop';
}

function ScalarChartView({ title, keys, scalars, stages = [] }: Props) {
  // Accuracies are fractions, read as percentages everywhere.
  const accuracy = title === 'accuracy';
  const format = accuracy ? formatPercent : formatNumber;
  const total = keys.reduce((n, k) => n + scalars[k].length, 0);
  const latest = keys.map((k) => {
    const points = scalars[k];
    return `${k} ${format(points[points.length - 1].value)}`;
  });
  const all = keys.flatMap((k) => scalars[k]);
  const firstStep = Math.min(...all.map((p) => p.step));
  const lastStep = Math.max(...all.map((p) => p.step));
  const values = all.map((p) => p.value);
  const text = describeScalars(title);
  return (
    <ChartFigure
      title={text.title}
      note={`${text.caption ? `${text.caption} ` : ''}Latest: ${latest.join(' · ')} @ step ${lastStep}`}
      height={240}
      data-testid={`chart-${title}`}
      data-points={total}
      table={() =>
        seriesTable(
          keys,
          keys.map((k) => scalars[k]),
          format,
        )
      }
    >
      <LineChart margin={TITLED_MARGIN}>
        <XAxis
          {...numberXAxis('step', firstStep, lastStep)}
          height={TITLED_X_AXIS_HEIGHT}
          label={xAxisTitle(text.x ?? 'step')}
        />
        <YAxis
          label={text.y && yAxisTitle(text.y)}
          {...(accuracy
            ? accuracyYAxis(Math.min(...values), Math.max(...values))
            : valueYAxis(Math.min(...values), Math.max(...values)))}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={(v) => format(Number(v))}
          labelFormatter={(v) => `step ${String(v)}`}
        />
        {keys.length > 1 && <Legend />}
        {stages
          .filter((s) => s.step >= firstStep && s.step <= lastStep)
          .map((s) => (
            <ReferenceLine
              key={`${s.step} ${s.label}`}
              x={s.step}
              stroke="var(--muted)"
              strokeDasharray="2 3"
              label={{
                value: s.label,
                position: stageLabelPosition((s.step - firstStep) / (lastStep - firstStep || 1)),
                fontSize: 10,
                fill: 'var(--muted)',
              }}
            />
          ))}
        {keys.map((k, i) => (
          <Line
            key={k}
            name={k}
            data={scalars[k]}
            dataKey="value"
            stroke={color(i)}
            strokeWidth={2}
            // Few points are invisible as a line alone.
            dot={scalars[k].length < 30}
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ChartFigure>
  );
}

// Redraw only when one of this chart's own series changed.
export const ScalarChart = staggered(
  ScalarChartView,
  (a, b) =>
    a.title === b.title &&
    a.stages === b.stages &&
    a.keys.length === b.keys.length &&
    a.keys.every((k, i) => k === b.keys[i] && a.scalars[k] === b.scalars[k]),
);

const WARMUP: Props = {
  title: 'warmup',
  keys: ['a', 'a/b'],
  scalars: {
    a: [
      { step: 0, value: 1 },
      { step: 1, value: 0 },
    ],
    'a/b': [{ step: 0, value: 0 }],
  },
};

/**
 * Draws one throwaway chart off-screen when the page starts, then removes it: V8 compiles
 * recharts' many components lazily, and that first compile (over 100 ms on 2 busy cores) would
 * otherwise land in the middle of the first run's stream.
 */
export function ChartWarmup() {
  const [done, setDone] = useState(false);
  useEffect(() => {
    const id = setTimeout(() => setDone(true));
    return () => clearTimeout(id);
  }, []);
  return done ? null : (
    <div className="warmup" aria-hidden="true">
      <ScalarChartView {...WARMUP} />
    </div>
  );
}
