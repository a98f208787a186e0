import { useWorkbench } from '../state/context';
import { configErrors } from '../state/config';
import type { RunConfig } from '../../worker/protocol';
import { Field, NumberInput, ParamField } from './ParamField';

const BACKEND_TITLES: Record<string, string> = {
  auto: 'auto (fastest measured)',
  webgpu: 'WebGPU',
  wasm: 'WASM',
  webgl: 'WebGL',
  cpu: 'CPU',
};

/** The right panel: everything a run is made of, generated from the worker's catalog. */
export function ConfigPanel() {
  const catalog = useWorkbench((s) => s.catalog);
  const catalogError = useWorkbench((s) => s.catalogError);
  const config = useWorkbench((s) => s.config);
  const hidden = useWorkbench((s) => s.hidden);
  const setConfig = useWorkbench((s) => s.setConfig);
  const setParam = useWorkbench((s) => s.setParam);
  const startRun = useWorkbench((s) => s.startRun);
  const activeRuns = useWorkbench(
    (s) =>
      Object.values(s.runs).filter((r) => r.status === 'running' || r.status === 'paused').length,
  );

  if (catalogError) {
    return (
      <aside className="config" aria-label="Configuration">
        <div className="error-box" role="alert">
          <strong>The worker could not start:</strong> {catalogError.message}
        </div>
      </aside>
    );
  }
  if (!catalog || !config) {
    return (
      <aside className="config" aria-label="Configuration">
        <p className="muted">Starting the worker…</p>
      </aside>
    );
  }

  const method = catalog.methods.find((m) => m.id === config.method)!;
  const teacher = catalog.teachers.find((t) => t.id === config.teacher)!;
  const errors = configErrors(config, catalog);
  const valid = Object.keys(errors).length === 0;
  const show = (field: string) => !hidden.has(field);
  const select = <K extends keyof RunConfig>(
    field: K,
    label: string,
    options: { value: string; title: string; disabled?: boolean }[],
    help?: string,
  ) =>
    show(field) && (
      <Field label={label} help={help}>
        {({ id, describedBy }) => (
          <select
            id={id}
            value={String(config[field])}
            aria-describedby={describedBy || undefined}
            onChange={(e) => setConfig({ [field]: e.target.value } as Partial<RunConfig>)}
          >
            {options.map((o) => (
              <option key={o.value} value={o.value} disabled={o.disabled}>
                {o.title}
              </option>
            ))}
          </select>
        )}
      </Field>
    );

  const intField = (field: 'seed' | 'steps' | 'testExamples', label: string, help: string) =>
    show(field) && (
      <Field label={label} help={help} error={errors[field]}>
        {({ id, describedBy }) => (
          <NumberInput
            id={id}
            describedBy={describedBy}
            value={config[field]}
            invalid={!!errors[field]}
            onChange={(v) => setConfig({ [field]: v })}
          />
        )}
      </Field>
    );

  return (
    <aside className="config" aria-label="Configuration">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          startRun();
        }}
      >
        <h2>New run</h2>
        <fieldset>
          <legend>Networks and data</legend>
          {select(
            'teacher',
            'Teacher',
            catalog.teachers.map((t) => ({
              value: t.id,
              title: t.available ? t.title : `${t.title} (not trained yet)`,
            })),
            teacher.available
              ? undefined
              : 'This teacher has not been trained yet: run `npm run train:teachers`.',
          )}
          {select(
            'dataset',
            'Dataset',
            catalog.datasets.map((d) => ({ value: d.id, title: d.title })),
            config.dataset === teacher.dataset
              ? undefined
              : `The teacher was trained on ${teacher.dataset}.`,
          )}
          {select(
            'student',
            'Student',
            [
              { value: 'half', title: 'half: the teacher at half width' },
              { value: 'copy', title: 'copy: the teacher itself' },
              ...catalog.architectures.map((a) => ({ value: a.id, title: a.title })),
            ],
            catalog.architectures.find((a) => a.id === config.student)?.description,
          )}
        </fieldset>
        <fieldset>
          <legend>Method</legend>
          {select(
            'method',
            'Method',
            catalog.methods.map((m) => ({ value: m.id, title: m.title })),
            `${method.summary} (${method.paper})`,
          )}
          {Object.entries(method.params).map(
            ([key, spec]) =>
              show(key) && (
                <ParamField
                  key={`${method.id}.${key}`}
                  name={key}
                  spec={spec}
                  value={config.params[key]}
                  error={errors[key]}
                  onChange={(v) => setParam(key, v)}
                />
              ),
          )}
        </fieldset>
        <fieldset>
          <legend>Run</legend>
          {intField('seed', 'Seed', 'Same seed, same run: data order and initialisation.')}
          {intField(
            'steps',
            'Steps',
            `Optimisation steps (the budget); ${method.title} defaults to ${method.defaultSteps}.`,
          )}
          {intField(
            'testExamples',
            'Test examples',
            'Evaluate on the first N test images (0: all 10,000). Fewer is faster on slow backends.',
          )}
          {select(
            'backend',
            'Backend',
            ['auto', ...catalog.backends.all].map((b) => ({
              value: b,
              title:
                b === 'auto' || catalog.backends.usable.includes(b as never)
                  ? BACKEND_TITLES[b]
                  : `${BACKEND_TITLES[b]} (not available here)`,
            })),
            'auto times one training step on each usable backend and keeps the fastest.',
          )}
        </fieldset>
        <div className="run-row">
          <button type="submit" className="primary" disabled={!valid}>
            Run
          </button>
          {activeRuns > 0 && <span className="muted">a new run waits for the active one</span>}
        </div>
      </form>
    </aside>
  );
}
