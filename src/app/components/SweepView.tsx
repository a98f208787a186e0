// A sweep's results: progress, the table of mean ± std test accuracy per method × K (the
// paper's Table 1), the grid-sensitivity chart (Fig. 3) and, with layer-wise distillation among
// the methods, the per-layer estimation-error ratio (Fig. 2). Everything is derived from the
// sweep's runs, so a reload or an import of the runs brings it back.
import { useMemo, useState } from 'react';
import { PAPER_ERROR_VIEW } from '../../core/metrics/error-keys';
import { saveFile, timestamp } from '../files';
import { formatPercent } from '../format';
import { useWorkbench, useWorkbenchStore } from '../state/context';
import { ACTIVE, type RunRecord } from '../state/runs';
import {
  collectSweeps,
  describeSweep,
  errorRatioSeries,
  formatCell,
  gridLabel,
  reportedErrorViews,
  sensitivity,
  sweepCsv,
  sweepMarkdown,
  sweepTable,
  type SweepInfo,
} from '../state/sweeps';
import {
  availableView,
  errorViewChoices,
  type ErrorViewChoice,
} from './charts/EstimationErrorChart';
import { TableFigure } from './charts/figure';
import { ErrorRatioChart, SensitivityChart } from './charts/SweepCharts';
import { StatusBadge } from './StatusBadge';
import { ViewHead } from './ViewHead';

/**
 * The sweep's runs, re-read only when one of them changes status: a streaming run changes its
 * record ten times a second, and the table and charts need only finished runs.
 */
function useSweepRecords(id: string): RunRecord[] {
  const store = useWorkbenchStore();
  const signature = useWorkbench((s) => {
    let sig = '';
    for (const r of Object.values(s.runs)) if (r.sweep?.id === id) sig += `${r.id}:${r.status};`;
    return sig;
  });
  return useMemo(
    () =>
      signature
        ? Object.values(store.getState().runs)
            .filter((r) => r.sweep?.id === id)
            .sort((a, b) => a.sweep!.index - b.sweep!.index)
        : [],
    [store, id, signature],
  );
}

/** The active run's step, the only part of the view that moves while a run streams. */
function LiveRun({ ids }: { ids: string[] }) {
  const live = useWorkbench((s) => {
    const run = ids.map((id) => s.runs[id]).find((r) => r?.status === 'running');
    if (!run) return undefined;
    const { cell } = run.sweep!;
    const grid = Object.keys(cell.grid).length ? ` · ${gridLabel(cell.grid)}` : '';
    const step = run.progress?.step ? ` · step ${run.progress.step} / ${run.progress.total}` : '';
    return `now: ${cell.method} K=${cell.shotsPerClass}${grid} · seed ${cell.seed}${step}`;
  });
  return live ? <span className="muted"> · {live}</span> : null;
}

