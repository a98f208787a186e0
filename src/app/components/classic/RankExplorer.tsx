import { useId, useState } from 'react';
import { formatCount, formatNumber, formatPercent } from '../../format';
import type { TableEvent } from '../../state/runs';
import { Figure } from '../charts/figure';

interface RankPoint {
  rank: number;
  params: number;
  flops: number;
  accuracy: number;
}

/** The rank sweep's rows ([layer, rank, params, FLOPs, accuracy]) by layer, ranks ascending. */
export function rankPoints(event: TableEvent): Map<string, RankPoint[]> {
  const col = (name: string) => event.columns.indexOf(name);
  const [layer, rank, params, flops, accuracy] = [
    'layer',
    'rank',
    'params',
    'FLOPs',
    'accuracy',
  ].map(col);
  const out = new Map<string, RankPoint[]>();
  for (const row of event.rows) {
    const list = out.get(String(row[layer])) ?? [];
    list.push({
      rank: Number(row[rank]),
      params: Number(row[params]),
      flops: Number(row[flops]),
      accuracy: Number(row[accuracy]),
    });
    out.set(String(row[layer]), list);
  }
  for (const list of out.values()) list.sort((a, b) => a.rank - b.rank);
  return out;
}

/**
 * A rank slider over the ranks the run measured for each factorised layer, reading out what the
 * network would cost and score with that layer alone at that rank (before any fine-tuning).
 */
export function RankExplorer({ event }: { event: TableEvent }) {
  const byLayer = rankPoints(event);
  const layers = [...byLayer.keys()];
  const [layer, setLayer] = useState(layers[0]);
  const points = byLayer.get(layer) ?? [];
  const [index, setIndex] = useState(points.length - 1);
  const at = points[Math.min(index, points.length - 1)];
  const ids = useId();
  if (!at) return null;
  return (
    <Figure
      className="chart"
      title="Choose a layer’s rank"
      note="Each layer factorised alone at the ranks the run measured: the parameters and FLOPs per image of that layer's two factors, and the network's test accuracy with that one layer at that rank, before fine-tuning."
      data-testid="rank-explorer"
    >
      <div className="rank-explorer">
        <label htmlFor={`${ids}-layer`}>Layer</label>
        <select
          id={`${ids}-layer`}
          value={layer}
          onChange={(e) => {
            setLayer(e.target.value);
            setIndex((byLayer.get(e.target.value)?.length ?? 1) - 1);
          }}
        >
          {layers.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
        <label htmlFor={`${ids}-rank`}>Rank {at.rank}</label>
        <input
          id={`${ids}-rank`}
          type="range"
          min={0}
          max={points.length - 1}
          step={1}
          value={Math.min(index, points.length - 1)}
          aria-valuetext={`rank ${at.rank}`}
          onChange={(e) => setIndex(Number(e.target.value))}
        />
        <dl className="readouts" aria-live="polite">
          <dt>layer parameters</dt>
          <dd data-testid="rank-params">{formatCount(at.params)}</dd>
          <dt>layer FLOPs per image</dt>
          <dd>{formatCount(at.flops)}</dd>
          <dt>test accuracy</dt>
          <dd data-testid="rank-accuracy">{formatPercent(at.accuracy)}</dd>
        </dl>
        <p className="muted">
          Measured ranks for <code>{layer}</code>:{' '}
          {points.map((p) => formatNumber(p.rank)).join(', ')}.
        </p>
      </div>
    </Figure>
  );
}
