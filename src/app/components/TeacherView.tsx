import { useState } from 'react';
import { describePreprocessing } from '../../core/graph/preprocessing';
import type { TeacherCheck } from '../../worker/protocol';
import { formatBytes, formatCount, formatPercent } from '../format';
import { useWorkbench } from '../state/context';
import type { UploadedTeacher } from '../state/teachers';
import { AllNodesToggle, ModelTable } from './ModelSummary';
import { SelectField } from './ParamField';
import { Cards } from './Cards';
import { ViewHead } from './ViewHead';

function SummaryCards({ teacher }: { teacher: UploadedTeacher }) {
  const { stats, check } = teacher;
  const cards: [string, string][] = [
    ['layers', String(stats.nodes.filter((n) => n.params > 0).length)],
    ['params', formatCount(stats.params)],
    ['FLOPs', formatCount(stats.flops)],
    ['size', formatBytes(stats.bytes)],
    ['input', teacher.inputShape.join('×')],
    ['classes', String(teacher.classes)],
    [
      `accuracy on ${check.images ?? check.dataset}`,
      check.accuracy === undefined ? 'does not fit' : formatPercent(check.accuracy),
    ],
  ];
  return <Cards cards={cards} testId="teacher-summary" />;
}

/** Every preprocessing candidate detection tried, the chosen one first in weight. */
function DetectionTable({ detection }: { detection: NonNullable<TeacherCheck['detection']> }) {
  return (
    <div className="table-scroll" tabIndex={0}>
      <table data-testid="detection-table">
        <caption className="small muted">
          Accuracy of each candidate on {detection.samples} labelled images
        </caption>
        <thead>
          <tr>
            <th scope="col">preprocessing</th>
            <th scope="col" className="num">
              accuracy
            </th>
            <th scope="col">choice</th>
          </tr>
        </thead>
        <tbody>
          {detection.trials.map((t, i) => (
            <tr key={i} className={i === detection.chosen ? 'chosen' : undefined}>
              <td>{t.label}</td>
              <td className="num">{formatPercent(t.accuracy)}</td>
              <td>{i === detection.chosen ? 'chosen' : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The accuracy check on a built-in dataset or uploaded images, and preprocessing detection. */
function CheckPanel({ teacher }: { teacher: UploadedTeacher }) {
  const catalog = useWorkbench((s) => s.catalog);
  const imageSets = useWorkbench((s) => s.imageSets);
  const task = useWorkbench((s) => s.teacherTask);
  const checkTeacher = useWorkbench((s) => s.checkTeacher);
  const [chosen, setData] = useState<string>(teacher.check.dataset);
  // A deleted image set falls back to the teacher's dataset.
  const data = imageSets[chosen] || !chosen.startsWith('images:') ? chosen : teacher.check.dataset;
  const { check } = teacher;
  const measuredOn = check.images ?? check.dataset;
  return (
    <section className="panel" aria-labelledby="teacher-check-title" data-testid="teacher-check">
      <div className="panel-head">
        <h3 id="teacher-check-title">Accuracy and preprocessing</h3>
      </div>
      <p data-testid="teacher-preprocessing">
        Runs use the preprocessing <strong>{describePreprocessing(teacher.preprocessing)}</strong>
        {check.detection ? ' (detected)' : ' (as the file says)'}.
      </p>
      {check.misfit ? (
        <div className="error-box" role="alert" data-testid="teacher-misfit">
          <strong>Does not fit {measuredOn}:</strong> {check.misfit.message}
          {check.misfit.hint && <p className="hint">{check.misfit.hint}</p>}
        </div>
      ) : (
        <p data-testid="teacher-accuracy">
          {formatPercent(check.accuracy ?? 0)}{' '}
          {check.images
            ? `on ${check.examples} uploaded images (${check.images}), labelled by their folders.`
            : `on the first ${check.examples} ${check.dataset} test images.`}
        </p>
      )}
      <div className="upload-row check-row">
        {catalog && (
          <SelectField
            label="Check on"
            value={data}
            options={[
              ...catalog.datasets.map((d) => ({ value: d.id, title: d.title })),
              ...Object.values(imageSets).map((i) => ({
                value: i.id,
                title: `${i.name} (uploaded images)`,
              })),
            ]}
            onChange={setData}
          />
        )}
        <button
          type="button"
          disabled={!!task}
          onClick={() => void checkTeacher(teacher.id, data, false)}
        >
          Measure accuracy
        </button>
        <button
          type="button"
          className="primary"
          disabled={!!task}
          onClick={() => void checkTeacher(teacher.id, data, true)}
        >
          Detect preprocessing
        </button>
        {task && (
          <span className="muted small" role="status">
            {task}
          </span>
        )}
      </div>
      {check.detection && <DetectionTable detection={check.detection} />}
    </section>
  );
}

/** An uploaded teacher: its summary, its accuracy and preprocessing, its layers. */
export function TeacherView({ id }: { id: string }) {
  const teacher = useWorkbench((s) => s.teachers[id]);
  const setConfig = useWorkbench((s) => s.setConfig);
  const removeTeacher = useWorkbench((s) => s.removeTeacher);
  const [allNodes, setAllNodes] = useState(false);
  if (!teacher) return null;
  return (
    <main className="main" data-testid="teacher-view">
      <ViewHead
        title={teacher.name}
        networks={`uploaded ${{ onnx: 'ONNX', 'tfjs-graph': 'TF.js graph', 'tfjs-layers': 'TF.js Layers' }[teacher.format]} teacher`}
        createdAt={teacher.createdAt}
        created="uploaded"
        details={<>from {teacher.sourceFiles.join(', ')}</>}
      >
        <div className="controls">
          <button type="button" onClick={() => setConfig({ teacher: teacher.id })}>
            Use as teacher
          </button>
        </div>
      </ViewHead>
      <SummaryCards teacher={teacher} />
      <CheckPanel teacher={teacher} />
      <section className="panel" aria-label="Layers">
        <div className="panel-head">
          <span />
          <AllNodesToggle checked={allNodes} onChange={setAllNodes} />
        </div>
        <ModelTable role="Layers" stats={teacher.stats} allNodes={allNodes} />
      </section>
      <div className="actions">
        <button
          type="button"
          className="ghost danger"
          onClick={() => void removeTeacher(teacher.id)}
        >
          Delete teacher
        </button>
      </div>
    </main>
  );
}
