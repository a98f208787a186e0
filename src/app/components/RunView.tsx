import { memo, useDeferredValue, useEffect, useMemo, useState } from 'react';
import { modelZip, saveFile } from '../files';
import { formatBytes, formatCount, formatDuration, formatNumber, formatPercent } from '../format';
import { useTeacherLabel, useWorkbench } from '../state/context';
import { runRecipe, runReport } from '../state/report';
import { ACTIVE, etaMs, resumability, type RunRecord } from '../state/runs';
import { errorViewOf } from '../../core/metrics/error-keys';
import { CurveChart } from './charts/CurveChart';
import { describeMetric, type MetricText } from './charts/describe';
import { EmbeddingView } from './charts/EmbeddingView';
import { EstimationErrorChart } from './charts/EstimationErrorChart';
import { ImageGrid } from './charts/ImageGrid';
import { LayersChart } from './charts/LayersChart';
import { groupScalars, ScalarChart } from './charts/ScalarChart';
import { TableView } from './charts/TableView';
import { LiveParams } from './LiveParams';
import { realSize } from '../../core/experiments/plan';
import { comparisonRows } from '../state/compare';
import { MeasureLatency } from './ComparisonView';
import { ModelSummary } from './ModelSummary';
import { Cards } from './Cards';
import { RankExplorer } from './classic/RankExplorer';
import { SensitivityPanel } from './classic/SensitivityPanel';
import { ViewHead } from './ViewHead';

function Controls({ run }: { run: RunRecord }) {
  const pause = useWorkbench((s) => s.pause);
  const resume = useWorkbench((s) => s.resume);
  const step = useWorkbench((s) => s.step);
  const stop = useWorkbench((s) => s.stop);
  // The worker pauses between steps (or after timing the backends): say so at once.
  const [pausing, setPausing] = useState(false);
  useEffect(() => setPausing(false), [run.id, run.status]);
  if (!ACTIVE.has(run.status)) return null;
  return (
    <div className="controls">
      {run.status === 'running' && (
        <button
          type="button"
          disabled={pausing}
          onClick={() => {
            setPausing(true);
            pause(run.id);
          }}
        >
          {pausing ? 'Pausing…' : 'Pause'}
        </button>
      )}
      {run.status === 'paused' && (
        <>
          <button type="button" onClick={() => resume(run.id)}>
            Resume
          </button>
          <button
            type="button"
            title="Run to the next reported step, then pause again"
            onClick={() => step(run.id)}
          >
            Step
          </button>
        </>
      )}
      <button type="button" className="danger" onClick={() => stop(run.id)}>
        Stop
      </button>
    </div>
  );
}

/** While paused: the loss terms of the latest reported step, what a Step just produced. */
function StepTerms({ run }: { run: RunRecord }) {
  const step = run.progress?.step;
  if (run.status !== 'paused' || step === undefined) return null;
  const terms = Object.entries(run.scalars)
    .filter(([key]) => /(^|\/)loss(\/|$)/.test(key))
    .flatMap(([key, points]) => {
      const last = points.at(-1);
      return last?.step === step ? [`${key} ${formatNumber(last.value)}`] : [];
    });
  return (
    <p className="muted small" data-testid="step-terms">
      Paused at step {step}
      {terms.length > 0 && `: ${terms.join(' · ')}`}. “Step” runs to the next reported step.
    </p>
  );
}

function Progress({ run }: { run: RunRecord }) {
  const { progress } = run;
  if (!progress || !ACTIVE.has(run.status)) return null;
  const eta = etaMs(run);
  const phase = progress.step > 0 ? 'training' : (progress.phase ?? 'starting');
  return (
    <div className="progress-row">
      <progress aria-label="Progress" max={progress.total} value={progress.step} />
      <span data-testid="progress-text">
        {run.status === 'paused' ? 'paused' : phase} · step {progress.step} / {progress.total}
        {eta !== undefined && run.status === 'running' && ` · ETA ${formatDuration(eta)}`}
      </span>
    </div>
  );
}

const METRIC_FORMATS: Record<MetricText['format'], (v: number) => string> = {
  percent: formatPercent,
  bytes: formatBytes,
  count: formatCount,
  number: formatNumber,
};

