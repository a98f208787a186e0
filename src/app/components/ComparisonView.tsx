// Runs side by side: a table of final metrics (with inference latency per backend, measured on
// request), accuracy against a chosen cost with the Pareto front, the series several runs share
// overlaid on one axis, and their per-layer values as grouped bars. Every run keeps one colour
// throughout.
import { useMemo, useState } from 'react';
import { ComposedChart, Legend, Line, LineChart, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBytes, formatCount, formatDuration, formatNumber, formatPercent } from '../format';
import type { BackendName } from '../../worker/protocol';
import {
  availableCosts,
  comparisonRows,
  costPoints,
  costTitle,
  isLatencyCost,
  latencyBackends,
  latencyCosts,
  paretoFront,
  sharedKeys,
  testSetMismatch,
  type ComparisonRow,
  type Cost,
} from '../state/compare';
import { useWorkbench } from '../state/context';
import { ACTIVE, type LatencyByBackend, type RunRecord } from '../state/runs';
import {
  accuracyYAxis,
  numberXAxis,
  TITLED_MARGIN,
  TITLED_X_AXIS_HEIGHT,
  valueYAxis,
  xAxisTitle,
  yAxisTitle,
} from './charts/axes';
import { describeScalars } from './charts/describe';
import { ChartFigure, seriesTable, TableFigure } from './charts/figure';
import { LayerBars } from './charts/LayersChart';
import { color } from './charts/palette';
import { SelectField, type SelectOption } from './ParamField';
import { PredictionChanges } from './PredictionChanges';

const HEIGHT = 260;
const isAccuracy = (key: string) => key.split('/')[0] === 'accuracy';

const formatMs = (ms: number) => `${formatNumber(ms)} ms`;

const formatCost = (cost: Cost, v: number) =>
  isLatencyCost(cost)
    ? formatMs(v)
    : cost === 'bytes' || cost === 'encodedBytes' || cost === 'exportBytes' || cost === 'gzipBytes'
      ? formatBytes(v)
      : formatCount(v);

const cell = (v: number | undefined, f: (x: number) => string) => (v === undefined ? '–' : f(v));

/** The two latency measures, as the table's columns name them. */
const LATENCY_COLUMNS = [
  { measure: 'batch1Ms', title: 'ms, batch 1' },
  { measure: 'perImageMs', title: 'ms/image, batch 64' },
] as const;

/** One latency measure of a student on one backend, its teacher's beneath; why not, if absent. */
function LatencyCell({
  row,
  backend,
  measure,
}: {
  row: ComparisonRow;
  backend: BackendName;
  measure: (typeof LATENCY_COLUMNS)[number]['measure'];
}) {
  const of = (byBackend: LatencyByBackend) => byBackend[backend]?.[measure];
  const student = of(row.latency);
  const teacher = of(row.teacherLatency);
  return (
    <td
      className="num"
      data-testid={`latency-${backend}-${measure}`}
      title={student === undefined ? (row.noLatency ?? `not measured on ${backend}`) : undefined}
    >
      {cell(student, formatNumber)}
      {teacher !== undefined && <div className="muted small">teacher {formatNumber(teacher)}</div>}
    </td>
  );
}

