import { useState } from 'react';
import { useWorkbench } from '../state/context';
import { configErrors, matchingPreset, presetValues } from '../state/config';
import type { MethodInfo, RunConfig } from '../../worker/protocol';
import { ConfigSelect, NetworkFields, RunFields, type ControlProps } from './ConfigFields';
import { LoadMessageLine, ParamField, SelectField, type LoadMessage } from './ParamField';
import { JsonFileButton } from './JsonFileButton';
import { SweepForm } from './SweepForm';

/** Fills the method's parameters and steps from one of its presets. */
function PresetSelect({ method, config }: { method: MethodInfo; config: RunConfig }) {
  const setConfig = useWorkbench((s) => s.setConfig);
  const presets = method.presets ?? {};
  const current = matchingPreset(method, config);
  const options = [
    { value: 'default', title: 'default' },
    ...Object.entries(presets).map(([name, p]) => ({ value: name, title: `${name}: ${p.title}` })),
    ...(current ? [] : [{ value: 'custom', title: 'custom (changed below)' }]),
  ];
  return (
    <SelectField
      label="Preset"
      value={current ?? 'custom'}
      options={options}
      help={Object.entries(presets)
        .map(([name, p]) => `${name}: ${p.description}`)
        .join(' ')}
      onChange={(name) => name !== 'custom' && setConfig(presetValues(method, name))}
    />
  );
}

/** Loads a recipe file (a run's "Recipe (.json)", an emitted one, or a run report) into the form. */
function RecipeLoader() {
  const loadRecipe = useWorkbench((s) => s.loadRecipe);
  const [message, setMessage] = useState<LoadMessage>();
  return (
    <div className="sweep-file">
      <div className="actions">
        <JsonFileButton
          label="Load recipe…"
          onText={(text, name) => {
            const error = loadRecipe(text, name);
            setMessage({ error: !!error, text: error ?? `Loaded ${name}.` });
          }}
        />
      </div>
      <LoadMessageLine message={message} testId="recipe-load-message" />
    </div>
  );
}

function RunForm(props: ControlProps) {
  const { config, catalog, errors, show } = props;
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
      <RecipeLoader />
      <NetworkFields {...props} />
      <fieldset>
        <legend>Method</legend>
        {show('method') && (
          <ConfigSelect
            config={config}
            field="method"
            label="Method"
            options={catalog.methods.map((m) => ({ value: m.id, title: m.title }))}
            help={`${method.summary} (${method.paper})`}
          />
        )}
        {method.presets && <PresetSelect method={method} config={config} />}
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
      <RunFields
        {...props}
        legend="Run"
        seed
        stepsHelp={`Optimisation steps (the budget); ${method.title} defaults to ${method.defaultSteps}.`}
      />
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
