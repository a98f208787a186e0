import { Bar, BarChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { TITLED_MARGIN, TITLED_X_AXIS_HEIGHT, valueYAxis, xAxisTitle, yAxisTitle } from './axes';
import { describeLayers } from './describe';
import { ChartFigure } from './figure';
import { color } from './palette';
import { staggered } from './stagger';

/** One value per layer (estimation error, sparsity, …); the bars move as training goes. */
export const LayersChart = staggered(function LayersChart({
  title,
  snapshot,
}: {
  title: string;
  snapshot: LayersSnapshot;
}) {
  const data = snapshot.labels.map((layer, i) => ({ layer, value: snapshot.values[i] }));
  const text = describeLayers(title);
  return (
    <ChartFigure
      title={text.title}
      note={`${text.caption ? `${text.caption} ` : ''}At step ${snapshot.step}.`}
      height={240}
      data-testid={`layers-${title}`}
      data-points={data.length}
      table={() => ({
        columns: [text.x ?? 'layer', text.y ?? 'value'],
        rows: data.map((d) => [d.layer, formatNumber(d.value)]),
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
          {...valueYAxis(Math.min(0, ...snapshot.values), Math.max(0, ...snapshot.values))}
          label={text.y && yAxisTitle(text.y)}
        />
        <Tooltip isAnimationActive={false} formatter={(v) => formatNumber(Number(v))} />
        {/* Each update redraws the bars at once: a tween would re-render every frame. */}
        <Bar dataKey="value" fill={color(0)} isAnimationActive={false} />
      </BarChart>
    </ChartFigure>
  );
});
