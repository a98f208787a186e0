import { ResponsiveContainer, Scatter, ScatterChart, XAxis, YAxis, ZAxis } from 'recharts';
import type { EmbeddingEvent } from '../../state/runs';
import { color } from './palette';
import { staggered } from './stagger';

/** 2-D points (e.g. UMAP of decision features) coloured by class. */
export const EmbeddingChart = staggered(function EmbeddingChart({
  title,
  event,
}: {
  title: string;
  event: EmbeddingEvent;
}) {
  const { points, labels } = event;
  const byClass = new Map<number, { x: number; y: number }[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push({ x: points[2 * i], y: points[2 * i + 1] });
    byClass.set(labels[i], list);
  }
  return (
    <figure className="chart" data-testid={`embedding-${title}`} data-points={labels.length}>
      <figcaption>
        <strong>{title}</strong>
        <span className="muted">
          {labels.length} points @ step {event.step}
        </span>
      </figcaption>
      <ResponsiveContainer width="100%" height={260}>
        <ScatterChart margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <XAxis dataKey="x" type="number" hide niceTicks="none" />
          <YAxis dataKey="y" type="number" hide niceTicks="none" />
          {/* Small dots: hundreds of points overlap. */}
          <ZAxis range={[14, 14]} />
          {[...byClass].map(([label, data]) => (
            <Scatter
              key={label}
              name={String(label)}
              data={data}
              fill={color(label)}
              isAnimationActive={false}
              shape="circle"
            />
          ))}
        </ScatterChart>
      </ResponsiveContainer>
    </figure>
  );
});
