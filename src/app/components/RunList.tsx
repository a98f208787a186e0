import { memo, useState, type MouseEvent, type ReactNode } from 'react';
import { saveFile, timestamp } from '../files';
import { formatDuration, formatTime } from '../format';
import { useTeacherLabel, useWorkbench } from '../state/context';
import { keyMetric, type RunRecord, type RunStatus } from '../state/runs';
import {
  collectSweeps,
  describeSweep,
  gridLabel,
  type SweepInfo,
  type SweepStatus,
} from '../state/sweeps';
import { JsonFileButton } from './JsonFileButton';
import { StatusBadge } from './StatusBadge';

/** A run's or a sweep's button in the rail: status, title and a key figure, then detail lines. */
function ItemButton({
  kind,
  status,
  selected,
  onClick,
  title,
  metric,
  children,
}: {
  kind: 'run' | 'sweep';
  status: RunStatus | SweepStatus;
  selected: boolean;
  onClick: (e: MouseEvent) => void;
  title: string;
  metric?: string;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={kind === 'sweep' ? 'run-item sweep-item' : 'run-item'}
      aria-current={selected ? 'true' : undefined}
      onClick={onClick}
      data-testid={`${kind}-item`}
      data-status={status}
    >
      <span className="run-item-top">
        <StatusBadge status={status} />
        <span className="run-method">{title}</span>
        {metric && <span className="run-metric">{metric}</span>}
      </span>
      {children}
    </button>
  );
}

// Memoised: a streaming run changes its record ten times a second; the others keep theirs.
const RunItem = memo(function RunItem({
  run,
  selected,
  compared,
}: {
  run: RunRecord;
  selected: boolean;
  /** Ticked for the comparison view. */
  compared: boolean;
}) {
  const select = useWorkbench((s) => s.select);
  const toggleCompared = useWorkbench((s) => s.toggleCompared);
  const metric = keyMetric(run);
  const { config, sweep } = run;
  const teacher = useTeacherLabel(config.teacher);
  const duration = run.startedAt && run.endedAt ? formatDuration(run.endedAt - run.startedAt) : '';
  const grid =
    sweep && Object.keys(sweep.cell.grid).length ? ` · ${gridLabel(sweep.cell.grid)}` : '';
  return (
    <li className="run-row-item">
      <input
        type="checkbox"
        className="compare-check"
        checked={compared}
        aria-label={`Compare: ${run.methodTitle}, seed ${config.seed}`}
        title="Tick to compare (or shift-click the run)"
        onChange={() => toggleCompared(run.id)}
      />
      <ItemButton
        kind="run"
        status={run.status}
        selected={selected}
        onClick={(e) => (e.shiftKey ? toggleCompared(run.id) : select(run.id))}
        title={run.methodTitle}
        metric={metric && `${metric.label} ${metric.value}`}
      >
        {sweep ? (
          <span className="run-item-sub">
            K={sweep.cell.shotsPerClass}
            {grid} · seed {config.seed}
            {duration && ` · ${duration}`}
          </span>
        ) : (
          <>
            <span className="run-item-sub">
              {teacher} → {config.student} · {config.dataset} · {config.steps} steps
            </span>
            <span className="run-item-sub">
              {formatTime(run.createdAt)}
              {duration && ` · ${duration}`} · seed {config.seed}
            </span>
          </>
        )}
      </ItemButton>
    </li>
  );
});

