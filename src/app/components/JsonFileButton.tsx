import { useRef } from 'react';

/**
 * A button that picks a JSON file and hands over its text and name; the picker is cleared
 * after each pick, so choosing the same file again reads it again.
 */
export function JsonFileButton({
  label,
  onText,
}: {
  label: string;
  /** Its result is not used. */
  onText: (text: string, name: string) => unknown;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <label className="button ghost">
      {label}
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        className="visually-hidden"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void file.text().then((text) => onText(text, file.name));
          if (input.current) input.current.value = '';
        }}
      />
    </label>
  );
}
