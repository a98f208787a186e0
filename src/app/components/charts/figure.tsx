// The frame of every chart and table of the run and sweep views: a figure with a caption.
import { useState, type ReactNode } from 'react';
import { ResponsiveContainer } from 'recharts';

/** A chart's numbers as a table: what a screen reader reads instead of the drawing. */
export interface DataTable {
  columns: string[];
  rows: (string | number)[][];
}

/** Columns and rows as a table; numbers are right-aligned and read through `format`. */
export function PlainTable({
  table,
  format = String,
}: {
  table: DataTable;
  format?: (v: number) => string;
}) {
  return (
    <table>
      <thead>
        <tr>
          {table.columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((row, i) => (
          <tr key={i}>
            {row.map((cell, j) => (
              <td key={j} className={typeof cell === 'number' ? 'num' : undefined}>
                {typeof cell === 'number' ? format(cell) : cell}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The chart's data table under it, folded; its rows are made only when it is opened, so a
 * streaming chart does not rebuild a hidden table ten times a second.
 */
function DataTableDetails({ table }: { table: () => DataTable }) {
  const [open, setOpen] = useState(false);
  const shown = open ? table() : undefined;
  return (
    <details className="data-table" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Data table</summary>
      {shown && (
        <div className="table-scroll" tabIndex={0}>
          <PlainTable table={shown} />
        </div>
      )}
    </details>
  );
}

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
 * A chart at the figure's width: a recharts chart in a container `height` tall, or, without
 * `height`, one that sizes itself (LinePlot). `empty`, a message, stands in for it without data.
 * `wide` takes two columns of the chart grid where there are two.
 */
export function ChartFigure({
  height,
  empty,
  wide,
  table,
  footer,
  children,
  ...figure
}: FigureProps & {
  height?: number;
  empty?: string;
  wide?: boolean;
  /** Under the chart and its data table: controls the chart feeds. */
  footer?: ReactNode;
  /** The drawn numbers, made on demand for the "Data table" under the chart. */
  table?: () => DataTable;
  children: ReactNode;
}) {
  return (
    <Figure className={wide ? 'chart wide' : 'chart'} {...figure}>
      {empty ? (
        <p className="muted chart-empty">{empty}</p>
      ) : (
        <>
          {height === undefined ? (
            children
          ) : (
            <ResponsiveContainer width="100%" height={height}>
              {children}
            </ResponsiveContainer>
          )}
          {table && <DataTableDetails table={table} />}
          {footer}
        </>
      )}
    </Figure>
  );
}

/**
 * Series of (step, value) points as one table: a row per step, a column per series, blank
 * where a series has no point at that step.
 */
export function seriesTable(
  names: string[],
  series: (readonly { step: number; value: number }[] | undefined)[],
  format: (v: number) => string,
): DataTable {
  const byStep = new Map<number, (string | number)[]>();
  series.forEach((points, k) => {
    for (const p of points ?? []) {
      const row = byStep.get(p.step) ?? [p.step, ...names.map(() => '')];
      row[k + 1] = format(p.value);
      byStep.set(p.step, row);
    }
  });
  return { columns: ['step', ...names], rows: [...byStep.values()].sort((a, b) => +a[0] - +b[0]) };
}

/** A table that scrolls sideways when wider than its column (focusable, so keys scroll it). */
export function TableFigure({ children, ...figure }: FigureProps & { children: ReactNode }) {
  return (
    <Figure className="chart wide table-figure" {...figure}>
      <div className="table-scroll" tabIndex={0}>
        {children}
      </div>
    </Figure>
  );
}