/** A sweep in the rail: its progress, and its runs folded beneath it. */
function SweepItem({
  info,
  runs,
  selected,
  selectedRun,
  open,
  toggle,
  compared,
}: {
  info: SweepInfo;
  runs: Record<string, RunRecord>;
  selected: boolean;
  selectedRun?: string;
  open: boolean;
  toggle: () => void;
  compared: ReadonlySet<string>;
}) {
  const selectSweep = useWorkbench((s) => s.selectSweep);
  const { config } = info;
  return (
    <li className="sweep-group">
      <div className="sweep-head">
        <ItemButton
          kind="sweep"
          status={info.status}
          selected={selected}
          onClick={() => selectSweep(info.id)}
          title={`Sweep${config.name ? `: ${config.name}` : ''}`}
          metric={`${info.counts.done ?? 0}/${info.total}`}
        >
          <span className="run-item-sub">{describeSweep(config)}</span>
          <span className="run-item-sub">
            {config.teacher} · {config.dataset} · {formatTime(info.createdAt)}
          </span>
        </ItemButton>
        <button
          type="button"
          className="ghost sweep-toggle"
          aria-expanded={open}
          title={`${open ? 'Hide' : 'Show'} the sweep's runs`}
          onClick={toggle}
        >
          {/* The name is the visible text, "8 runs" (WCAG 2.5.3); aria-expanded says open or not. */}
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> {info.runIds.length} runs
        </button>
      </div>
      {open && (
        <ul className="run-list nested">
          {info.runIds.map((id) => (
            <RunItem
              key={id}
              run={runs[id]}
              selected={id === selectedRun}
              compared={compared.has(id)}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

/** The left rail: every run, newest first, sweeps grouped; export and import of the whole list. */
export function RunList() {
  const order = useWorkbench((s) => s.order);
  const runs = useWorkbench((s) => s.runs);
  const selectedId = useWorkbench((s) => s.selectedId);
  const selectedSweepId = useWorkbench((s) => s.selectedSweepId);
  const loaded = useWorkbench((s) => s.loaded);
  const exportRuns = useWorkbench((s) => s.exportRuns);
  const importRuns = useWorkbench((s) => s.importRuns);
  const compared = useWorkbench((s) => s.compared);
  const comparing = useWorkbench((s) => s.comparing);
  const showComparison = useWorkbench((s) => s.showComparison);
  const ticked = new Set(compared);
  /** Sweeps opened or closed by hand; the others are open while one of their runs is shown. */
  const [folded, setFolded] = useState<ReadonlyMap<string, boolean>>(new Map());

  const exportAll = async () => {
    saveFile(`compression-lab-runs-${timestamp()}.json`, await exportRuns(), 'application/json');
  };

  const sweeps = collectSweeps(runs);
  const selectedRun = selectedSweepId || comparing ? undefined : selectedId;
  // A sweep sits where its newest run would.
  const shown = new Set<string>();
  const items = order.flatMap((id): ({ run: RunRecord } | { sweep: SweepInfo })[] => {
    const run = runs[id];
    const sweepId = run?.sweep?.id;
    if (!sweepId) return run ? [{ run }] : [];
    if (shown.has(sweepId)) return [];
    shown.add(sweepId);
    return [{ sweep: sweeps.get(sweepId)! }];
  });

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
          <JsonFileButton label="Import runs" onText={importRuns} />
        </div>
      </div>
      {compared.length > 0 && (
        <div className="compare-bar" data-testid="compare-bar">
          <button
            type="button"
            className={comparing ? undefined : 'primary'}
            disabled={compared.length < 2}
            aria-pressed={comparing}
            onClick={() => showComparison(!comparing)}
          >
            Compare {compared.length} runs
          </button>
          {compared.length < 2 && <span className="muted small">tick one more</span>}
        </div>
      )}
      {loaded && order.length === 0 && (
        <p className="muted empty">No runs yet. Configure one on the right and press Run.</p>
      )}
      <ul className="run-list">
        {items.map((item) => {
          if ('run' in item) {
            return (
              <RunItem
                key={item.run.id}
                run={item.run}
                selected={item.run.id === selectedRun}
                compared={ticked.has(item.run.id)}
              />
            );
          }
          const { id } = item.sweep;
          const open = folded.get(id) ?? (!!selectedRun && runs[selectedRun]?.sweep?.id === id);
          return (
            <SweepItem
              key={id}
              info={item.sweep}
              runs={runs}
              selected={id === selectedSweepId}
              selectedRun={selectedRun}
              open={open}
              toggle={() => setFolded((old) => new Map(old).set(id, !open))}
              compared={ticked}
            />
          );
        })}
      </ul>
    </nav>
  );
}
