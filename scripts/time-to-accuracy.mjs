#!/usr/bin/env node
// Time to accuracy of each method at its defaults (the preset a user gets without touching a
// field): runs `clab run <method> --trace` one after another on this machine and prints a
// Markdown table of the wall time at which the student's test accuracy first reached each
// threshold and held it, beside its final accuracy, the run's own wall time (training and its
// evaluations, the teacher and data loaded) and the whole command's (Node, TF.js and the data
// loading included). Times to a threshold count from the start of training, as the trace does,
// and read the run's accuracy curve, which methods measure on a subset of the test set (the
// final accuracy on all of it). DeepInversion runs twice: at its defaults and as ADI (its `adi`
// preset). The data-free methods take ~30 of the whole list's ~45 minutes on two cores.
//
//   node scripts/time-to-accuracy.mjs [--threads N] [--only kd,layerwise] [--dir DIR]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at < 0 ? fallback : args.splice(at, 2)[1];
};
const threads = option('threads', undefined);
const only = option('only', undefined)?.split(',');
const dir = option('dir', 'time-to-accuracy');
const THRESHOLDS = [0.9, 0.95, 0.98];

/** Each method on the teacher its defaults are written for (docs/results/*.md). */
const PRESETS = [
  { method: 'kd', teacher: 'lenet5-mnist' },
  { method: 'cross-distillation', teacher: 'lenet5-mnist' },
  { method: 'layerwise', teacher: 'lenet5-mnist' },
  { method: 'fewshot-finetune', teacher: 'lenet5-mnist' },
  { method: 'magnitude-prune', teacher: 'lenet5-mnist' },
  { method: 'channel-prune', teacher: 'lenet5-mnist' },
  { method: 'obd', teacher: 'lenet5-mnist' },
  { method: 'kmeans-share', teacher: 'lenet5-mnist' },
  { method: 'deep-compression', teacher: 'lenet5-mnist' },
  { method: 'uniform-quant', teacher: 'lenet5-mnist' },
  { method: 'binary-connect', teacher: 'lenet5-mnist' },
  { method: 'fixed-point', teacher: 'lenet5-mnist' },
  { method: 'lowrank-svd', teacher: 'lenet5-mnist' },
  { method: 'structured', teacher: 'lenet5-mnist' },
  { method: 'dynamic-prune', teacher: 'bnnet-mnist' },
  { method: 'prune-from-scratch', teacher: 'bnnet-mnist' },
  { method: 'dafl', teacher: 'lenet5-mnist' },
  { method: 'generative-mm', teacher: 'bnnet-mnist' },
  { method: 'deepinversion', teacher: 'bnnet-mnist' },
  { method: 'deepinversion', teacher: 'bnnet-mnist', preset: 'adi' },
].filter((p) => !only || only.includes(p.method));

/** [seconds, step, accuracy] of a trace's test-accuracy rows. */
function accuracyRows(file) {
  const [, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return lines
    .map((line) => line.split(','))
    .filter(([, , key]) => key === 'accuracy/test')
    .map(([seconds, step, , value]) => [Number(seconds), Number(step), Number(value)]);
}

const minutes = (s) => (s < 60 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

mkdirSync(dir, { recursive: true });
const rows = [];
for (const { method, teacher, preset } of PRESETS) {
  const name = preset ? `${method} --preset ${preset}` : method;
  const trace = join(dir, `${preset ?? method}.csv`);
  const cli = ['--import', 'tsx', 'src/cli/main.ts', 'run', method, '--teacher', teacher];
  cli.push('--dataset', 'mnist', '--json', '--trace', trace);
  if (preset) cli.push('--preset', preset);
  if (threads) cli.push('--threads', threads);
  const started = performance.now();
  const result = JSON.parse(execFileSync(process.execPath, cli, { encoding: 'utf8' }));
  const total = (performance.now() - started) / 1000;
  const acc = accuracyRows(trace);
  // Reached and held: the first evaluation from which on every one is at least t (a method
  // that starts from the teacher's weights is above t at step 0, then drops when it cuts).
  const reach = (t) => {
    const from = acc.findIndex((_, i) => acc.slice(i).every(([, , v]) => v >= t));
    return from < 0 ? '—' : `${minutes(acc[from][0])} (step ${acc[from][1]})`;
  };
  rows.push([
    name,
    `${teacher} → ${result.student.name}`,
    String(result.steps),
    `${(result.student.accuracy * 100).toFixed(2)} %`,
    ...THRESHOLDS.map(reach),
    reach(acc.at(-1)[2] - 0.005),
    minutes(result.wallTimeMs / 1000),
    minutes(total),
  ]);
  process.stderr.write(`${name}: ${rows.at(-1).join(' | ')}\n`);
}

const header = [
  'method',
  'teacher → student',
  'steps',
  'final accuracy',
  ...THRESHOLDS.map((t) => `to ${t * 100} %`),
  'to its last − 0.5 points',
  'training',
  'whole command',
];
console.log(`| ${header.join(' | ')} |`);
console.log(`| ${header.map(() => '---').join(' | ')} |`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
