// The per-layer estimation error of a few-shot run (Bai et al., AAAI 2020, Fig. 2's quantity):
// held-out and K-shot bars side by side, in the view the reader picks — hidden representation
// or pre-activation output, after the layers were fitted or after the fine-tune.
import { useMemo, useState } from 'react';
import {
  ERROR_REPRESENTATION_LABEL,
  ERROR_STAGE_LABEL,
  errorViewOf,
  estimationErrorKey,
  PAPER_ERROR_VIEW,
  type ErrorRepresentation,
  type ErrorStage,
  type ErrorView,
} from '../../../core/metrics/error-keys';
import { formatNumber } from '../../format';
import type { LayersSnapshot } from '../../state/runs';
import { axisTicks } from './axes';
import { ChartFigure } from './figure';
import { color } from './palette';
import { BarPlot } from './plot';
import { staggered } from './stagger';

export type ErrorViewChoice = Pick<ErrorView, 'representation' | 'stage'>;

/** Which representation and stage to show; only the choices that have data are offered. */
export function ErrorViewSelects({
  view,
  onChange,
  stages,
  representations,
}: {
  view: ErrorViewChoice;
  onChange: (v: ErrorViewChoice) => void;
  stages: readonly ErrorStage[];
  representations: readonly ErrorRepresentation[];
}) {
  return (
    <span className="chart-controls">
      <select
        aria-label="Which output of each layer"
        value={view.representation}
        onChange={(e) =>
          onChange({ ...view, representation: e.target.value as ErrorRepresentation })
        }
      >
        {representations.map((r) => (
          <option key={r} value={r}>
            {ERROR_REPRESENTATION_LABEL[r]}
          </option>
        ))}
      </select>
      {stages.length > 1 && (
        <select
          aria-label="When"
          value={view.stage}
          onChange={(e) => onChange({ ...view, stage: e.target.value as ErrorStage })}
        >
          {stages.map((s) => (
            <option key={s} value={s}>
              {ERROR_STAGE_LABEL[s]}
            </option>
          ))}
        </select>
      )}
    </span>
  );
}

/** The views present in `keys`, as the choices to offer (in a fixed order). */
export function errorViewChoices(views: readonly ErrorView[]) {
  const has = <T,>(all: T[], pick: (v: ErrorView) => T) =>
    all.filter((x) => views.some((v) => pick(v) === x));
  return {
    representations: has<ErrorRepresentation>(
      ['hidden', 'pre-activation'],
      (v) => v.representation,
    ),
    stages: has<ErrorStage>(['fitted', 'fine-tuned'], (v) => v.stage),
  };
}

/** The closest choice that has data: the one asked for, else the first representation/stage. */
export function availableView(
  view: ErrorViewChoice,
  choices: ReturnType<typeof errorViewChoices>,
): ErrorViewChoice {
  return {
    representation: choices.representations.includes(view.representation)
      ? view.representation
      : (choices.representations[0] ?? view.representation),
    stage: choices.stages.includes(view.stage) ? view.stage : (choices.stages[0] ?? view.stage),
  };
}

const Bars = staggered(function EstimationErrorBars({
  view,
  heldOut,
  shots,
  setView,
  choices,
}: {
  view: ErrorViewChoice;
  heldOut?: LayersSnapshot;
  shots?: LayersSnapshot;
  setView: (v: ErrorViewChoice) => void;
  choices: ReturnType<typeof errorViewChoices>;
}) {
  const labels = heldOut?.labels ?? shots?.labels ?? [];
  const data = labels.map((layer, i) => ({
    layer,
    heldOut: heldOut?.values[i],
    shots: shots?.values[i],
  }));
  const values = [...(heldOut?.values ?? []), ...(shots?.values ?? [])];
  const step = heldOut?.step ?? shots?.step;
  return (
    <ChartFigure
      title="Estimation error per layer"
      note={
        <>
          How far each layer of the student is from the teacher’s on the same images: Σ(teacher −
          student)² / Σ teacher² (0 = identical, 1 = as large as the signal), on held-out test
          images and on the K training shots
          {step !== undefined && <>, at step {step}</>}.{' '}
          <ErrorViewSelects view={view} onChange={setView} {...choices} />
        </>
      }
      wide
      data-testid="estimation-error"
      data-view={estimationErrorKey({ ...view, data: 'held-out' })}
      data-points={values.length}
      table={() => ({
        columns: ['layer', 'held-out test images', 'the K shots (training)'],
        rows: data.map((d) => [
          d.layer,
          d.heldOut === undefined ? '' : formatNumber(d.heldOut),
          d.shots === undefined ? '' : formatNumber(d.shots),
        ]),
      })}
    >
      <BarPlot
        height={240}
        categories={labels}
        series={[
          { name: 'held-out test images', color: color(0), values: data.map((d) => d.heldOut) },
          { name: 'the K shots (training)', color: color(1), values: data.map((d) => d.shots) },
        ]}
        y={{
          ticks: axisTicks(0, Math.max(0, ...values)),
          format: formatNumber,
          title: 'error ÷ signal',
        }}
        xTitle="layer"
        formatValue={formatNumber}
        ariaLabel="Estimation error per layer"
      />
    </ChartFigure>
  );
});

/** The run's estimation-error views (from `layers` events), drawn as one chart with a picker. */
export function EstimationErrorChart({ layers }: { layers: Record<string, LayersSnapshot> }) {
  const [wanted, setView] = useState<ErrorViewChoice>(PAPER_ERROR_VIEW);
  const byView = useMemo(() => {
    const out = new Map<string, LayersSnapshot>();
    for (const [key, snapshot] of Object.entries(layers)) {
      const v = errorViewOf(key);
      if (v) out.set(estimationErrorKey(v), snapshot);
    }
    return out;
  }, [layers]);
  const choices = useMemo(
    () => errorViewChoices([...byView.keys()].map((k) => errorViewOf(k)!)),
    [byView],
  );
  if (byView.size === 0) return null;
  const view = availableView(wanted, choices);
  return (
    <Bars
      view={view}
      heldOut={byView.get(estimationErrorKey({ ...view, data: 'held-out' }))}
      shots={byView.get(estimationErrorKey({ ...view, data: 'shots' }))}
      setView={setView}
      choices={choices}
    />
  );
}
