import { Bar, BarChart, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { TITLED_MARGIN, TITLED_X_AXIS_HEIGHT, valueYAxis, xAxisTitle, yAxisTitle } from './axes';
import { describeLayers } from './describe';
import { ChartFigure } from './figure';
import { color } from './palette';
import { staggered } from './stagger';

/** One bar series: a run's (or a view's) per-layer values, in its colour. */
export interface LayerSeries {
  id: string;
  name: string;
  color: string;
  snapshot: LayersSnapshot;
}

/**
 * Per-layer values of a `layers` key as bars, one series or several grouped by layer (layers
 * in first-seen order; a series without a layer leaves a gap).
 */
export function LayerBars({
  layersKey,
  series,
  note,
  testId,
  height = 240,
}: {
  layersKey: string;
  series: LayerSeries[];
  note?: string;
  testId: string;
  height?: number;
}) {
  const text = describeLayers(layersKey);
  const labels = [...new Set(series.flatMap((s) => s.snapshot.labels))];
  const data = labels.map((layer) => {
    const entry: Record<string, string | number> = { layer };
    for (const s of series) {
      const at = s.snapshot.labels.indexOf(layer);
      if (at >= 0) entry[s.id] = s.snapshot.values[at];
    }
    return entry;
  });
  const values = series.flatMap((s) => s.snapshot.values);
  return (
    <ChartFigure
      title={text.title}
      note={note ?? text.caption}
      height={height}
      data-testid={testId}
      data-points={values.length}
      table={() => ({
        columns: [text.x ?? 'layer', ...series.map((s) => s.name)],
        rows: data.map((d) => [
          d.layer,
          ...series.map((s) => (s.id in d ? formatNumber(Number(d[s.id])) : '')),
        ]),
      })}
    >
      <BarChart data={data} margin={TITLED_MARGIN}>
        <XAxis
          dataKey="layer"
          interval={0}
          height={TITLED_X_AXIS_HEIGHT}
          label={xAxisTitle(text.x ?? 'layer')}
        />
        <YAxis
          {...valueYAxis(Math.min(0, ...values), Math.max(0, ...values))}
          label={text.y && yAxisTitle(text.y)}
        />
        <Tooltip isAnimationActive={false} formatter={(v) => formatNumber(Number(v))} />
        {series.length > 1 && <Legend />}
        {/* Each update redraws the bars at once: a tween would re-render every frame. */}
        {series.map((s) => (
          <Bar key={s.id} dataKey={s.id} name={s.name} fill={s.color} isAnimationActive={false} />
        ))}
      </BarChart>
    </ChartFigure>
  );
}

/** One value per layer (estimation error, sparsity, …); the bars move as training goes. */
export const LayersChart = staggered(function LayersChart({
  title,
  snapshot,
}: {
  title: string;
  snapshot: LayersSnapshot;
}) {
  const text = describeLayers(title);
  return (
    <LayerBars
      layersKey={title}
      series={[{ id: 'value', name: text.y ?? 'value', color: color(0), snapshot }]}
      note={`${text.caption ? `${text.caption} ` : ''}At step ${snapshot.step}.`}
      testId={`layers-${title}`}
    />
  );
});
