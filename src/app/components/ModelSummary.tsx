import { memo, useState } from 'react';
import type { ModelSize } from '../../core/io/size';
import type { BackendName, ModelStats } from '../../worker/protocol';
import type { LatencyByBackend } from '../state/runs';
import { formatBytes, formatCount, formatNumber } from '../format';

/** One network layer by layer: the model summary's halves, and an uploaded teacher's view. */
export function ModelTable({
  role,
  stats,
  allNodes,
}: {
  role: string;
  stats: ModelStats;
  allNodes: boolean;
}) {
  const nodes = allNodes ? stats.nodes : stats.nodes.filter((n) => n.params > 0);
  return (
    <div className="model-table">
      <h4>
        {role}: <code>{stats.name}</code>
      </h4>
      <div className="table-scroll" tabIndex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">layer</th>
              <th scope="col">op</th>
              <th scope="col">output</th>
              <th scope="col" className="num">
                params
              </th>
              <th scope="col" className="num">
                FLOPs
              </th>
              <th scope="col" className="num">
                bytes
              </th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.id} className={n.params === 0 ? 'dim' : undefined}>
                <td>
                  <code>{n.id}</code>
                </td>
                <td>{n.op}</td>
                <td>{n.outputShape.join('×')}</td>
                <td className="num">{formatCount(n.params)}</td>
                <td className="num">{formatCount(n.flops)}</td>
                <td className="num">{formatBytes(n.bytes)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>
                total
              </th>
              <td className="num">{formatCount(stats.params)}</td>
              <td className="num">{formatCount(stats.flops)}</td>
              <td className="num">{formatBytes(stats.bytes)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </div>
  );
}

/** Shows the nodes without weights too; the tables hide them by default. */
export function AllNodesToggle({
  checked,
  onChange,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <label className="small">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> all
      nodes (activations, pooling, …)
    </label>
  );
}

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const SIZE_ROWS = [
  { key: 'params', title: 'parameters', format: formatCount },
  { key: 'nonZeroParams', title: 'non-zero parameters', format: formatCount },
  { key: 'flops', title: 'FLOPs per image (multiply-adds)', format: formatCount },
  { key: 'denseBytes', title: 'every weight as float32', format: formatBytes },
  { key: 'exportBytes', title: 'exported weight file', format: formatBytes },
  { key: 'gzipBytes', title: 'exported file, gzipped', format: formatBytes },
] as const;

/**
 * What the two networks really cost: zeros left by pruning cost as much as any weight until the
 * file stores them otherwise, so the dense, exported and gzipped sizes stand side by side.
 */
function SizeTable({
  teacher,
  student,
  encodedBytes,
  latency,
}: {
  teacher: ModelSize;
  student: ModelSize;
  encodedBytes?: number;
  latency?: { teacher: LatencyByBackend; student: LatencyByBackend };
}) {
  const backends = (Object.keys(latency?.student ?? {}) as BackendName[]).filter(
    (b) => latency?.teacher[b],
  );
  const latencyRows = backends.flatMap((b) => {
    const [t, s] = [latency!.teacher[b]!, latency!.student[b]!];
    return [
      { key: `${b}-1`, title: `inference, batch 1 (ms, ${b})`, t: t.batch1Ms, s: s.batch1Ms },
      {
        key: `${b}-64`,
        title: `inference per image at batch 64 (ms, ${b})`,
        t: t.perImageMs,
        s: s.perImageMs,
      },
    ];
  });
  return (
    <div className="table-scroll" tabIndex={0}>
      <table data-testid="size-table">
        <caption>
          What each network really costs: pruned weights still take space in a dense file, so the
          exported file (quantized where the weights allow it exactly, removed channels gone) and
          its gzipped size are shown beside the float32 size.
        </caption>
        <thead>
          <tr>
            <th scope="col">measure</th>
            <th scope="col" className="num">
              teacher
            </th>
            <th scope="col" className="num">
              student
            </th>
            <th scope="col" className="num">
              teacher / student
            </th>
          </tr>
        </thead>
        <tbody>
          {SIZE_ROWS.map(({ key, title, format }) => (
            <tr key={key}>
              <th scope="row">{title}</th>
              <td className="num">{format(teacher[key])}</td>
              <td className="num">{format(student[key])}</td>
              <td className="num">{ratio(teacher[key], student[key])}</td>
            </tr>
          ))}
          {encodedBytes !== undefined && (
            <tr>
              <th scope="row">the method’s own encoding</th>
              <td className="num">–</td>
              <td className="num">{formatBytes(encodedBytes)}</td>
              <td className="num">{ratio(teacher.denseBytes, encodedBytes)}</td>
            </tr>
          )}
          {latencyRows.map(({ key, title, t, s }) => (
            <tr key={key}>
              <th scope="row">{title}</th>
              <td className="num">{formatNumber(t)}</td>
              <td className="num">{formatNumber(s)}</td>
              <td className="num">{ratio(t, s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Teacher and student layer by layer (from graphStats in the worker), and how much smaller. */
export const ModelSummary = memo(function ModelSummary({
  teacher,
  student,
  encodedBytes,
  latency,
  children,
}: {
  teacher: ModelStats;
  student: ModelStats;
  /** The method's own storage format's bytes (`encoded-bytes`), where it has one. */
  encodedBytes?: number;
  /** Measured inference latency of both, per backend. */
  latency?: { teacher: LatencyByBackend; student: LatencyByBackend };
  /** Under the size table: the control that measures latency. */
  children?: React.ReactNode;
}) {
  const [allNodes, setAllNodes] = useState(false);
  return (
    <section className="panel" aria-labelledby="model-summary-title" data-testid="model-summary">
      <div className="panel-head">
        <h3 id="model-summary-title">Model summary</h3>
        <AllNodesToggle checked={allNodes} onChange={setAllNodes} />
      </div>
      <p className="compression">
        Compression{' '}
        <strong data-testid="compression-ratio">{ratio(teacher.bytes, student.bytes)}</strong> in
        float32 bytes ({formatBytes(teacher.bytes)} → {formatBytes(student.bytes)}) · params{' '}
        {ratio(teacher.params, student.params)} · FLOPs {ratio(teacher.flops, student.flops)}
      </p>
      {teacher.size && student.size && (
        <SizeTable
          teacher={teacher.size}
          student={student.size}
          encodedBytes={encodedBytes}
          latency={latency}
        />
      )}
      {children}
      <div className="model-tables">
        <ModelTable role="Teacher" stats={teacher} allNodes={allNodes} />
        <ModelTable role="Student" stats={student} allNodes={allNodes} />
      </div>
    </section>
  );
});
