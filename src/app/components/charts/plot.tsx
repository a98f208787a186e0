// The charts a run redraws while it streams — its curves (losses, accuracy) and its per-layer
// bars — drawn as a few SVG elements. recharts needs 40–76 ms per redraw of such a chart on a
// busy 2-core machine, each a long task (docs/results/performance.md); these draw one path per
// series or one rect per bar, with their ticks and labels, in a millisecond or two. They keep
// what those charts had: axes with round ticks and titles, a legend, labelled vertical marks and
// a tooltip for what is under the pointer.
import { useEffect, useRef, useState, type PointerEvent, type ReactNode } from 'react';

import { labelRows } from './ticks';

export interface PlotPoint {
  x: number;
  y: number;
}

/** A value axis: round ticks (the first and last its ends), their labels and its title. */
export interface PlotAxis {
  ticks: readonly number[];
  format: (v: number) => string;
  title?: string;
}

/** A labelled vertical line (where a run's phase began). */
export interface PlotMark {
  x: number;
  label: string;
}

/** What the tooltip lists: a heading (the step, the layer) and a value per series there. */
interface Hovered {
  /** Where it points, in pixels from the left. */
  left: number;
  heading: string;
  values: { name: string; color: string; value: string }[];
}

// Room for the tick labels and axis titles, in pixels (the y labels fit "0.0001" and "100%").
const PAD = { top: 8, right: 16, bottom: 40, left: 72 };
// Few points are invisible as a line alone.
const DOTS_BELOW = 30;

/**
 * The width of an element, followed as it resizes (0 until first measured). Read from the
 * ResizeObserver's entries, which come after the browser's own layout: reading clientWidth on
 * mount would force a layout of the whole page (25–50 ms when a run's charts first appear).
 */
