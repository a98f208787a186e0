// The 2-D embedding (e.g. UMAP of decision features) on a canvas: recharts' Scatter renders one
// SVG element per point, too slow for the ~1,500 points of clean and attacked test images. Colour
// is the true class, the marker the group; hovering shows the point's image, clicking selects it.
import {
  memo,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type PointerEvent,
  type RefObject,
} from 'react';
import type { EmbeddingEvent } from '../../state/runs';
import { describeEmbedding } from './describe';
import { groupNames, groupOf, layout, nearest, pointFacts, type Frame } from './embedding';
import { Figure } from './figure';
import { marker, MarkerIcon } from './markers';
import { color } from './palette';
import { PixelImage } from './pixels';

const HEIGHT = 320;
/** Room for the axis titles left and below. */
const PAD = { left: 20, right: 8, top: 8, bottom: 20 };
const RADIUS = 3;
/** How far from a point the pointer still picks it (CSS pixels). */
const HIT = 8;

/** A point's class, the model's prediction (marked when wrong) and its group, in one line. */
export function PointCaption({
  event,
  index,
  classes,
}: {
  event: EmbeddingEvent;
  index: number;
  classes: readonly string[];
}) {
  const facts = pointFacts(event, index, classes);
  return (
    <span className="point-caption">
      <span>{facts.label}</span>
      {facts.predicted !== undefined && (
        <span className={facts.wrong ? 'wrong' : undefined}>
          {facts.wrong ? `✗ predicted ${facts.predicted}` : `✓ predicted ${facts.predicted}`}
        </span>
      )}
      <span className="muted">{facts.group}</span>
    </span>
  );
}

/** The element's content width, following resizes. */
function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(ref.current!);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

/** Calls back when the page's theme (the root's data-theme) changes. */
function onThemeChange(callback: () => void): () => void {
  const observer = new MutationObserver(callback);
  observer.observe(document.documentElement, { attributeFilter: ['data-theme'] });
  return () => observer.disconnect();
}

/** The page's theme: a canvas takes its colours from CSS once per draw, so it redraws on a change. */
const useTheme = () =>
  useSyncExternalStore(onThemeChange, () => document.documentElement.dataset.theme);

