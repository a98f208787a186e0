import { useWorkbench } from '../state/context';
import { configErrors } from '../state/config';
import {
  BackendField,
  ConfigInt,
  NetworkFields,
  TEST_EXAMPLES_HELP,
  type ControlProps,
} from './ConfigFields';
import { Field, ParamField } from './ParamField';
import { SweepForm } from './SweepForm';

function RunForm(props: ControlProps) {
  const { config, catalog, errors, show } = props;
  const setConfig = useWorkbench((s) => s.setConfig);
  const setParam = useWorkbench((s) => s.setParam);
  const startRun = useWorkbench((s) => s.startRun);
  const activeRuns = useWorkbench(
    (s) =>
      Object.values(s.runs).filter((r) => r.status === 'running' || r.status === 'paused').length,
  );
  const method = catalog.methods.find((m) => m.id === config.method)!;
  const valid = Object.keys(errors).length === 0;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        startRun();
      }}
    >
      <h2>New run</h2>
      <NetworkFields {...props} />
      <fieldset>
        <legend>Method</legend>
        {show('method') && (
          <Field label="Method" help={`${method.summary} (${method.paper})`}>
            {({ id, describedBy }) => (
              <select
                id={id}
                value={config.method}
                aria-describedby={describedBy || undefined}
                onChange={(e) => setConfig({ method: e.target.value })}
              >
                {catalog.methods.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.title}
                  </option>
                ))}
              </select>
            )}
          </Field>
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
        {show('seed') && (
          <ConfigInt
            config={config}
            errors={errors}
            field="seed"
            label="Seed"
            help="Same seed, same run: data order and initialisation."
          />
        )}
        {show('steps') && (
          <ConfigInt
            config={config}
            errors={errors}
            field="steps"
            label="Steps"
            help={`Optimisation steps (the budget); ${method.title} defaults to ${method.defaultSteps}.`}
          />
        )}
        {show('testExamples') && (
          <ConfigInt
            config={config}
            errors={errors}
            field="testExamples"
            label="Test examples"
            help={TEST_EXAMPLES_HELP}
          />
        )}
        <BackendField {...props} />
      </fieldset>
      <div className="run-row">
        <button type="submit" className="primary" disabled={!valid}>
          Run
        </button>
        {activeRuns > 0 && <span className="muted">a new run waits for the active one</span>}
      </div>
    </form>
  );
}

/** The right panel: a run or a sweep of runs, generated from the worker's catalog. */
export function ConfigPanel() {
  const catalog = useWorkbench((s) => s.catalog);
  const catalogError = useWorkbench((s) => s.catalogError);
  const config = useWorkbench((s) => s.config);
  const hidden = useWorkbench((s) => s.hidden);
  const panel = useWorkbench((s) => s.panel);
  const setPanel = useWorkbench((s) => s.setPanel);

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

  const props: ControlProps = {
    config,
    catalog,
    errors: configErrors(config, catalog),
    show: (field) => !hidden.has(field),
  };
  const tab = (id: 'run' | 'sweep', title: string) => (
    <button
      type="button"
      role="tab"
      id={`tab-${id}`}
      aria-selected={panel === id}
      aria-controls="config-tabpanel"
      className="tab"
      onClick={() => setPanel(id)}
    >
      {title}
    </button>
  );
  return (
    <aside className="config" aria-label="Configuration">
      {!hidden.has('sweep') && (
        <div role="tablist" aria-label="What to start" className="tabs">
          {tab('run', 'Run')}
          {tab('sweep', 'Sweep')}
        </div>
      )}
      <div role="tabpanel" id="config-tabpanel" aria-labelledby={`tab-${panel}`}>
        {panel === 'sweep' ? <SweepForm {...props} /> : <RunForm {...props} />}
      </div>
    </aside>
  );
}
