// What compression changed in a run's predictions: the student's confusion matrix minus the
// teacher's on the run's own test images, and the images it flipped (teacher right, student
// wrong). Computed in the worker on request, from the stored student.
import { useState } from 'react';
import type { PredictionChangesResult } from '../../worker/protocol';
import { useWorkbench } from '../state/context';
import type { ComparisonRow } from '../state/compare';
import type { RunRecord } from '../state/runs';
import { TableFigure } from './charts/figure';
import { ImageGrid } from './charts/ImageGrid';
import { SelectField } from './ParamField';

/** Why a run's predictions cannot be compared with its teacher's, or undefined when they can. */
function unavailable(run: RunRecord): string | undefined {
  if (run.status !== 'done' || !run.hasStudent) return 'it has no finished student';
  if (run.config.shots) return 'it ran on uploaded images, not a labelled test set';
  return undefined;
}

/**
 * Student − teacher counts per (true class, predicted class): red where the student does worse
 * (fewer right on the diagonal, more wrong off it), blue where it does better.
 */
function DifferenceTable({ changes }: { changes: PredictionChangesResult }) {
  const { classNames, teacher, student } = changes;
  const diff = student.map((row, i) => row.map((v, j) => v - teacher[i][j]));
  const largest = Math.max(1, ...diff.flat().map(Math.abs));
  const shade = (v: number, diagonal: boolean) => {
    if (v === 0) return undefined;
    const worse = diagonal ? v < 0 : v > 0;
    const alpha = 0.15 + 0.6 * (Math.abs(v) / largest);
    return worse ? `rgba(225, 87, 89, ${alpha})` : `rgba(78, 121, 167, ${alpha})`;
  };
  return (
    <TableFigure
      title="Confusion matrix: student − teacher"
      note="Rows are the true class, columns the predicted one; each cell is the student's count minus the teacher's. Red: the student does worse there (fewer right on the diagonal, more mistakes off it); blue: better."
      data-testid="confusion-difference"
    >
      <table className="confusion">
        <thead>
          <tr>
            <th scope="col">true \ predicted</th>
            {classNames.map((c) => (
              <th key={c} scope="col" className="num">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.map((row, i) => (
            <tr key={classNames[i]}>
              <th scope="row">{classNames[i]}</th>
              {row.map((v, j) => (
                <td key={j} className="num" style={{ background: shade(v, i === j) }}>
                  {v === 0 ? '·' : v > 0 ? `+${v}` : v}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableFigure>
  );
}

export function PredictionChanges({ runs, rows }: { runs: RunRecord[]; rows: ComparisonRow[] }) {
  const predictionChanges = useWorkbench((s) => s.predictionChanges);
  const usable = runs.filter((r) => !unavailable(r));
  const [chosen, setChosen] = useState('');
  const id = usable.some((r) => r.id === chosen) ? chosen : usable[0]?.id;
  const [result, setResult] = useState<{ id: string; changes: PredictionChangesResult }>();
  const [busy, setBusy] = useState(false);
  const label = (runId: string) => rows.find((r) => r.id === runId)?.label ?? runId;
  const skipped = runs.filter(unavailable);
  const compute = async () => {
    if (!id) return;
    setBusy(true);
    const changes = await predictionChanges(id);
    setBusy(false);
    if (changes) setResult({ id, changes });
  };
  const shown = result && result.id === id ? result.changes : undefined;
  return (
    <section className="panel" aria-labelledby="changes-title" data-testid="prediction-changes">
      <div className="panel-head">
        <h3 id="changes-title">What compression changed</h3>
      </div>
      <p className="muted small">
        The student against its teacher on the run's own test images: which confusions it added or
        removed, and the images it got wrong that the teacher got right.
        {skipped.length > 0 &&
          ` Not available for ${skipped.map((r) => `${label(r.id)} (${unavailable(r)})`).join('; ')}.`}
      </p>
      {id && (
        <div className="upload-row check-row">
          <SelectField
            label="Run"
            value={id}
            options={usable.map((r) => ({ value: r.id, title: label(r.id) }))}
            onChange={setChosen}
          />
          <button type="button" className="primary" disabled={busy} onClick={() => void compute()}>
            {busy ? 'Comparing…' : 'Compare with the teacher'}
          </button>
        </div>
      )}
      {shown && (
        <>
          <p data-testid="prediction-changes-summary">
            On {shown.examples} test images the student <strong>flipped {shown.flipped}</strong>{' '}
            (teacher right, student wrong) and <strong>rescued {shown.rescued}</strong> (teacher
            wrong, student right).
          </p>
          <DifferenceTable changes={shown} />
          {shown.images.captions.length > 0 && (
            <ImageGrid
              title="flipped"
              atStep={false}
              event={{ kind: 'images', key: 'flipped', step: 0, ...shown.images }}
            />
          )}
        </>
      )}
    </section>
  );
}
