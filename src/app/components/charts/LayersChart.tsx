import { Bar, BarChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { MARGIN, valueYAxis } from './axes';
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
  return (
    <ChartFigure
      title={title}
      note={`per layer @ step ${snapshot.step}`}
      height={220}
      data-testid={`layers-${title}`}
      data-points={data.length}
    >
      <BarChart data={data} margin={MARGIN}>
        <XAxis dataKey="layer" interval={0} />
        <YAxis {...valueYAxis(Math.min(0, ...snapshot.values), Math.max(0, ...snapshot.values))} />
        <Tooltip isAnimationActive={false} formatter={(v) => formatNumber(Number(v))} />
        {/* Each update redraws the bars at once: a tween would re-render every frame. */}
        <Bar dataKey="value" fill={color(0)} isAnimationActive={false} />
      </BarChart>
    </ChartFigure>
  );
});
