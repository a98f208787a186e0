import { formatNumber, formatPercent } from '../../format';
import type { Point } from '../../state/lttb';
import { accuracyRange, axisTicks, percentTick } from './axes';
import { describeScalars } from './describe';
import { ChartFigure, seriesTable } from './figure';
import { LinePlot } from './plot';
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
      <LinePlot
        height={240}
        ariaLabel={`${text.title}: ${latest.join(', ')}`}
        x={{ ticks: axisTicks(firstStep, lastStep), format: formatNumber, title: text.x ?? 'step' }}
        y={{
          ticks: accuracy
            ? axisTicks(...accuracyRange(Math.min(...values), Math.max(...values)), 1)
            : axisTicks(Math.min(...values), Math.max(...values)),
          format: accuracy ? percentTick : formatNumber,
          title: text.y,
        }}
        formatValue={format}
        marks={stages.map((s) => ({ x: s.step, label: s.label }))}
        series={keys.map((k, i) => ({
          name: k,
          color: color(i),
          points: scalars[k].map((p) => ({ x: p.step, y: p.value })),
        }))}
      />
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
