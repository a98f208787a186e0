import { useEffect, useState } from 'react';
import {
  humanize,
  liveParamNames,
  paramError,
  type ParamSettings,
} from '../../core/methods/params';
import { useWorkbench } from '../state/context';
import { paramsNow, type RunRecord } from '../state/runs';
import { ParamField } from './ParamField';

/**
 * A running or paused run's live parameters, editable: Apply sends the changed ones, which the
 * run makes at its next step and marks on the charts. The rest stay as the run started.
 */
export function LiveParams({ run }: { run: RunRecord }) {
  const method = useWorkbench((s) => s.catalog?.methods.find((m) => m.id === run.config.method));
  const setRunParams = useWorkbench((s) => s.setRunParams);
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [message, setMessage] = useState<string>();
  const made = run.schedule?.length ?? 0;
  // A change made (or another run shown): the fields show the run's values again.
  useEffect(() => {
    setDraft({});
    setMessage(undefined);
  }, [run.id, made]);
  if (!method || (run.status !== 'running' && run.status !== 'paused')) return null;
  const live = liveParamNames(method.params);
  const label = (k: string) => method.params[k].label ?? humanize(k).toLowerCase();
  if (live.length === 0) {
    return (
      <p className="muted small" data-testid="live-params">
        None of this method’s parameters can change while it runs.
      </p>
    );
  }
  const now = paramsNow(run);
  const changes = Object.fromEntries(
    Object.entries(draft).filter(([k, v]) => v !== now[k]),
  ) as ParamSettings;
  const errors = Object.fromEntries(
    Object.entries(draft).map(([k, v]) => [k, paramError(method.params[k], v) ?? undefined]),
  );
  const invalid = Object.values(errors).some(Boolean);
  const apply = () => {
    const error = setRunParams(run.id, changes);
    setMessage(error ?? `Asked for; the run makes the change at its next step.`);
  };
  return (
    <fieldset className="live-params" data-testid="live-params">
      <legend>Change while running</legend>
      <p className="muted small">
        Only {live.map(label).join(', ')} can change while the run goes on; the other parameters
        stay as it started.
      </p>
      <div className="live-params-fields">
        {live.map((k) => (
          <ParamField
            key={k}
            name={k}
            spec={method.params[k]}
            value={k in draft ? draft[k] : now[k]}
            error={errors[k]}
            onChange={(v) => setDraft((d) => ({ ...d, [k]: v }))}
          />
        ))}
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={invalid || Object.keys(changes).length === 0}
          onClick={apply}
        >
          Apply
        </button>
        {message && (
          <span className="muted small" role="status">
            {message}
          </span>
        )}
      </div>
    </fieldset>
  );
}
