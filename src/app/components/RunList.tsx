import { useRef } from 'react';
import { saveFile, timestamp } from '../files';
import { formatDuration, formatTime } from '../format';
import { useWorkbench } from '../state/context';
import { keyMetric, type RunRecord } from '../state/runs';
import { StatusBadge } from './StatusBadge';

function RunItem({ run, selected }: { run: RunRecord; selected: boolean }) {
  const select = useWorkbench((s) => s.select);
  const metric = keyMetric(run);
  const { config } = run;
  const duration = run.startedAt && run.endedAt ? formatDuration(run.endedAt - run.startedAt) : '';
  return (
    <li>
      <button
        type="button"
        className="run-item"
        aria-current={selected ? 'true' : undefined}
        onClick={() => select(run.id)}
        data-testid="run-item"
        data-status={run.status}
      >
        <span className="run-item-top">
          <StatusBadge status={run.status} />
          <span className="run-method">{run.methodTitle}</span>
          {metric && (
            <span className="run-metric">
              {metric.label} {metric.value}
            </span>
          )}
        </span>
        <span className="run-item-sub">
          {config.teacher} → {config.student} · {config.dataset} · {config.steps} steps
        </span>
        <span className="run-item-sub">
          {formatTime(run.createdAt)}
          {duration && ` · ${duration}`} · seed {config.seed}
        </span>
      </button>
    </li>
  );
}

/** The left rail: every run, newest first, with export and import of the whole list. */
export function RunList() {
  const order = useWorkbench((s) => s.order);
  const runs = useWorkbench((s) => s.runs);
  const selectedId = useWorkbench((s) => s.selectedId);
  const loaded = useWorkbench((s) => s.loaded);
  const exportRuns = useWorkbench((s) => s.exportRuns);
  const importRuns = useWorkbench((s) => s.importRuns);
  const input = useRef<HTMLInputElement>(null);

  const exportAll = async () => {
    saveFile(`compression-lab-runs-${timestamp()}.json`, await exportRuns(), 'application/json');
  };
  const importFile = async (file: File | undefined) => {
    if (file) await importRuns(await file.text());
    if (input.current) input.current.value = '';
  };

  return (
    <nav className="rail" aria-label="Runs">
      <div className="rail-head">
        <h2>
          Runs <span className="muted">{order.length}</span>
        </h2>
        <div className="rail-actions">
          <button
            type="button"
            className="ghost"
            onClick={() => void exportAll()}
            disabled={!order.length}
          >
            Export all
          </button>
          <label className="button ghost">
            Import runs
            <input
              ref={input}
              type="file"
              accept=".json,application/json"
              className="visually-hidden"
              onChange={(e) => void importFile(e.target.files?.[0])}
            />
          </label>
        </div>
      </div>
      {loaded && order.length === 0 && (
        <p className="muted empty">No runs yet. Configure one on the right and press Run.</p>
      )}
      <ul className="run-list">
        {order.map((id) => (
          <RunItem key={id} run={runs[id]} selected={id === selectedId} />
        ))}
      </ul>
    </nav>
  );
}