/** A run on uploaded images without their labels as the test set measures agreement, not accuracy. */
const measuresAgreement = (run: RunRecord) => !!run.config.shots && !run.config.shotsAsTest;

/** How much smaller the student really is: the teacher's float32 bytes over its real size. */
function realCompression(r: NonNullable<RunRecord['result']>): [string, string] {
  const { what, bytes } = realSize(r);
  return [`compression (float32 → ${what})`, `${(r.teacher.bytes / bytes).toFixed(2)}×`];
}

function ResultCards({ run }: { run: RunRecord }) {
  const r = run.result;
  if (!r) return null;
  const measure = measuresAgreement(run) ? 'agreement with teacher' : 'accuracy';
  const cards: [string, string][] = [
    [`student ${measure}`, formatPercent(r.student.accuracy)],
    ...(measuresAgreement(run)
      ? []
      : [['teacher accuracy', formatPercent(r.teacher.accuracy)] as [string, string]]),
    realCompression(r),
    ['student params', formatCount(r.student.params)],
    ['student size, float32', formatBytes(r.student.bytes)],
    ...(r.student.exportBytes === undefined || r.student.gzipBytes === undefined
      ? []
      : [
          ['exported file', formatBytes(r.student.exportBytes)] as [string, string],
          ['exported file, gzipped', formatBytes(r.student.gzipBytes)] as [string, string],
        ]),
    ['wall time', formatDuration(r.wallTimeMs)],
    ...(r.resumedFrom !== undefined
      ? [['resumed from', `step ${r.resumedFrom}`] as [string, string]]
      : []),
    // Per-layer metrics ('estimation-error/conv2') are drawn by the per-layer charts.
    ...Object.entries(r.metrics)
      .filter(([k]) => !k.includes('/'))
      .map(([k, v]): [string, string] => {
        const { label, format } = describeMetric(k);
        return [label, METRIC_FORMATS[format](v)];
      }),
  ];
  return <Cards cards={cards} testId="result" />;
}

/** A run that ended unfinished goes on from its checkpoint, or the line says why it cannot. */
function ResumeFromCheckpoint({ run }: { run: RunRecord }) {
  const method = useWorkbench((s) => s.catalog?.methods.find((m) => m.id === run.config.method));
  const resumeFromCheckpoint = useWorkbench((s) => s.resumeFromCheckpoint);
  const option = resumability(run, method);
  if (!option) return null;
  if ('reason' in option) {
    return (
      <p className="small muted" data-testid="resume-note">
        Cannot resume from the checkpoint at step {run.checkpointStep}: {option.reason}
      </p>
    );
  }
  return (
    <div className="actions" data-testid="resume">
      <button type="button" onClick={() => resumeFromCheckpoint(run.id)}>
        Resume from step {option.step}
      </button>
      <p className="small muted" data-testid="resume-note">
        Trains the stored student for the {run.config.steps - option.step} steps left. A checkpoint
        holds the student and what the method keeps beside it (a generator, pruning targets, float
        shadow weights), not the optimisers&apos; moments, which restart: the result is not what an
        uninterrupted run would give bit for bit.
      </p>
    </div>
  );
}