function draw(
  canvas: HTMLCanvasElement,
  event: EmbeddingEvent,
  xy: Float32Array,
  selected: number,
  axes: { x: string; y: string },
  width: number,
) {
  const dpr = window.devicePixelRatio || 1;
  const [w, h] = [Math.round(width * dpr), Math.round(HEIGHT * dpr)];
  // Resizing reallocates the canvas (milliseconds): only when its size changed.
  if (canvas.width !== w || canvas.height !== h) [canvas.width, canvas.height] = [w, h];
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const style = getComputedStyle(canvas);
  const cssColor = (name: string) => style.getPropertyValue(name).trim();
  const muted = cssColor('--muted');
  ctx.strokeStyle = cssColor('--border');
  ctx.strokeRect(
    PAD.left + 0.5,
    PAD.top + 0.5,
    width - PAD.left - PAD.right,
    HEIGHT - PAD.top - PAD.bottom,
  );
  ctx.fillStyle = muted;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText(axes.x, PAD.left + (width - PAD.left - PAD.right) / 2, HEIGHT - 5);
  ctx.save();
  ctx.translate(12, PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(axes.y, 0, 0);
  ctx.restore();

  // Group by group, so the attacked groups' markers lie on top of the clean dots.
  const groups = groupNames(event).length;
  ctx.lineWidth = 1.3;
  for (let g = 0; g < groups; g++) {
    const shape = marker(g);
    const path = new Path2D(shape.path(RADIUS));
    ctx.globalAlpha = g === 0 && groups > 1 ? 0.7 : 0.9;
    for (let i = 0; i < event.labels.length; i++) {
      if (groupOf(event, i) !== g) continue;
      const [x, y] = [xy[2 * i], xy[2 * i + 1]];
      ctx.translate(x, y);
      if (shape.filled) {
        ctx.fillStyle = color(event.labels[i]);
        ctx.fill(path);
      } else {
        ctx.strokeStyle = color(event.labels[i]);
        ctx.stroke(path);
      }
      ctx.translate(-x, -y);
    }
  }
  ctx.globalAlpha = 1;
  if (selected >= 0 && selected < event.labels.length) {
    ctx.strokeStyle = cssColor('--text');
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(xy[2 * selected], xy[2 * selected + 1], RADIUS + 4, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

export const EmbeddingChart = memo(function EmbeddingChart({
  title,
  event,
  classes,
  selected,
  onSelect,
}: {
  title: string;
  event: EmbeddingEvent;
  /** Every class's name, by index. */
  classes: readonly string[];
  /** The point ringed, −1 for none. */
  selected: number;
  /** Absent when there is nothing to select a point for. */
  onSelect?: (index: number) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const width = useWidth(box);
  const [hover, setHover] = useState(-1);
  const text = describeEmbedding(title);
  const axes = useMemo(() => ({ x: text.x ?? '', y: text.y ?? '' }), [text.x, text.y]);
  const count = event.labels.length;

  const xy = useMemo(() => {
    const frame: Frame = {
      left: PAD.left + 2 * RADIUS,
      top: PAD.top + 2 * RADIUS,
      width: Math.max(0, width - PAD.left - PAD.right - 4 * RADIUS),
      height: HEIGHT - PAD.top - PAD.bottom - 4 * RADIUS,
    };
    return layout(event.points, frame);
  }, [event.points, width]);

  const theme = useTheme();
  useEffect(() => {
    if (canvas.current && width > 0) draw(canvas.current, event, xy, selected, axes, width);
  }, [event, xy, selected, axes, width, theme]);

  const names = useMemo(() => groupNames(event), [event]);
  const { groupCounts, wrongCounts, classesSeen } = useMemo(() => {
    const groupCounts = names.map(() => 0);
    const wrongCounts = names.map(() => 0);
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const g = groupOf(event, i);
      groupCounts[g]++;
      if (event.predictions && event.predictions[i] !== event.labels[i]) wrongCounts[g]++;
      seen.add(event.labels[i]);
    }
    return { groupCounts, wrongCounts, classesSeen: [...seen].sort((a, b) => a - b) };
  }, [event, count, names]);

  const pick = (e: PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    setHover(nearest(xy, e.clientX - rect.left, e.clientY - rect.top, HIT));
  };

  const tooltip = hover >= 0 && hover < count && (
    <div
      className="point-tooltip"
      data-testid="point-tooltip"
      data-index={hover}
      style={{
        // Beside the point, on the side with more room, and inside the plot's height.
        top: Math.max(0, Math.min(xy[2 * hover + 1] - 70, HEIGHT - 160)),
        ...(xy[2 * hover] < width / 2
          ? { left: xy[2 * hover] + 12 }
          : { right: width - xy[2 * hover] + 12 }),
      }}
    >
      {event.images && (
        <PixelImage batch={event.images} index={hover} scale={3} label={`image ${hover + 1}`} />
      )}
      <PointCaption event={event} index={hover} classes={classes} />
      {onSelect && <span className="muted">Click to see its channels</span>}
    </div>
  );

  return (
    <Figure
      className="chart embedding wide"
      title={text.title}
      note={`${text.caption ? `${text.caption} ` : ''}${count} images at step ${event.step}.`}
      data-testid={`embedding-${title}`}
      data-points={count}
    >
      <div className="scatter" ref={box}>
        <canvas
          ref={canvas}
          style={{ height: HEIGHT, cursor: hover >= 0 && onSelect ? 'pointer' : undefined }}
          role="img"
          aria-label={`${text.title}: ${count} images in ${names.join(', ')}`}
          onPointerMove={pick}
          onPointerLeave={() => setHover(-1)}
          onClick={() => hover >= 0 && onSelect?.(hover)}
        />
        {tooltip}
      </div>
      <div className="legend" data-testid="embedding-classes">
        <span className="legend-title">True class (colour)</span>
        {classesSeen.map((c) => (
          <span key={c} className="legend-item">
            <i className="swatch" style={{ background: color(c) }} />
            {classes[c]}
          </span>
        ))}
      </div>
      <div className="legend" data-testid="embedding-groups">
        <span className="legend-title">Images (marker)</span>
        {names.map((name, g) => (
          <span key={name} className="legend-item">
            <MarkerIcon index={g} color="var(--text)" />
            {name} ({groupCounts[g]}
            {event.predictions ? `, ${wrongCounts[g]} misclassified` : ''})
          </span>
        ))}
      </div>
    </Figure>
  );
});
