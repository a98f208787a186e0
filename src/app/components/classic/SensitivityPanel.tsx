import { useState } from 'react';
import { formatPercent } from '../../format';
import { useWorkbench } from '../../state/context';
import type { CurveEvent, RunRecord } from '../../state/runs';
import { CurveChart } from '../charts/CurveChart';

/** The method the chosen per-layer ratios are handed to, and its parameter for them. */
const PRUNE_METHOD = 'magnitude-prune';
const RATIOS_PARAM = 'layerRatios';

/** "conv1=0.5,fc1=0.9": the per-layer ratio parameter's text. */
export const ratiosText = (ratios: Record<string, number>) =>
  Object.entries(ratios)
    .map(([layer, r]) => `${layer}=${Number(r.toFixed(4))}`)
    .join(',');

/**
 * The sensitivity scan (accuracy per layer against how much of that layer alone is removed),
 * where the user sets per-layer pruning ratios: click a point, or pick a ratio per layer below,
 * then hand them to magnitude pruning in the Run form.
 */
export function SensitivityPanel({
  title,
  event,
  run,
}: {
  title: string;
  event: CurveEvent;
  run: RunRecord;
}) {
  const setConfig = useWorkbench((s) => s.setConfig);
  const setParam = useWorkbench((s) => s.setParam);
  const setPanel = useWorkbench((s) => s.setPanel);
  const [ratios, setRatios] = useState<Record<string, number>>({});
  const [handed, setHanded] = useState<string>();
  const set = (layer: string, x: number | undefined) => {
    setHanded(undefined);
    setRatios((old) => {
      const next = { ...old };
      if (x === undefined) delete next[layer];
      else next[layer] = x;
      return next;
    });
  };
  const text = ratiosText(ratios);
  return (
    <CurveChart title={title} event={event} onPointClick={set}>
      <fieldset className="sensitivity-ratios" data-testid="sensitivity-ratios">
        <legend>Per-layer ratios for magnitude pruning (click a point, or choose here)</legend>
        {event.series.map((s) => (
          <label key={s.name}>
            <code>{s.name}</code>{' '}
            <select
              value={ratios[s.name] === undefined ? '' : String(ratios[s.name])}
              onChange={(e) =>
                set(s.name, e.target.value === '' ? undefined : Number(e.target.value))
              }
            >
              <option value="">the method’s ratio</option>
              {s.x.map((x, i) => (
                <option key={x} value={String(x)}>
                  {formatPercent(x)} removed → {formatPercent(s.y[i])} accuracy
                </option>
              ))}
            </select>
          </label>
        ))}
        <button
          type="button"
          disabled={text === ''}
          onClick={() => {
            setConfig({
              method: PRUNE_METHOD,
              teacher: run.config.teacher,
              dataset: run.config.dataset,
            });
            setParam(RATIOS_PARAM, text);
            setPanel('run');
            setHanded(text);
          }}
        >
          Prune with these ratios
        </button>
        <p className="muted" role="status">
          {handed
            ? `Magnitude pruning is set up in the Run form with ${handed.replaceAll(',', ', ')}: start it there.`
            : text
              ? `Chosen: ${text.replaceAll(',', ', ')}.`
              : 'No layer chosen yet: every layer would get the method’s one ratio.'}
        </p>
      </fieldset>
    </CurveChart>
  );
}
