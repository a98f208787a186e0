// Controls of the run configuration shared by the Run and Sweep tabs.
import type { ReactNode } from 'react';
import { useWorkbench } from '../state/context';
import type { Catalog, RunConfig } from '../../worker/protocol';
import { Field, NumberInput, SelectField, type SelectOption } from './ParamField';
import { ImageUpload } from './ImageUpload';
import { TeacherUpload } from './TeacherUpload';

const BACKEND_TITLES: Record<string, string> = {
  auto: 'auto (fastest measured)',
  webgpu: 'WebGPU',
  wasm: 'WASM',
  webgl: 'WebGL',
  cpu: 'CPU',
};

const TEST_EXAMPLES_HELP =
  'Evaluate on the first N test images (0: all 10,000). Fewer is faster on slow backends.';

export interface ControlProps {
  config: RunConfig;
  catalog: Catalog;
  errors: Record<string, string>;
  /** Fields hidden by `_hide` keys in the URL hash are left out. */
  show: (field: string) => boolean;
}

export function ConfigSelect<K extends keyof RunConfig>({
  config,
  field,
  ...select
}: {
  config: RunConfig;
  field: K;
  label: string;
  options: SelectOption[];
  help?: string;
}) {
  const setConfig = useWorkbench((s) => s.setConfig);
  return (
    <SelectField
      {...select}
      value={String(config[field])}
      onChange={(v) => setConfig({ [field]: v } as Partial<RunConfig>)}
    />
  );
}

function ConfigInt({
  config,
  errors,
  field,
  label,
  help,
}: {
  config: RunConfig;
  errors: Record<string, string>;
  field: 'seed' | 'steps' | 'testExamples';
  label: string;
  help: string;
}) {
  const setConfig = useWorkbench((s) => s.setConfig);
  return (
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
}

/** Teacher, dataset and student: shared by a run and a sweep (which brings its own student). */
export function NetworkFields({
  config,
  catalog,
  show,
  studentField,
}: ControlProps & { studentField?: ReactNode }) {
  const teacher = catalog.teachers.find((t) => t.id === config.teacher)!;
  return (
    <fieldset>
      <legend>Networks and data</legend>
      {show('teacher') && (
        <ConfigSelect
          config={config}
          field="teacher"
          label="Teacher"
          options={catalog.teachers.map((t) => ({
            value: t.id,
            title: t.available ? t.title : `${t.title} (not trained yet)`,
          }))}
          help={
            teacher.available
              ? undefined
              : 'This teacher has not been trained yet: run `npm run train:teachers`.'
          }
        />
      )}
      {show('teacher') && <TeacherUpload teacher={config.teacher} />}
      {show('dataset') && (
        <ConfigSelect
          config={config}
          field="dataset"
          label="Dataset"
          options={catalog.datasets.map((d) => ({ value: d.id, title: d.title }))}
          help={
            config.dataset === teacher.dataset
              ? undefined
              : `The teacher was trained on ${teacher.dataset}.`
          }
        />
      )}
      {show('shots') && <ImageUpload config={config} />}
      {show('student') &&
        (studentField ?? (
          <ConfigSelect
            config={config}
            field="student"
            label="Student"
            options={studentOptions(catalog)}
            help={catalog.architectures.find((a) => a.id === config.student)?.description}
          />
        ))}
    </fieldset>
  );
}

/**
 * Seed (a run's only: a sweep lists its seeds), steps, test examples and backend: shared by a run
 * and a sweep.
 */
export function RunFields({
  legend,
  seed = false,
  stepsHelp,
  ...props
}: ControlProps & { legend: string; seed?: boolean; stepsHelp: string }) {
  const ints = [
    { field: 'seed', label: 'Seed', help: 'Same seed, same run: data order and initialisation.' },
    { field: 'steps', label: 'Steps', help: stepsHelp },
    { field: 'testExamples', label: 'Test examples', help: TEST_EXAMPLES_HELP },
  ] as const;
  return (
    <fieldset>
      <legend>{legend}</legend>
      {ints
        .filter((int) => (seed || int.field !== 'seed') && props.show(int.field))
        .map((int) => (
          <ConfigInt key={int.field} config={props.config} errors={props.errors} {...int} />
        ))}
      <BackendField {...props} />
    </fieldset>
  );
}

/** The backend select: shared by a run, a sweep and a loaded sweep file. */
export function BackendField({ config, catalog, show }: ControlProps) {
  return (
    show('backend') && (
      <ConfigSelect
        config={config}
        field="backend"
        label="Backend"
        options={['auto', ...catalog.backends.all].map((b) => ({
          value: b,
          title:
            b === 'auto' || catalog.backends.usable.includes(b as never)
              ? BACKEND_TITLES[b]
              : `${BACKEND_TITLES[b]} (not available here)`,
        }))}
        help="auto times one training step on each usable backend and keeps the fastest."
      />
    )
  );
}

/** The student choices: derived from the teacher, or an architecture of the zoo. */
export function studentOptions(catalog: Catalog): SelectOption[] {
  return [
    { value: 'half', title: 'half: the teacher at half width' },
    { value: 'copy', title: 'copy: the teacher itself' },
    ...catalog.architectures.map((a) => ({ value: a.id, title: a.title })),
  ];
}