function Actions({ run }: { run: RunRecord }) {
  const exportRuns = useWorkbench((s) => s.exportRuns);
  const studentFiles = useWorkbench((s) => s.studentFiles);
  const studentOnnx = useWorkbench((s) => s.studentOnnx);
  const remove = useWorkbench((s) => s.remove);
  const adoptConfig = useWorkbench((s) => s.adoptConfig);
  const teacher = useTeacherLabel(run.config.teacher);
  const short = run.id.slice(0, 8);
  const exportOne = async () =>
    saveFile(`compression-lab-run-${short}.json`, await exportRuns([run.id]), 'application/json');
  const downloadZip = async () => {
    const files = await studentFiles(run.id);
    if (files) saveFile(`student-${short}.zip`, modelZip(files), 'application/zip');
  };
  const downloadOnnx = async () => {
    const bytes = await studentOnnx(run.id);
    if (bytes) saveFile(`student-${short}.onnx`, bytes as BlobPart, 'application/octet-stream');
  };
  const downloadReport = () =>
    saveFile(
      `student-${short}-report.json`,
      JSON.stringify(runReport(run, teacher), null, 2),
      'application/json',
    );
  // The run's configuration as the file `npx clab run --recipe` runs and "Load recipe…" reads.
  const downloadRecipe = () =>
    saveFile(
      `recipe-${run.config.method}-${short}.json`,
      `${JSON.stringify(runRecipe(run), null, 2)}\n`,
      'application/json',
    );
  return (
    <div className="actions">
      <button type="button" className="ghost" onClick={() => adoptConfig(run.config)}>
        Use this config
      </button>
      <button type="button" className="ghost" onClick={() => void exportOne()}>
        Export run
      </button>
      {run.hasStudent && (
        <>
          <button type="button" className="ghost" onClick={() => void downloadZip()}>
            Student as TF.js (.zip)
          </button>
          <button type="button" className="ghost" onClick={() => void downloadOnnx()}>
            Student as ONNX
          </button>
          {run.checkpointStep !== undefined && (
            <span className="muted small" data-testid="checkpoint-note">
              the student as of step {run.checkpointStep},{' '}
              {run.status === 'stopped' ? 'where it stopped' : 'its last checkpoint'}
            </span>
          )}
        </>
      )}
      {run.result && (
        <button type="button" className="ghost" onClick={downloadReport}>
          Run report
        </button>
      )}
      <button type="button" className="ghost" onClick={downloadRecipe}>
        Recipe (.json)
      </button>
      <button
        type="button"
        className="ghost danger"
        onClick={() => {
          const what = run.hasStudent ? 'this run and its student' : 'this run';
          if (confirm(`Delete ${what} (${run.methodTitle}, seed ${run.config.seed})?`)) {
            void remove(run.id);
          }
        }}
      >
        Delete run
      </button>
    </div>
  );
}

function Charts({ run }: { run: RunRecord }) {
  const groups = groupScalars(Object.keys(run.scalars));
  const named = <T,>(record: Record<string, T>) =>
    Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  const empty =
    groups.length +
      Object.keys(run.layers).length +
      Object.keys(run.images).length +
      Object.keys(run.embeddings).length +
      Object.keys(run.curves ?? {}).length +
      Object.keys(run.tables).length ===
    0;
  if (empty) {
    return ACTIVE.has(run.status) ? (
      <p className="muted">Waiting for the first events…</p>
    ) : (
      <p className="muted">This run recorded no events.</p>
    );
  }
  return (
    <div className="charts">
      {groups.map(([group, keys]) => (
        <ScalarChart
          key={group}
          title={group}
          keys={keys}
          scalars={run.scalars}
          stages={run.stages}
        />
      ))}
      <EstimationErrorChart layers={run.layers} />
      {named(run.layers)
        .filter(([key]) => !errorViewOf(key))
        .map(([key, snapshot]) => (
          <LayersChart key={key} title={key} snapshot={snapshot} />
        ))}
      {named(run.images).map(([key, event]) => (
        <ImageGrid key={key} title={key} event={event} />
      ))}
      {named(run.embeddings).map(([key, event]) => (
        <EmbeddingView
          key={key}
          title={key}
          event={event}
          config={run.config}
          classNames={run.classNames}
        />
      ))}
      {named(run.curves ?? {}).map(([key, event]) =>
        key === 'sensitivity' ? (
          <SensitivityPanel key={key} title={key} event={event} run={run} />
        ) : (
          <CurveChart key={key} title={key} event={event} />
        ),
      )}
      {run.tables['rank-sweep'] && <RankExplorer event={run.tables['rank-sweep']} />}
      {named(run.tables).map(([key, event]) => (
        <TableView key={key} title={key} event={event} />
      ))}
    </div>
  );
}

/** "run 3 of 8 of sweep …": back to the sweep's results. */
function SweepLink({ run }: { run: RunRecord }) {
  const selectSweep = useWorkbench((s) => s.selectSweep);
  if (!run.sweep) return null;
  const { id, index, total, config } = run.sweep;
  return (
    <>
      {' · '}
      <button type="button" className="link" onClick={() => selectSweep(id)}>
        run {index + 1} of {total} of sweep{config.name ? ` ${config.name}` : ''}
      </button>
    </>
  );
}

