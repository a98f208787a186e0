// The frame of every chart and table of the run and sweep views: a figure with a caption.
import type { ReactNode } from 'react';
import { ResponsiveContainer } from 'recharts';

interface FigureProps {
  title: ReactNode;
  /** Muted after the title: the latest values, what a value is the mean of. */
  note?: ReactNode;
  /** data-testid, data-points and the like, for the e2e tests. */
  [data: `data-${string}`]: string | number | undefined;
}

export function Figure({
  className,
  title,
  note,
  children,
  ...data
}: FigureProps & { className: string; children: ReactNode }) {
  return (
    <figure className={className} {...data}>
      <figcaption>
        <strong>{title}</strong>
        {note !== undefined && <span className="muted">{note}</span>}
      </figcaption>
      {children}
    </figure>
  );
}

/**
 * A recharts chart at the figure's width; `empty`, a message, stands in for it without data.
 * `wide` takes two columns of the chart grid where there are two.
 */
export function ChartFigure({
  height,
  empty,
  wide,
  children,
  ...figure
}: FigureProps & { height: number; empty?: string; wide?: boolean; children: ReactNode }) {
  return (
    <Figure className={wide ? 'chart wide' : 'chart'} {...figure}>
      {empty ? (
        <p className="muted chart-empty">{empty}</p>
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          {children}
        </ResponsiveContainer>
      )}
    </Figure>
  );
}

/** A table that scrolls sideways when wider than its column (focusable, so keys scroll it). */
export function TableFigure({ children, ...figure }: FigureProps & { children: ReactNode }) {
  return (
    <Figure className="chart table-figure" {...figure}>
      <div className="table-scroll" tabIndex={0}>
        {children}
      </div>
    </Figure>
  );
}
