// The Sweep tab: methods × K × seeds × a grid over one parameter, built on the run
// configuration, or loaded from the JSON file `npx clab sweep` reads. Starting it queues every
// cell as an ordinary run.
import { useMemo, useState } from 'react';
import { paramError } from '../../core/methods/params';
import { saveFile } from '../files';
import { JsonFileButton } from './JsonFileButton';
import { useWorkbench } from '../state/context';
import { gridChoices, resolveSweep, sweepParams, type SweepConfig } from '../state/sweeps';
import {
  BackendField,
  NetworkFields,
  RunFields,
  studentOptions,
  type ControlProps,
} from './ConfigFields';
import {
  Field,
  humanize,
  LoadMessageLine,
  ParamField,
  SelectField,
  type LoadMessage,
} from './ParamField';

function slug(name: string | undefined): string {
  const s = (name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return s || 'sweep';
}

/** "8 runs (kd: 2 K × 2 temperature × 2 seeds)". */
function describePlan(sweep: SweepConfig, cells: { method: string }[]): string {
  const k = Math.max(1, sweep.shotsPerClass?.length ?? 0);
  const seeds = sweep.seeds.length;
  const perMethod = sweep.methods.map((m) => {
    const n = cells.filter((c) => c.method === m).length;
    const combos = n / (k * seeds);
    const grid = combos > 1 ? ` × ${combos} grid` : '';
    return `${m}: ${k} K${grid} × ${seeds} seed${seeds === 1 ? '' : 's'}`;
  });
  return `${cells.length} run${cells.length === 1 ? '' : 's'} (${perMethod.join('; ')})`;
}

function TextField({
  label,
  help,
  value,
  onChange,
  placeholder,
}: {
  label: string;
  help: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
}) {
  return (
    <Field label={label} help={help}>
      {({ id, describedBy }) => (
        <input
          id={id}
          type="text"
          spellCheck={false}
          value={value}
          placeholder={placeholder}
          aria-describedby={describedBy || undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** Export, import and paste of the sweep file: the one format of the page and the CLI. */
function SweepFileActions({ sweep }: { sweep?: SweepConfig }) {
  const loadSweep = useWorkbench((s) => s.loadSweep);
  const [pasted, setPasted] = useState('');
  const [message, setMessage] = useState<LoadMessage>();
  const load = (text: string, what: string) => {
    const error = loadSweep(text);
    setMessage(error ? { error: true, text: error } : { error: false, text: `Loaded ${what}.` });
    return !error;
  };
  const exportFile = () => {
    if (!sweep) return;
    const text = `${JSON.stringify(sweep, null, 2)}\n`;
    saveFile(`${slug(sweep.name)}.sweep.json`, text, 'application/json');
  };
  return (
    <div className="sweep-file">
      <div className="actions">
        <button type="button" className="ghost" onClick={exportFile} disabled={!sweep}>
          Export sweep file
        </button>
        <JsonFileButton label="Import sweep file" onText={load} />
      </div>
      <details>
        <summary className="small">Paste a sweep file</summary>
        <textarea
          aria-label="Sweep file JSON"
          className="sweep-json"
          spellCheck={false}
          rows={6}
          placeholder='{"teacher": "lenet5-mnist", "dataset": "mnist", "methods": ["kd"], "shotsPerClass": [1, 5], "seeds": [1, 2, 3]}'
          value={pasted}
          onChange={(e) => setPasted(e.target.value)}
        />
        <button
          type="button"
          className="ghost"
          disabled={!pasted.trim()}
          onClick={() => load(pasted, 'the pasted sweep') && setPasted('')}
        >
          Load pasted sweep
        </button>
      </details>
      <LoadMessageLine message={message} testId="sweep-load-message" />
    </div>
  );
}

function MethodChecks({ props }: { props: ControlProps }) {
  const draft = useWorkbench((s) => s.sweepDraft)!;
  const setSweepDraft = useWorkbench((s) => s.setSweepDraft);
  const toggle = (id: string, on: boolean) =>
    setSweepDraft({
      // Catalog order, so the table and file list methods the same way whatever the clicks.
      methods: props.catalog.methods
        .map((m) => m.id)
        .filter((m) => (m === id ? on : draft.methods.includes(m))),
    });
  return (
    <fieldset className="method-checks">
      <legend>Methods</legend>
      {props.catalog.methods.map((m) => (
        <label key={m.id} className="check" title={`${m.summary} (${m.paper})`}>
          <input
            type="checkbox"
            checked={draft.methods.includes(m.id)}
            onChange={(e) => toggle(m.id, e.target.checked)}
          />
          {m.title} <code className="muted">{m.id}</code>
        </label>
      ))}
    </fieldset>
  );
}

function SweepFields({ props }: { props: ControlProps }) {
  const { catalog } = props;
  const draft = useWorkbench((s) => s.sweepDraft)!;
  const setSweepDraft = useWorkbench((s) => s.setSweepDraft);
  const choices = gridChoices(catalog, draft.methods);
  const grid = choices.find((p) => p.key === draft.gridParam);
  const shared = sweepParams(catalog, draft.methods).filter(
    (p) => p.key !== 'shotsPerClass' && p.key !== grid?.key,
  );
  const only = (methods: string[]) =>
    methods.length < draft.methods.length ? ` (only ${methods.join(', ')})` : '';
  const defaults = draft.methods
    .map((id) => {
      const m = catalog.methods.find((x) => x.id === id);
      return m && `${m.defaultStudent} for ${id}`;
    })
    .filter(Boolean)
    .join(', ');
  const studentField = (
    <SelectField
      label="Student"
      help={
        draft.student
          ? catalog.architectures.find((a) => a.id === draft.student)?.description
          : `Each method's own: ${defaults || 'pick methods'}.`
      }
      value={draft.student}
      options={[{ value: '', title: "each method's default" }, ...studentOptions(catalog)]}
      onChange={(student) => setSweepDraft({ student })}
    />
  );
  return (
    <>
      <NetworkFields {...props} studentField={studentField} />
      <fieldset>
        <legend>Sweep</legend>
        <TextField
          label="Sweep name"
          help="A title for the table (optional)."
          value={draft.name}
          onChange={(name) => setSweepDraft({ name })}
        />
        <MethodChecks props={props} />
        <TextField
          label="K values"
          help="Labelled examples per class (each method's shotsPerClass): 1, 5 or 1-5."
          value={draft.shots}
          onChange={(shots) => setSweepDraft({ shots })}
        />
        <TextField
          label="Seeds"
          help="One run per seed, for mean ± std: 1-5 or 1, 2, 3."
          value={draft.seeds}
          onChange={(seeds) => setSweepDraft({ seeds })}
        />
        <SelectField
          label="Grid parameter"
          help="A numeric parameter to sweep, for the methods that have it (μ for Fig. 3)."
          value={grid?.key ?? ''}
          options={[
            { value: '', title: 'none' },
            ...choices.map((p) => ({
              value: p.key,
              title: `${p.spec.label ?? humanize(p.key)} (${p.key})${only(p.methods)}`,
            })),
          ]}
          onChange={(gridParam) => setSweepDraft({ gridParam })}
        />
        {grid && (
          <TextField
            label="Grid values"
            help={`Values of ${grid.key}: 2, 4, 8 or 0, 0.2, …, 1 (… continues the step). Range ${
              grid.spec.kind === 'int' || grid.spec.kind === 'number'
                ? `${grid.spec.min} – ${grid.spec.max}`
                : ''
            }.`}
            placeholder="0, 0.2, …, 1"
            value={draft.gridValues}
            onChange={(gridValues) => setSweepDraft({ gridValues })}
          />
        )}
      </fieldset>
      {shared.length > 0 && (
        <fieldset>
          <legend>Shared parameters</legend>
          {shared.map(({ key, spec, methods }) => {
            const value = draft.params[key] ?? spec.default;
            const error =
              key in draft.params
                ? (methods
                    .map((m) => catalog.methods.find((x) => x.id === m)!.params[key])
                    .map((s) => paramError(s, value))
                    .find(Boolean) ?? undefined)
                : undefined;
            return (
              <ParamField
                key={key}
                name={key}
                spec={{ ...spec, help: `${spec.help}${only(methods)}` }}
                value={value}
                error={error}
                onChange={(v) => setSweepDraft({ params: { ...draft.params, [key]: v } })}
              />
            );
          })}
        </fieldset>
      )}
      <RunFields {...props} legend="Runs" stepsHelp="Optimisation steps of every run." />
    </>
  );
}

/** A loaded file the form cannot show: what it is, and the way back to the form. */
function LoadedFile({ file, props }: { file: SweepConfig; props: ControlProps }) {
  const clearSweepFile = useWorkbench((s) => s.clearSweepFile);
  return (
    <>
      <div className="panel sweep-loaded" data-testid="sweep-file">
        <p className="small">
          Runs the loaded sweep file <strong>{file.name ?? 'without a name'}</strong> as written: it
          has settings the form has no controls for (per-method parameters, several grid parameters,
          parameters outside its methods, or fields the page does not know).
        </p>
        <pre className="sweep-json">{JSON.stringify(file, null, 2)}</pre>
        <button type="button" className="ghost" onClick={clearSweepFile}>
          Back to the form
        </button>
      </div>
      <fieldset>
        <legend>Runs</legend>
        <BackendField {...props} />
      </fieldset>
    </>
  );
}

export function SweepForm(props: ControlProps) {
  const { catalog, config } = props;
  const draft = useWorkbench((s) => s.sweepDraft);
  const file = useWorkbench((s) => s.sweepFile);
  const startSweep = useWorkbench((s) => s.startSweep);
  const imageSets = useWorkbench((s) => s.imageSets);
  const resolved = useMemo(
    () =>
      draft
        ? resolveSweep(catalog, config, draft, file, new Set(Object.keys(imageSets)))
        : undefined,
    [catalog, config, draft, file, imageSets],
  );
  if (!draft || !resolved) return null;
  const { sweep, cells, error } = resolved;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        startSweep();
      }}
    >
      <h2>New sweep</h2>
      <SweepFileActions sweep={sweep} />
      {file ? <LoadedFile file={file} props={props} /> : <SweepFields props={props} />}
      <div className="run-row sweep-row">
        <span
          data-testid="sweep-plan"
          data-runs={cells?.length ?? 0}
          className={error ? 'field-error' : 'muted'}
          role={error ? 'alert' : undefined}
        >
          {error ?? (sweep && cells ? describePlan(sweep, cells) : '')}
        </span>
        <button type="submit" className="primary" disabled={!cells}>
          Start sweep
        </button>
      </div>
    </form>
  );
}
