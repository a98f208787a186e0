import { Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber, formatPercent } from '../../format';
import type { CurveEvent } from '../../state/runs';
import {
  accuracyYAxis,
  numberXAxis,
  TITLED_MARGIN,
  TITLED_X_AXIS_HEIGHT,
  valueYAxis,
  xAxisTitle,
  yAxisTitle,
} from './axes';
import { describeCurves } from './describe';
import { ChartFigure } from './figure';
import { color } from './palette';
import { staggered } from './stagger';

/** Curves on shared axes (ROC curves of detectors), one line and legend entry per series. */
export const CurveChart = staggered(function CurveChart({
  title,
  event,
  onPointClick,
  children,
}: {
  title: string;
  event: CurveEvent;
  /** A click on a point of a series (the sensitivity chart sets that layer's ratio). */
  onPointClick?: (series: string, x: number) => void;
  /** Shown under the chart (the controls a click feeds). */
  children?: React.ReactNode;
}) {
  const text = describeCurves(title);
  const formatY = text.percent ? formatPercent : formatNumber;
  const xs = event.series.flatMap((s) => s.x);
  const ys = event.series.flatMap((s) => s.y);
  return (
    <ChartFigure
      title={text.title}
      note={`${text.caption ? `${text.caption} ` : ''}At step ${event.step}.`}
      height={300}
      empty={xs.length === 0 ? 'No curve has points.' : undefined}
      data-testid={`curve-${title}`}
      data-series={event.series.length}
      data-points={xs.length}
      footer={children}
      table={() => ({
        columns: ['curve', event.xLabel, event.yLabel],
        rows: event.series.flatMap((c) =>
          c.x.map((x, i) => [c.name, formatNumber(x), formatY(c.y[i])]),
        ),
      })}
    >
      <LineChart margin={TITLED_MARGIN}>
        <XAxis
          {...numberXAxis('x', Math.min(...xs), Math.max(...xs))}
          height={TITLED_X_AXIS_HEIGHT}
          label={xAxisTitle(event.xLabel)}
        />
        <YAxis
          {...(text.percent
            ? accuracyYAxis(Math.min(...ys), Math.max(...ys))
            : valueYAxis(
                Math.min(...ys),
                Math.max(...ys),
                formatNumber,
                // Rates are fractions: no tick above 1.
                text.chance ? 1 : undefined,
              ))}
          label={yAxisTitle(event.yLabel)}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={(v) => formatY(Number(v))}
          labelFormatter={(v) => `${event.xLabel} ${formatNumber(Number(v))}`}
        />
        <Legend />
        {text.chance && (
          <ReferenceLine
            segment={[
              { x: 0, y: 0 },
              { x: 1, y: 1 },
            ]}
            stroke="var(--muted)"
            strokeDasharray="4 4"
          />
        )}
        {event.series.map((s, i) => (
          <Line
            key={s.name}
            name={s.name}
            data={s.x.map((x, j) => ({ x, y: s.y[j] }))}
            dataKey="y"
            stroke={color(i)}
            strokeWidth={2}
            dot={s.x.length < 30}
            activeDot={
              onPointClick && {
                r: 6,
                cursor: 'pointer',
                onClick: (_: unknown, e: unknown) => {
                  const x = (e as { payload?: { x?: number } }).payload?.x;
                  if (x !== undefined) onPointClick(s.name, x);
                },
              }
            }
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ChartFigure>
  );
});
