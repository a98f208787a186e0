import { useEffect, useId, useState } from 'react';
import { humanize } from '../../core/methods/params';
import type { ParamSpec } from '../../core/methods/params';

export { humanize };

interface FieldProps {
  label: string;
  help?: string;
  error?: string;
  children: (ids: { id: string; describedBy: string }) => React.ReactNode;
}

/** A labelled control with its help text and validation message wired for screen readers. */
export function Field({ label, help, error, children }: FieldProps) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [help && helpId, error && errorId].filter(Boolean).join(' ');
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, describedBy })}
      {error && (
        <p id={errorId} className="field-error">
          {label} {error}
        </p>
      )}
      {help && (
        <p id={helpId} className="field-help">
          {help}
        </p>
      )}
    </div>
  );
}

/**
 * A number typed as text: the draft text is kept while it does not parse, so "1e-" can be typed
 * on the way to "1e-4"; the parsed value (NaN while invalid) goes to the store for validation.
 */
export function NumberInput({
  id,
  describedBy,
  value,
  invalid,
  onChange,
}: {
  id: string;
  describedBy: string;
  value: unknown;
  invalid: boolean;
  onChange: (value: number) => void;
}) {
  const [text, setText] = useState(String(value));
  // Follow changes made elsewhere (a method switch resets params, a hash link sets them).
  useEffect(() => {
    setText((old) => (Number(old) === value && old.trim() !== '' ? old : String(value)));
  }, [value]);
  return (
    <input
      id={id}
      type="text"
      inputMode="decimal"
      spellCheck={false}
      value={text}
      aria-invalid={invalid}
      aria-describedby={describedBy || undefined}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value.trim() === '' ? NaN : Number(e.target.value));
      }}
    />
  );
}

export interface SelectOption {
  value: string;
  title: string;
  disabled?: boolean;
  /** Shown on hover: why it is disabled, say. */
  hint?: string;
}

/** The select of a Field: a schema's enum, a run setting, a sweep's student or grid parameter. */
function Select({
  id,
  describedBy,
  value,
  options,
  onChange,
}: {
  id: string;
  describedBy: string;
  value: string;
  options: readonly SelectOption[];
  onChange: (value: string) => void;
}) {
  return (
    <select
      id={id}
      value={value}
      aria-describedby={describedBy || undefined}
      onChange={(e) => onChange(e.target.value)}
    >
      {options.map((o) => (
        <option key={o.value} value={o.value} disabled={o.disabled} title={o.hint}>
          {o.title}
        </option>
      ))}
    </select>
  );
}

/** A labelled select of the Run and Sweep tabs. */
export function SelectField({
  label,
  help,
  ...select
}: {
  label: string;
  help?: string;
  value: string;
  options: readonly SelectOption[];
  onChange: (value: string) => void;
}) {
  return (
    <Field label={label} help={help}>
      {(ids) => <Select {...ids} {...select} />}
    </Field>
  );
}

function range(spec: ParamSpec): string {
  if (spec.kind !== 'int' && spec.kind !== 'number') return '';
  return ` Range ${spec.min} – ${spec.max}${spec.kind === 'number' && spec.log ? ', log scale' : ''}.`;
}

/** One control generated from a method's parameter schema. */
export function ParamField({
  name,
  spec,
  value,
  error,
  onChange,
}: {
  name: string;
  spec: ParamSpec;
  value: unknown;
  error?: string;
  onChange: (value: unknown) => void;
}) {
  const label = spec.label ?? humanize(name);
  return (
    <Field label={label} help={`${spec.help}${range(spec)}`} error={error}>
      {({ id, describedBy }) => {
        switch (spec.kind) {
          case 'enum':
            return (
              <Select
                id={id}
                describedBy={describedBy}
                value={String(value)}
                options={spec.options.map((o) => ({ value: o, title: o }))}
                onChange={onChange}
              />
            );
          case 'boolean':
            return (
              <input
                id={id}
                type="checkbox"
                checked={value === true}
                aria-describedby={describedBy}
                onChange={(e) => onChange(e.target.checked)}
              />
            );
          case 'text':
            return (
              <input
                id={id}
                type="text"
                spellCheck={false}
                value={String(value)}
                aria-invalid={!!error}
                aria-describedby={describedBy || undefined}
                onChange={(e) => onChange(e.target.value)}
              />
            );
          default:
            return (
              <NumberInput
                id={id}
                describedBy={describedBy}
                value={value}
                invalid={!!error}
                onChange={onChange}
              />
            );
        }
      }}
    </Field>
  );
}

/** What loading a file said: an error (an alert) or that it loaded (a status). */
export interface LoadMessage {
  error: boolean;
  text: string;
}

export function LoadMessageLine({ message, testId }: { message?: LoadMessage; testId: string }) {
  if (!message) return null;
  return (
    <p
      className={message.error ? 'field-error' : 'field-help'}
      role={message.error ? 'alert' : 'status'}
      data-testid={testId}
    >
      {message.text}
    </p>
  );
}
