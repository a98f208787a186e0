// The sweep's charts: accuracy against the grid parameter (the paper's Fig. 3, μ-sensitivity)
// and the per-layer estimation-error ratio to layer-wise distillation (Fig. 2). They change
// only when a run of the sweep ends, but draw on their turn like every chart (stagger.tsx).
import { ErrorBar, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber, formatPercent } from '../../format';
import type { RatioSeries, SensitivitySeries } from '../../state/sweeps';
import { MARGIN, numberXAxis, valueYAxis, yAxisTitle } from './axes';
import { estimationErrorKey } from '../../../core/metrics/error-keys';
import {
  ErrorViewSelects,
  type ErrorViewChoice,
  type errorViewChoices,
} from './EstimationErrorChart';
import { ChartFigure } from './figure';
import { color } from './palette';
import { staggered } from './stagger';

const HEIGHT = 300;

/** Line styles for a second dimension, after colour took the first. */
const DASHES = [undefined, '2 3', '8 3 2 3', '12 4'];
const FLAT_DASHES = ['6 4', '3 5', '10 5', '1 4'];

/** Each distinct value its index, in order of first appearance. */
function indexer<T>(): (v: T) => number {
  const seen = new Map<T, number>();
  return (v) => {
    if (!seen.has(v)) seen.set(v, seen.size);
    return seen.get(v)!;
  };
}

/** Mean test accuracy (%) against the grid value, ± std over seeds as error bars. */
export const SensitivityChart = staggered(function SensitivityChart({
  param,
  series,
}: {
  param: string;
  series: SensitivitySeries[];
}) {
  const drawn = series.filter((s) => s.points.length > 0);
  const all = drawn.flatMap((s) => s.points);
  const points = drawn.filter((s) => !s.flat).reduce((n, s) => n + s.points.length, 0);
  const xs = all.map((p) => p.x);
  // Colour is K, line style the method: a method's lines at one K are compared at a glance.
  const kIndex = indexer<number>();
  const gridMethod = indexer<string>();
  const flatMethod = indexer<string>();
  return (
    <ChartFigure
      title={`Accuracy against ${param}`}
      note={`mean ± std over seeds, one line per method and K${
        drawn.some((s) => s.flat) ? `; dashed: methods without ${param}` : ''
      }`}
      height={HEIGHT}
      empty={all.length === 0 ? 'No run has finished yet.' : undefined}
      data-testid="sweep-sensitivity"
      data-points={points}
      table={() => ({
        columns: ['method and K', param, 'accuracy (mean)', 'std', 'seeds'],
        rows: drawn.flatMap((s) =>
          s.points.map((p) => [
            s.label,
            s.flat ? '(any)' : formatNumber(p.x),
            formatPercent(p.mean),
            formatPercent(p.std),
            p.n,
          ]),
        ),
      })}
    >
      <LineChart margin={{ ...MARGIN, bottom: 8 }}>
        <XAxis
          {...numberXAxis('x', Math.min(...xs), Math.max(...xs))}
          height={42}
          label={{ value: param, position: 'insideBottom', offset: 2 }}
        />
        {/* Accuracy never passes 100 %: an error bar that would is clipped. */}
        <YAxis
          {...valueYAxis(
            Math.min(...all.map((p) => (p.mean - p.std) * 100)),
            Math.min(100, Math.max(...all.map((p) => (p.mean + p.std) * 100))),
            (v) => `${formatNumber(v)}%`,
          )}
          allowDataOverflow
        />
        <Tooltip
          isAnimationActive={false}
          formatter={(v) => `${Number(v).toFixed(2)}%`}
          labelFormatter={(v) => `${param} = ${String(v)}`}
        />
        <Legend verticalAlign="bottom" iconType="plainline" />
        {drawn.map((s) => {
          const stroke = color(kIndex(s.shotsPerClass));
          const dash = s.flat
            ? FLAT_DASHES[flatMethod(s.method) % FLAT_DASHES.length]
            : DASHES[gridMethod(s.method) % DASHES.length];
          return (
            <Line
              key={s.label}
              name={s.label}
              data={s.points.map((p) => ({ x: p.x, y: p.mean * 100, err: p.std * 100 }))}
              dataKey="y"
              stroke={stroke}
              strokeWidth={s.flat ? 1.5 : 2}
              strokeDasharray={dash}
              dot={!s.flat}
              isAnimationActive={false}
            >
              {!s.flat && (
                <ErrorBar
                  dataKey="err"
                  width={6}
                  stroke={stroke}
                  strokeWidth={1.5}
                  isAnimationActive={false}
                />
              )}
            </Line>
          );
        })}
      </LineChart>
    </ChartFigure>
  );
});

/** Estimation error of a method over layer-wise distillation's, per layer; below 1 is better. */
export const ErrorRatioChart = staggered(function ErrorRatioChart({
  series,
  view,
  setView,
  choices,
}: {
  series: RatioSeries[];
  view: ErrorViewChoice;
  setView: (v: ErrorViewChoice) => void;
  choices: ReturnType<typeof errorViewChoices>;
}) {
  const layers = series[0]?.labels ?? [];
  const data = layers.map((layer, i) => ({
    layer,
    ...Object.fromEntries(series.map((s, j) => [`s${j}`, s.values[i]])),
  }));
  const values = series.flatMap((s) => s.values);
  // Colour is the method and grid cell (μ), line style K.
  const rowIndex = indexer<string>();
  const kIndex = indexer<number>();
  return (
    <ChartFigure
      title="Estimation error relative to layer-wise distillation, per layer (Fig. 2)"
      note={
        <>
          Each method’s error on held-out test images divided by layer-wise distillation’s (same K
          and seeds, errors summed over seeds): below 1, the method’s layer is closer to the
          teacher’s there. <ErrorViewSelects view={view} onChange={setView} {...choices} />
        </>
      }
      height={HEIGHT + 60}
      empty={series.length === 0 ? 'No finished pair of runs reported this view.' : undefined}
      data-testid="sweep-error-ratio"
      data-view={estimationErrorKey({ ...view, data: 'held-out' })}
      table={() => ({
        columns: ['layer', ...series.map((s) => s.label)],
        rows: data.map((d, i) => [d.layer, ...series.map((s) => formatNumber(s.values[i]))]),
      })}
      data-series={series.length}
      data-points={values.length}
    >
      <LineChart data={data} margin={{ ...MARGIN, left: 8 }}>
        <XAxis dataKey="layer" interval={0} />
        <YAxis
          {...valueYAxis(Math.min(1, ...values), Math.max(1, ...values))}
          label={yAxisTitle('÷ layer-wise error')}
        />
        <Tooltip isAnimationActive={false} formatter={(v) => formatNumber(Number(v))} />
        <Legend verticalAlign="bottom" iconType="plainline" />
        <ReferenceLine y={1} stroke="var(--muted)" strokeDasharray="4 4" />
        {series.map((s, j) => (
          <Line
            key={s.label}
            name={s.label}
            dataKey={`s${j}`}
            stroke={color(rowIndex(s.row))}
            strokeDasharray={DASHES[kIndex(s.shotsPerClass) % DASHES.length]}
            strokeWidth={2}
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ChartFigure>
  );
});
