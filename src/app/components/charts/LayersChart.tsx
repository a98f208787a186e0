import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { axisTicks } from './axes';
import { describeLayers } from './describe';
import { ChartFigure } from './figure';
import { BarPlot } from './plot';
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
  const bySeries = series.map((s) =>
    labels.map((layer) => {
      const at = s.snapshot.labels.indexOf(layer);
      return at < 0 ? undefined : s.snapshot.values[at];
    }),
  );
  const values = series.flatMap((s) => s.snapshot.values);
  return (
    <ChartFigure
      title={text.title}
      note={note ?? text.caption}
      data-testid={testId}
      data-points={values.length}
      table={() => ({
        columns: [text.x ?? 'layer', ...series.map((s) => s.name)],
        rows: labels.map((layer, i) => [
          layer,
          ...bySeries.map((v) => (v[i] === undefined ? '' : formatNumber(v[i]))),
        ]),
      })}
    >
      <BarPlot
        height={height}
        categories={labels}
        series={series.map((s, k) => ({
          name: s.name,
          color: s.color,
          values: bySeries[k],
        }))}
        y={{
          ticks: axisTicks(Math.min(0, ...values), Math.max(0, ...values)),
          format: formatNumber,
          title: text.y,
        }}
        xTitle={text.x ?? 'layer'}
        formatValue={formatNumber}
        ariaLabel={text.title}
      />
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