/**
 * The model summary, memoised: while a run goes on only its models matter, so its events leave
 * the tables as they are; once it has ended, the rest reads the whole (now rarely changing)
 * record.
 */
function RunModelSummary({ run }: { run: RunRecord }) {
  const { models } = run;
  const ended = ACTIVE.has(run.status) ? undefined : run;
  return useMemo(() => {
    if (!models) return null;
    const latency = ended?.latency;
    const teacherLatency = ended?.teacherLatency;
    return (
      <ModelSummary
        teacher={models.teacher}
        student={models.student}
        encodedBytes={ended?.result?.metrics['encoded-bytes']}
        latency={
          latency && teacherLatency ? { teacher: teacherLatency, student: latency } : undefined
        }
      >
        {ended?.result && <MeasureLatency runs={[ended]} rows={comparisonRows([ended])} />}
      </ModelSummary>
    );
  }, [models, ended]);
}

/**
 * The selected run, drawn from a deferred copy while it streams: every worker message changes
 * the run, and React then draws the view in a render of its own, which it may interrupt, after
 * the message's task rather than inside it. Another run or a new status (Resume clicked, the run
 * ended) is drawn at once.
 */
export function RunView() {
  const live = useWorkbench((s) => (s.selectedId ? s.runs[s.selectedId] : undefined));
  const deferred = useDeferredValue(live);
  const run = deferred?.id === live?.id && deferred?.status === live?.status ? deferred : live;
  return run ? <RunPage run={run} /> : <NothingSelected />;
}

function NothingSelected() {
  return (
    <main className="main">
      <div className="welcome">
        <h2>Nothing selected</h2>
        <p className="muted">
          Pick a teacher, a dataset and a method on the right, then press <strong>Run</strong>. The
          run trains in a Web Worker; its charts stream here and every run is kept in this browser.
        </p>
      </div>
    </main>
  );
}

/** A run's status and controls, live charts, result, model summary and log. */
const RunPage = memo(function RunPage({ run }: { run: RunRecord }) {
  const teacher = useTeacherLabel(run.config.teacher);
  const { config } = run;
  const params = Object.entries(config.params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return (
    <main className="main" data-testid="run-view" data-status={run.status}>
      <ViewHead
        title={run.methodTitle}
        networks={`${teacher} → ${config.student} · ${config.shots ? 'uploaded images' : config.dataset}`}
        status={run.status}
        createdAt={run.createdAt}
        details={
          <>
            seed {config.seed} · {config.steps} steps · <code>{params}</code>
            <SweepLink run={run} />
          </>
        }
      >
        <Controls run={run} />
      </ViewHead>
      <Progress run={run} />
      <StepTerms run={run} />
      <LiveParams run={run} />
      <p className="backend small" data-testid="backend">
        {run.backend ? (
          <>
            Backend <strong>{run.backend.name}</strong>: {run.backend.reason}
          </>
        ) : (
          <>Backend: {config.backend} (not started yet)</>
        )}
      </p>
      {run.error && (
        <div className="error-box" role="alert" data-testid="run-error">
          <strong>{run.status === 'failed' ? 'Failed' : 'Error'}:</strong> {run.error.message}
          {run.error.hint && <p className="hint">{run.error.hint}</p>}
        </div>
      )}
      {run.status === 'interrupted' && (
        <div className="error-box warn" data-testid="run-error">
          Interrupted: the page was closed or reloaded while this run was going. Its charts are kept
          up to the last save; run it again with <em>Use this config</em>.
        </div>
      )}
      <ResumeFromCheckpoint run={run} />
      {measuresAgreement(run) && (
        <p className="small muted" data-testid="agreement-note">
          No labelled test set: every accuracy of this run is the student&apos;s agreement with the
          teacher on the uploaded images.
        </p>
      )}
      <ResultCards run={run} />
      <Charts run={run} />
      <RunModelSummary run={run} />
      {run.logs.length > 0 && (
        <details className="panel">
          <summary>Log ({run.logs.length})</summary>
          <ul className="log">
            {run.logs.map((l, i) => (
              <li key={i} className={l.level}>
                {l.message}
              </li>
            ))}
          </ul>
        </details>
      )}
      <Actions run={run} />
    </main>
  );
});