function ResultsTable({ records }: { records: RunRecord[] }) {
  const table = useMemo(() => sweepTable(records), [records]);
  // The best mean of each K column is bold, as in the paper's tables.
  const best = table.shots.map((_, i) =>
    Math.max(...table.rows.map((r) => r.cells[i].row?.mean ?? -Infinity)),
  );
  return (
    <TableFigure title="Test accuracy (%)" note="mean ± std over seeds (n)">
      <table data-testid="sweep-table">
        <thead>
          <tr>
            <th scope="col">method</th>
            {table.shots.map((k) => (
              <th key={k} scope="col" className="num">
                K = {k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row) => (
            <tr key={row.label} data-testid="sweep-row">
              <th scope="row">{row.label}</th>
              {row.cells.map((cell, i) => (
                <td
                  key={table.shots[i]}
                  className={`num${cell.row && cell.row.mean === best[i] ? ' best' : ''}`}
                  data-n={cell.row?.n ?? 0}
                >
                  {formatCell(cell)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableFigure>
  );
}

function RunsTable({ records }: { records: RunRecord[] }) {
  const select = useWorkbench((s) => s.select);
  return (
    <details className="panel">
      <summary>Runs ({records.length})</summary>
      <div className="table-scroll" tabIndex={0}>
        <table data-testid="sweep-runs">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">method</th>
              <th scope="col" className="num">
                K
              </th>
              <th scope="col">grid</th>
              <th scope="col" className="num">
                seed
              </th>
              <th scope="col">status</th>
              <th scope="col" className="num">
                accuracy
              </th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => {
              const { cell, index } = r.sweep!;
              return (
                <tr key={r.id}>
                  <td className="num">{index + 1}</td>
                  <td>
                    <button type="button" className="link" onClick={() => select(r.id)}>
                      {cell.method}
                    </button>
                  </td>
                  <td className="num">{cell.shotsPerClass}</td>
                  <td>{gridLabel(cell.grid) || '–'}</td>
                  <td className="num">{cell.seed}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="num">
                    {r.result ? formatPercent(r.result.student.accuracy) : '–'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </details>
  );
}

function Actions({ info, records }: { info: SweepInfo; records: RunRecord[] }) {
  const stopSweep = useWorkbench((s) => s.stopSweep);
  const rerunSweep = useWorkbench((s) => s.rerunSweep);
  const removeSweep = useWorkbench((s) => s.removeSweep);
  const loadSweep = useWorkbench((s) => s.loadSweep);
  const { config } = info;
  const base = `${(config.name ?? 'sweep').replace(/[^\w-]+/g, '-')}-${timestamp()}`;
  const active = records.some((r) => ACTIVE.has(r.status));
  const unfinished = records.filter((r) => r.status !== 'done' && !ACTIVE.has(r.status)).length;
  return (
    <div className="actions">
      {active && (
        <button type="button" className="danger" onClick={() => stopSweep(info.id)}>
          Stop sweep
        </button>
      )}
      {!active && unfinished > 0 && (
        <button type="button" onClick={() => rerunSweep(info.id)}>
          Run the {unfinished} unfinished again
        </button>
      )}
      <button type="button" className="ghost" onClick={() => loadSweep(JSON.stringify(config))}>
        Use this sweep
      </button>
      <button
        type="button"
        className="ghost"
        onClick={() =>
          saveFile(`${base}.sweep.json`, `${JSON.stringify(config, null, 2)}\n`, 'application/json')
        }
      >
        Export sweep file
      </button>
      <button
        type="button"
        className="ghost"
        onClick={() =>
          saveFile(`${base}.md`, `${sweepMarkdown(config, records)}\n`, 'text/markdown')
        }
      >
        Table as Markdown
      </button>
      <button
        type="button"
        className="ghost"
        onClick={() => saveFile(`${base}.csv`, `${sweepCsv(records)}\n`, 'text/csv')}
      >
        Table as CSV
      </button>
      <button
        type="button"
        className="ghost danger"
        onClick={() => {
          if (confirm(`Delete this sweep and its ${info.runIds.length} runs?`)) {
            void removeSweep(info.id);
          }
        }}
      >
        Delete sweep
      </button>
    </div>
  );
}

export function SweepView({ id }: { id: string }) {
  const records = useSweepRecords(id);
  const info = useMemo(
    () => collectSweeps(Object.fromEntries(records.map((r) => [r.id, r]))).get(id),
    [records, id],
  );
  const fig3 = useMemo(() => sensitivity(records), [records]);
  const [wantedView, setView] = useState<ErrorViewChoice>(PAPER_ERROR_VIEW);
  const choices = useMemo(() => errorViewChoices(reportedErrorViews(records)), [records]);
  const view = availableView(wantedView, choices);
  const fig2 = useMemo(
    () => errorRatioSeries(records, { ...view, data: 'held-out' }),
    [records, view.representation, view.stage],
  );
  if (!info) return null;
  const { config, counts, total } = info;
  const done = counts.done ?? 0;
  const teacherAcc = records.find((r) => r.result)?.result?.teacher.accuracy;
  const other = Object.entries(counts)
    .filter(([s]) => s !== 'done')
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  return (
    <main className="main" data-testid="sweep-view" data-status={info.status}>
      <ViewHead
        title={`Sweep${config.name ? `: ${config.name}` : ''}`}
        networks={`${config.teacher} → ${config.student ?? "each method's default student"} · ${config.dataset}`}
        status={info.status}
        createdAt={info.createdAt}
        details={
          <>
            {describeSweep(config)} · {config.steps ?? 'default'} steps
            {config.testExamples ? ` · ${config.testExamples} test images` : ''}
            {teacherAcc !== undefined && ` · teacher ${formatPercent(teacherAcc)}`}
          </>
        }
      />
      <div className="progress-row">
        <progress aria-label="Sweep progress" max={total} value={done} />
        <span data-testid="sweep-progress">
          {done} of {total} runs done{other && ` · ${other}`}
          <LiveRun ids={info.runIds} />
        </span>
      </div>
      <ResultsTable records={records} />
      <div className="charts sweep-charts">
        {fig3 && <SensitivityChart param={fig3.param} series={fig3.series} />}
        {choices.stages.length > 0 && records.some((r) => r.config.method === 'layerwise') && (
          <ErrorRatioChart series={fig2} view={view} setView={setView} choices={choices} />
        )}
      </div>
      {!fig3 && (
        <p className="muted small">
          The sensitivity chart needs a grid over one numeric parameter (μ, a temperature…).
        </p>
      )}
      <RunsTable records={records} />
      <Actions info={info} records={records} />
    </main>
  );
}
