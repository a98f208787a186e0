import { memo, useMemo } from 'react';
import { formatNumber } from '../../format';
import type { EmbeddingEvent } from '../../state/runs';
import { PointCaption } from './EmbeddingChart';
import { gateRows, type Gates } from './embedding';
import { Figure } from './figure';
import { PixelImage } from './pixels';

/** A cell's colour: the accent, fainter for a smaller mask, never as faint as a skipped cell. */
const shade = (value: number, max: number) =>
  `color-mix(in srgb, var(--accent) ${Math.round(30 + (70 * value) / max)}%, var(--surface))`;

/**
 * One image's path through the gated network: per gated layer, which channels its masks kept
 * (coloured by the mask value) and which they skipped (empty cells).
 */
export const GateHeatmap = memo(function GateHeatmap({
  title,
  event,
  gates,
  index,
  classes,
}: {
  title: string;
  event: EmbeddingEvent;
  gates: Gates;
  /** The selected point. */
  index: number;
  classes: readonly string[];
}) {
  // One scale for every point, so two images' cells compare.
  const max = useMemo(() => gates.values.reduce((m, v) => Math.max(m, v), 0) || 1, [gates]);
  const rows = gateRows(gates, index);
  const active = rows.reduce((n, r) => n + r.active, 0);
  const total = rows.reduce((n, r) => n + r.values.length, 0);
  // Layers of many channels need both columns of the chart grid for cells one can point at.
  const wide = Math.max(...gates.widths) > 32;
  return (
    <Figure
      className={wide ? 'chart gates wide' : 'chart gates'}
      title="Which channels fired for this image"
      note={`One row per gated layer, one cell per channel: filled cells ran (darker = larger mask), struck-out ones were skipped. ${active} of ${total} channels ran for this image. Click a mark in the map to pick another one.`}
      data-testid={`gates-${title}`}
      data-point={index}
    >
      <div className="gates-body">
        <div className="gates-image">
          {event.images && (
            <PixelImage batch={event.images} index={index} scale={4} label={`image ${index + 1}`} />
          )}
          <PointCaption event={event} index={index} classes={classes} />
        </div>
        <div className="gate-rows">
          {rows.map((row) => (
            <div key={row.layer} className="gate-row" data-testid="gate-row">
              <span className="gate-layer">{row.layer}</span>
              <span
                className="gate-cells"
                style={{ gridTemplateColumns: `repeat(${row.values.length}, minmax(1px, 1rem))` }}
              >
                {Array.from(row.values, (v, c) => (
                  <span
                    key={c}
                    className={v === 0 ? 'gate off' : 'gate'}
                    style={v === 0 ? undefined : { background: shade(v, max) }}
                    title={`channel ${c + 1}: ${v === 0 ? 'skipped' : `mask ${formatNumber(v)}`}`}
                  />
                ))}
              </span>
              <span className="gate-count">
                {row.active} of {row.values.length} ran
              </span>
            </div>
          ))}
        </div>
      </div>
      <div className="legend">
        <span className="legend-item">
          <i className="gate" style={{ background: shade(0, max) }} />
          <i className="gate" style={{ background: shade(max, max) }} />
          ran (mask small → {formatNumber(max)})
        </span>
        <span className="legend-item">
          <i className="gate off" />
          skipped (mask 0)
        </span>
      </div>
    </Figure>
  );
});
