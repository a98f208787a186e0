#!/usr/bin/env node
// Markdown table of one series of `clab run --trace` CSVs (and of scripts/dafl-reference.py's
// CSV), one column per file, one row per minute mark: the latest value reached by then.
//
//   node scripts/trace-table.mjs [--key accuracy/test] [--minutes 5,10,20,30] [--target 0.97] \
//     ours.csv=label ref.csv=label
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : args.splice(at, 2)[1];
};
const key = option('key', 'accuracy/test');
const minutes = option('minutes', '5,10,15,20,25,30').split(',').map(Number);
const target = Number(option('target', '0.97'));

/** [seconds, step, value] rows of the series: trace CSVs filtered by key, reference CSVs whole. */
function series(file) {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines
    .map((line) => Object.fromEntries(line.split(',').map((v, i) => [cols[i], v])))
    .filter((r) => r.key === undefined || r.key === key)
    .map((r) => [Number(r.seconds), Number(r.step ?? r.iteration), Number(r.value ?? r.accuracy)]);
}

const columns = args.map((arg) => {
  const [file, label = file] = arg.split('=');
  return { label, rows: series(file) };
});
const cell = (rows, limit) => {
  const reached = rows.filter(([s]) => s <= limit * 60);
  if (reached.length === 0) return '—';
  const [, step, value] = reached[reached.length - 1];
  const best = Math.max(...reached.map((r) => r[2]));
  return `${(value * 100).toFixed(2)} % (step ${step}; best ${(best * 100).toFixed(2)} %)`;
};
const firstAt = (rows) => {
  const hit = rows.find(([, , v]) => v >= target);
  return hit ? `${(hit[0] / 60).toFixed(1)} min (step ${hit[1]})` : 'not reached';
};
const lines = [
  `| minutes | ${columns.map((c) => c.label).join(' | ')} |`,
  `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ...minutes.map((m) => `| ${m} | ${columns.map((c) => cell(c.rows, m)).join(' | ')} |`),
  `| first ≥ ${(target * 100).toFixed(0)} % | ${columns.map((c) => firstAt(c.rows)).join(' | ')} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