function MetricsTable({ rows }: { rows: ComparisonRow[] }) {
  const backends = latencyBackends(rows);
  return (
    <TableFigure
      title="Final metrics"
      note={`Student accuracy on the test set (agreement with the teacher where marked), its size and cost, and how the run went. Sizes: every weight as float32; the exported file (smaller only where channels were removed or weights stored quantized); that file gzipped; the method's own encoding where it has one.${backends.length ? ' Latency: median wall time of one inference pass on the backend named, the teacher’s beneath.' : ''}`}
      data-testid="compare-table"
    >
      <table>
        <thead>
          <tr>
            {['run', 'networks', 'data', 'test set', 'steps'].map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
            {[
              'accuracy',
              'teacher',
              'params',
              'non-zero',
              'FLOPs',
              'float32',
              'exported',
              'gzipped',
              'encoded',
              'time',
            ].map((h) => (
              <th key={h} scope="col" className="num">
                {h}
              </th>
            ))}
            <th scope="col">backend</th>
            {backends.flatMap((b) =>
              LATENCY_COLUMNS.map(({ measure, title }) => (
                <th key={`${b}-${measure}`} scope="col" className="num">
                  {title} ({b})
                </th>
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.id} data-testid="compare-row">
              <th scope="row">
                <span className="swatch" style={{ background: color(i) }} aria-hidden="true" />
                {r.label}
              </th>
              <td>{r.networks}</td>
              <td>{r.data}</td>
              <td>{r.testSet}</td>
              <td className="num">{r.steps}</td>
              <td className="num">
                {cell(r.accuracy, formatPercent)}
                {r.agreement && r.accuracy !== undefined && ' (agreement)'}
              </td>
              <td className="num">{cell(r.teacherAccuracy, formatPercent)}</td>
              <td className="num">{cell(r.params, formatCount)}</td>
              <td className="num">{cell(r.nonZeroParams, formatCount)}</td>
              <td className="num">{cell(r.flops, formatCount)}</td>
              <td className="num">{cell(r.bytes, formatBytes)}</td>
              <td className="num">{cell(r.exportBytes, formatBytes)}</td>
              <td className="num">{cell(r.gzipBytes, formatBytes)}</td>
              <td className="num">{cell(r.encodedBytes, formatBytes)}</td>
              <td className="num">{cell(r.wallTimeMs, formatDuration)}</td>
              <td>{r.backend ?? '–'}</td>
              {backends.flatMap((b) =>
                LATENCY_COLUMNS.map(({ measure }) => (
                  <LatencyCell key={`${b}-${measure}`} row={r} backend={b} measure={measure} />
                )),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </TableFigure>
  );
}

/** Accuracy against a cost, every run a dot in its colour, the Pareto front a line. */
function ParetoChart({ rows }: { rows: ComparisonRow[] }) {
  // Latency is offered per backend measured, and only where every plotted run has it.
  const latency = latencyCosts(rows);
  const costs: Cost[] = [
    ...availableCosts(rows),
    ...latency.flatMap((l) => (l.cost && !l.missing.length ? [l.cost] : [])),
  ];
  const options: SelectOption[] = [
    ...costs.filter((c) => !isLatencyCost(c)).map((c) => ({ value: c, title: costTitle(c) })),
    ...latency.map((l) => ({
      value: l.cost ?? 'latency',
      title: l.title,
      disabled: !l.cost || l.missing.length > 0,
      hint: l.missing.length
        ? `Not measured${l.cost ? ' on this backend' : ''} for ${l.missing.join(', ')}: press Measure latency.`
        : undefined,
    })),
  ];
  const [chosen, setCost] = useState<Cost>('bytes');
  const cost = costs.includes(chosen) ? chosen : costs[0];
  if (!cost) return null;
  const points = costPoints(rows, cost);
  const front = paretoFront(points);
  const onFront = new Set(front.map((p) => p.id));
  const xs = points.map((p) => p.cost);
  const ys = points.map((p) => p.accuracy);
  const label = (id: string) => rows.find((r) => r.id === id)!.label;
  return (
    <div className="compare-pareto">
      <SelectField
        label="Cost"
        value={cost}
        options={options}
        onChange={(v) => setCost(v as Cost)}
      />
      <ChartFigure
        title="Accuracy against cost"
        note={`Each run's student: up is more accurate, left is cheaper. The line joins the runs no other run beats on both (the Pareto front: ${front.map((p) => label(p.id)).join(', ')}).`}
        height={HEIGHT}
        data-testid="compare-pareto"
        data-points={points.length}
        table={() => ({
          columns: ['run', costTitle(cost), 'student accuracy', 'on the Pareto front'],
          rows: points.map((p) => [
            label(p.id),
            formatCost(cost, p.cost),
            formatPercent(p.accuracy),
            onFront.has(p.id) ? 'yes' : 'no',
          ]),
        })}
      >
        <ComposedChart margin={{ ...TITLED_MARGIN, right: 24 }}>
          <XAxis
            {...numberXAxis('cost', Math.min(...xs), Math.max(...xs))}
            tickFormatter={(v: number) => formatCost(cost, v)}
            height={TITLED_X_AXIS_HEIGHT}
            label={xAxisTitle(costTitle(cost))}
          />
          <YAxis
            dataKey="accuracy"
            type="number"
            {...accuracyYAxis(Math.min(...ys), Math.max(...ys))}
            label={yAxisTitle('student accuracy (%)')}
          />
          <Tooltip
            isAnimationActive={false}
            formatter={(v, name) =>
              name === 'cost' ? formatCost(cost, Number(v)) : formatPercent(Number(v))
            }
          />
          <Line
            data={front}
            dataKey="accuracy"
            name="Pareto front"
            stroke="var(--muted)"
            strokeDasharray="4 3"
            dot={false}
            isAnimationActive={false}
            legendType="none"
          />
          {rows.map((r, i) => {
            const data = points.filter((p) => p.id === r.id);
            return (
              data.length > 0 && (
                <Scatter
                  key={r.id}
                  name={`${r.label}${onFront.has(r.id) ? ' (front)' : ''}`}
                  data={data}
                  dataKey="accuracy"
                  fill={color(i)}
                  isAnimationActive={false}
                />
              )
            );
          })}
          <Legend />
        </ComposedChart>
      </ChartFigure>
    </div>
  );
}

/** One series key of every run that has it, overlaid on shared axes. */
function OverlayChart({
  scalarKey,
  runs,
  rows,
}: {
  scalarKey: string;
  runs: RunRecord[];
  rows: ComparisonRow[];
}) {
  const text = describeScalars(scalarKey.split('/')[0]);
  const series = runs.map((r) => r.scalars[scalarKey]);
  const all = series.flatMap((s) => s ?? []);
  const steps = all.map((p) => p.step);
  const values = all.map((p) => p.value);
  const accuracy = isAccuracy(scalarKey);
  return (
    <ChartFigure
      title={`${text.title}${scalarKey.includes('/') ? ` (${scalarKey})` : ''}`}
      note={text.caption}
      height={HEIGHT}
      data-testid={`compare-${scalarKey}`}
      data-points={all.length}
      table={() =>
        seriesTable(
          rows.map((r) => r.label),
          series,
          accuracy ? formatPercent : formatNumber,
        )
      }
    >
      <LineChart margin={TITLED_MARGIN}>
        <XAxis
          {...numberXAxis('step', Math.min(...steps), Math.max(...steps))}
          height={TITLED_X_AXIS_HEIGHT}
          label={xAxisTitle(text.x ?? 'step')}
        />
        <YAxis
          label={yAxisTitle(accuracy ? 'accuracy (%)' : (text.y ?? scalarKey))}
          {...(accuracy
            ? accuracyYAxis(Math.min(...values), Math.max(...values))
            : valueYAxis(Math.min(...values), Math.max(...values)))}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={(v) => (accuracy ? formatPercent(Number(v)) : formatNumber(Number(v)))}
          labelFormatter={(v) => `step ${String(v)}`}
        />
        <Legend />
        {runs.map(
          (r, i) =>
            series[i] && (
              <Line
                key={r.id}
                name={rows[i].label}
                data={series[i]}
                dataKey="value"
                stroke={color(i)}
                strokeWidth={2}
                dot={series[i].length < 30}
                isAnimationActive={false}
              />
            ),
        )}
      </LineChart>
    </ChartFigure>
  );
}

/** One per-layer key of every run that has it, as bars grouped by layer. */
function GroupedLayersChart({
  layersKey,
  runs,
  rows,
}: {
  layersKey: string;
  runs: RunRecord[];
  rows: ComparisonRow[];
}) {
  // Each run keeps its colour (its index), with or without this key.
  const series = runs.flatMap((r, i) => {
    const snapshot = r.layers[layersKey];
    return snapshot ? [{ id: r.id, name: rows[i].label, color: color(i), snapshot }] : [];
  });
  return (
    <LayerBars
      layersKey={layersKey}
      series={series}
      testId={`compare-layers-${layersKey}`}
      height={HEIGHT}
    />
  );
}

/**
 * Times the compared runs' students (and teachers) on the run form's backend; switching the
 * backend there and measuring again puts a second backend's columns beside the first.
 */
export function MeasureLatency({ runs, rows }: { runs: RunRecord[]; rows: ComparisonRow[] }) {
  const measureLatency = useWorkbench((s) => s.measureLatency);
  const backend = useWorkbench((s) => s.config?.backend);
  // Any run holding the worker, compared or not: it would share the CPU (or GPU) with the timing.
  const training = useWorkbench((s) => Object.values(s.runs).find((r) => ACTIVE.has(r.status)));
  const [busy, setBusy] = useState(false);
  const missing = rows.filter((r) => r.noLatency);
  const measurable = runs.length - missing.length;
  const measure = async () => {
    setBusy(true);
    await measureLatency(runs.map((r) => r.id));
    setBusy(false);
  };
  return (
    <div className="upload-row" data-testid="measure-latency">
      <button
        type="button"
        disabled={busy || !!training || measurable === 0}
        onClick={() => void measure()}
      >
        {busy ? 'Measuring latency…' : 'Measure latency'}
      </button>
      <span className="muted small">
        {training
          ? `Wait until ${training.methodTitle} (${training.status}) ends or stop it: timing while a run trains measures the contention, not the model.`
          : `Median of repeated inference passes of each student and its teacher, at batch 1 and batch 64, on ${!backend || backend === 'auto' ? 'the backend in use' : backend}; choose another backend in the Run tab and measure again to compare.`}
        {missing.length > 0 &&
          ` Not for ${missing.map((r) => `${r.label} (${r.noLatency})`).join('; ')}.`}
      </span>
    </div>
  );
}

/** The ticked runs compared; the rail's checkboxes choose them. */
export function ComparisonView() {
  const ids = useWorkbench((s) => s.compared);
  const allRuns = useWorkbench((s) => s.runs);
  const showComparison = useWorkbench((s) => s.showComparison);
  const clearCompared = useWorkbench((s) => s.clearCompared);
  const runs = useMemo(() => ids.map((id) => allRuns[id]).filter(Boolean), [ids, allRuns]);
  const rows = useMemo(() => comparisonRows(runs), [runs]);
  const scalarKeys = useMemo(
    () =>
      sharedKeys(runs.map((r) => r.scalars)).sort(
        (a, b) => Number(isAccuracy(b)) - Number(isAccuracy(a)),
      ),
    [runs],
  );
  const layerKeys = useMemo(() => sharedKeys(runs.map((r) => r.layers)), [runs]);
  const mismatch = testSetMismatch(rows);
  const unfinished = rows.filter((r) => r.accuracy === undefined).length;
  return (
    <main className="main" data-testid="comparison-view">
      <div className="run-head">
        <div>
          <h2>Comparing {runs.length} runs</h2>
          <p className="muted small">
            Tick runs in the list (or shift-click them) to add or remove them.
            {unfinished > 0 && ` ${unfinished} of them have no final result yet.`}
          </p>
        </div>
        <div className="controls">
          <button type="button" onClick={() => showComparison(false)}>
            Back to the run
          </button>
          <button type="button" className="ghost" onClick={clearCompared}>
            Untick all
          </button>
        </div>
      </div>
      {mismatch && (
        <p className="error-box warn" role="note" data-testid="compare-mismatch">
          {mismatch}
        </p>
      )}
      <MeasureLatency runs={runs} rows={rows} />
      <MetricsTable rows={rows} />
      <ParetoChart rows={rows} />
      <div className="charts">
        {scalarKeys.map((k) => (
          <OverlayChart key={k} scalarKey={k} runs={runs} rows={rows} />
        ))}
        {layerKeys.map((k) => (
          <GroupedLayersChart key={k} layersKey={k} runs={runs} rows={rows} />
        ))}
      </div>
      <PredictionChanges runs={runs} rows={rows} />
    </main>
  );
}
