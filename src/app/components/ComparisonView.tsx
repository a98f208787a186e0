// Runs side by side: a table of final metrics, accuracy against a chosen cost with the Pareto
// front, the series several runs share overlaid on one axis, and their per-layer values as
// grouped bars. Every run keeps one colour throughout.
import { useMemo, useState } from 'react';
import { ComposedChart, Legend, Line, LineChart, Scatter, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBytes, formatCount, formatDuration, formatNumber, formatPercent } from '../format';
import {
  availableCosts,
  comparisonRows,
  costPoints,
  COSTS,
  paretoFront,
  sharedKeys,
  testSetMismatch,
  type ComparisonRow,
  type Cost,
} from '../state/compare';
import { useWorkbench } from '../state/context';
import type { RunRecord } from '../state/runs';
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
import { SelectField } from './ParamField';
import { PredictionChanges } from './PredictionChanges';

const HEIGHT = 260;
const isAccuracy = (key: string) => key.split('/')[0] === 'accuracy';

const formatCost = (cost: Cost, v: number) =>
  cost === 'bytes' || cost === 'encodedBytes' ? formatBytes(v) : formatCount(v);

function MetricsTable({ rows }: { rows: ComparisonRow[] }) {
  const cell = (v: number | undefined, f: (x: number) => string) => (v === undefined ? '–' : f(v));
  return (
    <TableFigure
      title="Final metrics"
      note="Student accuracy on the test set (agreement with the teacher where marked), its size and cost, and how the run went."
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
            {['accuracy', 'teacher', 'params', 'non-zero', 'FLOPs', 'size', 'encoded', 'time'].map(
              (h) => (
                <th key={h} scope="col" className="num">
                  {h}
                </th>
              ),
            )}
            <th scope="col">backend</th>
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
              <td className="num">{cell(r.encodedBytes, formatBytes)}</td>
              <td className="num">{cell(r.wallTimeMs, formatDuration)}</td>
              <td>{r.backend ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableFigure>
  );
}

/** Accuracy against a cost, every run a dot in its colour, the Pareto front a line. */
function ParetoChart({ rows }: { rows: ComparisonRow[] }) {
  const costs = availableCosts(rows);
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
        options={costs.map((c) => ({ value: c, title: COSTS[c] }))}
        onChange={(v) => setCost(v as Cost)}
      />
      <ChartFigure
        title="Accuracy against cost"
        note={`Each run's student: up is more accurate, left is cheaper. The line joins the runs no other run beats on both (the Pareto front: ${front.map((p) => label(p.id)).join(', ')}).`}
        height={HEIGHT}
        data-testid="compare-pareto"
        data-points={points.length}
        table={() => ({
          columns: ['run', COSTS[cost], 'student accuracy', 'on the Pareto front'],
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
            label={xAxisTitle(COSTS[cost])}
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
