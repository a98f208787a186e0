import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { color } from './palette';
import { staggered } from './stagger';
import { niceTicks } from './ticks';

/** One value per layer (estimation error, sparsity, …); the bars move as training goes. */
export const LayersChart = staggered(function LayersChart({
  title,
  snapshot,
}: {
  title: string;
  snapshot: LayersSnapshot;
}) {
  const data = snapshot.labels.map((layer, i) => ({ layer, value: snapshot.values[i] }));
  const yTicks = niceTicks(Math.min(0, ...snapshot.values), Math.max(0, ...snapshot.values));
  return (
    <figure className="chart" data-testid={`layers-${title}`} data-points={data.length}>
      <figcaption>
        <strong>{title}</strong>
        <span className="muted">per layer @ step {snapshot.step}</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <XAxis dataKey="layer" interval={0} />
          <YAxis
            domain={[yTicks[0], yTicks[yTicks.length - 1]]}
            ticks={yTicks}
            niceTicks="none"
            width={56}
            tickFormatter={(v: number) => formatNumber(v)}
          />
          <Tooltip isAnimationActive={false} formatter={(v) => formatNumber(Number(v))} />
          {/* Each update redraws the bars at once: a tween would re-render every frame. */}
          <Bar dataKey="value" fill={color(0)} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
});
