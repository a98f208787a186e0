import { Scatter, ScatterChart, XAxis, YAxis, ZAxis } from 'recharts';
import type { EmbeddingEvent } from '../../state/runs';
import { MARGIN } from './axes';
import { ChartFigure } from './figure';
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
    <ChartFigure
      title={title}
      note={`${labels.length} points @ step ${event.step}`}
      height={260}
      data-testid={`embedding-${title}`}
      data-points={labels.length}
    >
      <ScatterChart margin={MARGIN}>
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
    </ChartFigure>
  );
});
