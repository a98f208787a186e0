// `clab help <method>` / `clab run <method> --help`: a method's parameters from the same schema
// that generates the page's form and validates every run.
import type { AnyMethodSpec } from '../core/methods';
import type { ParamSpec } from '../core/methods/params';

const WIDTH = 96;

/** Words of `text` in lines of at most `WIDTH` characters, each starting with `indent`. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** What values a parameter takes: "convex | soft", "1 to 100 (whole number)", "true | false". */
function range(p: ParamSpec): string {
  switch (p.kind) {
    case 'enum':
      return p.options.join(' | ');
    case 'boolean':
      return 'true | false';
    case 'text':
      return p.format;
    case 'int':
      return `${p.min} to ${p.max}, whole`;
    case 'number':
      return `${p.min} to ${p.max}${p.log ? ', log scale' : ''}`;
  }
}

export function methodHelp(m: AnyMethodSpec): string {
  const lines = [
    `${m.id}: ${m.title} (${m.paper})`,
    ...wrap(m.summary, ''),
    '',
    `Usage: clab run ${m.id} --teacher <id | path/to/model.json> --dataset mnist|fashion [--<param> value ...]`,
    `Default student: ${m.defaultStudent === 'copy' ? 'a copy of the teacher' : 'the teacher at half width'}; ` +
      `default steps: ${m.defaultSteps}. Common options: clab help.`,
    '',
    'Parameters (--name value; camelCase or kebab-case):',
  ];
  for (const [name, p] of Object.entries(m.params)) {
    lines.push(
      '',
      `  --${name} <${range(p)}>   default ${String(p.default)}${p.label ? `   “${p.label}” in the page` : ''}${p.live ? '   live: may change mid-run' : ''}`,
      ...wrap(p.help, '      '),
    );
  }
  if (Object.values(m.params).some((p) => p.live)) {
    lines.push(
      '',
      ...wrap(
        'Live parameters may change while the run goes on: the page\'s "Change while running", or a recipe\'s "schedule": [{ "step": 200, "params": { "learningRate": 0.0001 } }], each change made before its step.',
        '',
      ),
    );
  }
  for (const [name, preset] of Object.entries(m.presets ?? {})) {
    const values = Object.entries(preset.params).map(([k, v]) => `--${k} ${String(v)}`);
    lines.push(
      '',
      `Preset --preset ${name}: ${preset.title}`,
      ...wrap(preset.description, '      '),
      ...wrap(`${values.join(' ')} --steps ${preset.steps}`, '      '),
    );
  }
  return lines.join('\n');
}