function useWidth() {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const observer = new ResizeObserver(([entry]) => setWidth(entry.contentRect.width));
    observer.observe(ref.current!);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

/** Where a label along the x axis goes (0 left … 1 right), so it stays inside the chart. */
const anchorAt = (at: number): 'start' | 'middle' | 'end' =>
  at < 0.3 ? 'start' : at > 0.7 ? 'end' : 'middle';

/**
 * The frame both plots share: the measured width, the value axis on the left, the x axis' ticks
 * (positions and labels) and title, the tooltip and the legend; `draw` draws the data inside
 * the plot area and `hoverAt` says what lies under the pointer at an x in pixels.
 */
function PlotFrame({
  height,
  y,
  xTicks,
  xTitle,
  legend,
  ariaLabel,
  draw,
  hoverAt,
}: {
  height: number;
  y: PlotAxis;
  xTicks: (plotW: number) => { at: number; label: string }[];
  xTitle?: string;
  legend: readonly { name: string; color: string }[];
  ariaLabel: string;
  draw: (area: { plotW: number; plotH: number; sy: (v: number) => number }) => ReactNode;
  hoverAt: (px: number, plotW: number) => Hovered | undefined;
}) {
  const [ref, width] = useWidth();
  const [hovered, setHovered] = useState<Hovered | undefined>(undefined);
  const plotW = Math.max(width - PAD.left - PAD.right, 1);
  const plotH = height - PAD.top - PAD.bottom;
  const [y0, y1] = [y.ticks[0], y.ticks[y.ticks.length - 1]];
  const sy = (v: number) => PAD.top + (1 - (v - y0) / (y1 - y0 || 1)) * plotH;
  const onPointerMove = (e: PointerEvent<SVGSVGElement>) =>
    setHovered(hoverAt(e.clientX - e.currentTarget.getBoundingClientRect().left, plotW));

  return (
    <div ref={ref} className="plot" style={{ minHeight: height }}>
      {width > 0 && (
        <svg
          width={width}
          height={height}
          role="img"
          aria-label={ariaLabel}
          onPointerMove={onPointerMove}
          onPointerLeave={() => setHovered(undefined)}
        >
          <g className="plot-axis">
            <line x1={PAD.left} x2={PAD.left + plotW} y1={PAD.top + plotH} y2={PAD.top + plotH} />
            <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={PAD.top + plotH} />
            {xTicks(plotW).map((t) => (
              <g key={t.at} transform={`translate(${t.at},${PAD.top + plotH})`}>
                <line y2={5} />
                <text y={17} textAnchor="middle">
                  {t.label}
                </text>
              </g>
            ))}
            {y.ticks.map((t) => (
              <g key={t} transform={`translate(${PAD.left},${sy(t)})`}>
                <line x2={-5} />
                <text x={-8} dy="0.32em" textAnchor="end">
                  {y.format(t)}
                </text>
              </g>
            ))}
            {xTitle && (
              <text x={PAD.left + plotW / 2} y={height - 4} textAnchor="middle">
                {xTitle}
              </text>
            )}
            {y.title && (
              <text
                transform={`translate(12,${PAD.top + plotH / 2}) rotate(-90)`}
                textAnchor="middle"
              >
                {y.title}
              </text>
            )}
          </g>
          {draw({ plotW, plotH, sy })}
          {hovered && (
            <line
              className="plot-cursor"
              x1={hovered.left}
              x2={hovered.left}
              y1={PAD.top}
              y2={PAD.top + plotH}
            />
          )}
        </svg>
      )}
      {hovered && hovered.values.length > 0 && (
        <div
          className="plot-tooltip"
          // Beside the cursor line, on the side with more room.
          style={
            hovered.left > width / 2
              ? { right: width - hovered.left + 8 }
              : { left: hovered.left + 8 }
          }
        >
          <div>{hovered.heading}</div>
          {hovered.values.map((h) => (
            <div key={h.name}>
              <span className="swatch" style={{ background: h.color }} aria-hidden="true" />{' '}
              {h.name}: {h.value}
            </div>
          ))}
        </div>
      )}
      {legend.length > 1 && (
        <ul className="plot-legend">
          {legend.map((s) => (
            <li key={s.name} className="legend-item">
              <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
              {s.name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// A mark label's line height and the width of one of its characters, in pixels (10-px text).
const MARK_ROW = 12;
const MARK_CHAR = 6;

/**
 * Where each mark and its label go: the label beside its line, inside the chart, and on a row
 * below any label it would run into (phases that begin a few steps apart).
 */
function placeMarks(
  marks: readonly PlotMark[],
  toPixels: (x: number) => number,
  fraction: (x: number) => number,
) {
  const placed = marks.map((mark) => {
    const left = toPixels(mark.x);
    const anchor = anchorAt(fraction(mark.x));
    const dx = anchor === 'start' ? 4 : anchor === 'end' ? -4 : 0;
    const width = MARK_CHAR * mark.label.length;
    const from = left + dx - (anchor === 'end' ? width : anchor === 'middle' ? width / 2 : 0);
    return { mark, left, anchor, dx, span: { from, to: from + width } };
  });
  const rows = labelRows(placed.map((p) => p.span));
  return placed.map((p, i) => ({ ...p, row: rows[i] }));
}

/** Lines over a numeric x axis (steps), one per series. */
export function LinePlot({
  height,
  series,
  x,
  y,
  marks = [],
  formatValue,
  ariaLabel,
}: {
  height: number;
  series: readonly { name: string; color: string; points: readonly PlotPoint[] }[];
  x: PlotAxis;
  y: PlotAxis;
  marks?: readonly PlotMark[];
  /** A value in the tooltip. */
  formatValue: (v: number) => string;
  /** What the drawing shows, for screen readers (its numbers are in the data table). */
  ariaLabel: string;
}) {
  const [x0, x1] = [x.ticks[0], x.ticks[x.ticks.length - 1]];
  const fraction = (v: number) => (v - x0) / (x1 - x0 || 1);
  const sx = (v: number, plotW: number) => PAD.left + fraction(v) * plotW;
  // The tooltip snaps to the nearest x any series has a point at.
  const hoverAt = (px: number, plotW: number): Hovered | undefined => {
    const at = x0 + ((px - PAD.left) / plotW) * (x1 - x0);
    let best: number | undefined;
    for (const { points } of series) {
      for (const { x: v } of points) {
        if (best === undefined || Math.abs(v - at) < Math.abs(best - at)) best = v;
      }
    }
    if (best === undefined) return undefined;
    return {
      left: sx(best, plotW),
      heading: `${x.title ?? 'x'} ${x.format(best)}`,
      values: series.flatMap((s) => {
        const p = s.points.find((q) => q.x === best);
        return p ? [{ name: s.name, color: s.color, value: formatValue(p.y) }] : [];
      }),
    };
  };

  return (
    <PlotFrame
      height={height}
      y={y}
      xTicks={(plotW) => x.ticks.map((t) => ({ at: sx(t, plotW), label: x.format(t) }))}
      xTitle={x.title}
      legend={series}
      ariaLabel={ariaLabel}
      hoverAt={hoverAt}
      draw={({ plotW, plotH, sy }) => (
        <>
          {placeMarks(
            marks.filter((m) => m.x >= x0 && m.x <= x1),
            (v) => sx(v, plotW),
            fraction,
          ).map(({ mark, left, anchor, dx, row }) => (
            <g key={`${mark.x} ${mark.label}`} className="plot-mark">
              <line x1={left} x2={left} y1={PAD.top} y2={PAD.top + plotH} />
              <text x={left} y={PAD.top + 10 + MARK_ROW * row} dx={dx} textAnchor={anchor}>
                {mark.label}
              </text>
            </g>
          ))}
          {series.map((s) => (
            <g key={s.name}>
              <path
                d={s.points
                  .map(
                    (p, i) => `${i ? 'L' : 'M'}${sx(p.x, plotW).toFixed(1)},${sy(p.y).toFixed(1)}`,
                  )
                  .join('')}
                stroke={s.color}
                fill="none"
                strokeWidth={2}
              />
              {s.points.length < DOTS_BELOW &&
                s.points.map((p) => (
                  <circle key={p.x} cx={sx(p.x, plotW)} cy={sy(p.y)} r={3} fill={s.color} />
                ))}
            </g>
          ))}
        </>
      )}
    />
  );
}

/**
 * Bars over categories (layers), the series side by side in each; a series without a value
 * for a category leaves a gap. Bars rise from 0, which the value axis must include.
 */
export function BarPlot({
  height,
  categories,
  series,
  y,
  xTitle,
  formatValue,
  ariaLabel,
}: {
  height: number;
  categories: readonly string[];
  series: readonly { name: string; color: string; values: readonly (number | undefined)[] }[];
  y: PlotAxis;
  xTitle?: string;
  formatValue: (v: number) => string;
  ariaLabel: string;
}) {
  const band = (plotW: number) => plotW / Math.max(categories.length, 1);
  const centre = (i: number, plotW: number) => PAD.left + (i + 0.5) * band(plotW);
  const hoverAt = (px: number, plotW: number): Hovered | undefined => {
    const i = Math.floor((px - PAD.left) / band(plotW));
    if (i < 0 || i >= categories.length) return undefined;
    return {
      left: centre(i, plotW),
      heading: categories[i],
      values: series.flatMap((s) =>
        s.values[i] === undefined
          ? []
          : [{ name: s.name, color: s.color, value: formatValue(s.values[i]) }],
      ),
    };
  };
  return (
    <PlotFrame
      height={height}
      y={y}
      xTicks={(plotW) => categories.map((label, i) => ({ at: centre(i, plotW), label }))}
      xTitle={xTitle}
      legend={series}
      ariaLabel={ariaLabel}
      hoverAt={hoverAt}
      draw={({ plotW, sy }) => {
        // Bars fill 80 % of a category's band, split between the series.
        const w = (band(plotW) * 0.8) / Math.max(series.length, 1);
        return series.map((s, k) => (
          <g key={s.name} fill={s.color}>
            {s.values.map((v, i) =>
              v === undefined ? null : (
                <rect
                  key={categories[i]}
                  x={centre(i, plotW) - band(plotW) * 0.4 + k * w}
                  y={Math.min(sy(v), sy(0))}
                  width={Math.max(w - 1, 1)}
                  height={Math.abs(sy(0) - sy(v))}
                />
              ),
            )}
          </g>
        ));
      }}
    />
  );
}
