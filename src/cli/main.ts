// `clab`: the same MethodSpecs as the page, run headless in Node on the WASM backend.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATASET_IDS, loadDataset, type DatasetId } from '../core/data';
import type { Graph } from '../core/graph';
import { loadGraphFromFile, saveGraphAsOnnx, saveGraphToDir } from '../core/io/node';
import { modelSize } from '../core/io/size';
import { accuracy, timeInference } from '../core/metrics';
import { resolveParams, type ParamChange } from '../core/methods/params';
import {
  executeRun,
  METHODS,
  methodById,
  parseParam,
  type AnyMethodSpec,
  type MethodPreset,
  type RunEvent,
  type RunResult,
} from '../core/methods';
import { initBackend, type BackendChoice, type BackendInfo } from '../core/runtime/backend';
import { ClabError, InvalidInputError } from '../core/runtime/errors';
import { enableRelaxedSimd } from '../core/runtime/wasm-node';
import { ARCHITECTURES, loadTeacher, TEACHERS, teacherSpec } from '../core/zoo';
import { kebabToCamel, parseArgs, rejectUnknown, take, takeInt, type ParsedArgs } from './args';
import { benchCommand } from './bench';
import { print, requireNodeWebGpu, wasmThreadsOption } from './common';
import { methodHelp } from './help';
import { applyPreprocessingOption } from './preprocessing';
import { ProgressBar } from './progress';
import { collectSweep, emitSweep, readRecipeFile, RECIPE_LIST, writeRecipeResult } from './recipes';
import { NODE_BACKENDS, recipeFromConfig } from '../core/experiments/recipe';
import {
  readSweepConfig,
  readSweepResults,
  sweepJson,
  sweepMarkdown,
  writeMarkdown,
} from './sweep';
import {
  expandSweep,
  markdownTable,
  rowLabel,
  runSweep,
  type LayerValues,
  type SweepConfig,
  type SweepRun,
} from '../core/experiments';

const USAGE = `Compression Lab CLI

  clab eval --model <teacher-id | path/to/model.json | path/to/model.onnx> --dataset mnist|fashion [--json]
  clab run <method-id> --teacher <id | path> --dataset mnist|fashion [--student half|copy|<arch-id>]
           [--seed N] [--steps N] [--test-examples N] [--out DIR] [--<param> value ...] [--json]
           [--preset NAME] [--trace FILE.csv]
           --preset: a named parameter set and budget of the method (clab help <method> lists them)
           --trace: every scalar the run streams, with seconds since the start, as CSV
           --out: the student as TF.js Layers (DIR/model.json) and ONNX (DIR/student.onnx)
  clab run --recipe FILE.json [--json] [--out DIR] [--trace FILE.csv] [--threads N]
           the run a recipe describes (the page's "Recipe (.json)", or one clab sweep --emit wrote:
           its result goes beside it as FILE.result.json); other options are refused: edit the recipe
  clab sweep <config.json> [--json] [--markdown FILE] [--results SAVED.json]
  clab sweep <config.json> --emit DIR    one recipe per run into DIR (and DIR/recipes.txt), nothing run
  clab collect DIR [--json] [--markdown FILE]   the tables of clab sweep from DIR's results
  clab bench [--json] [--steps N] [--threads N] [--browser | --backend webgpu]
           ms per training step, inference batch and DAFL iteration beside PyTorch (python3-torch);
           --browser: the same in headless Chromium on each of its backends (WASM, WebGPU, WebGL, CPU);
           --backend webgpu: the same on WebGPU in Node (Dawn: npm install --no-save webgpu)
  clab list
  clab help <method-id>      (or clab run <method-id> --help): the method's parameters

Common: --backend wasm|cpu|auto|webgpu (default wasm; webgpu needs Dawn's bindings:
        npm install --no-save webgpu); --threads N: the wasm backend's threads
        (default: every logical core of this machine): our kernels on N, XNNPACK on one per two.
eval, run: --preprocessing detect|unit|raw|signed|<json>: how pixels become the model's input
        (unit 0..1, raw 0..255, signed −1..1; JSON: range, mean, std, invert, resize);
        detect tries each candidate on 500 training images, prints their accuracy and keeps the best.`;

function datasetArg(args: ParsedArgs): DatasetId {
  const d = take(args, 'dataset');
  if (!d || !DATASET_IDS.includes(d as DatasetId)) {
    throw new InvalidInputError(
      `--dataset must be one of ${DATASET_IDS.join(', ')}, got '${d ?? ''}'`,
      'Pass --dataset mnist.',
    );
  }
  return d as DatasetId;
}

function backendChoiceArg(args: ParsedArgs): BackendChoice {
  const choice = (take(args, 'backend') ?? 'wasm') as BackendChoice;
  // WebGPU runs in Node through Dawn's optional bindings (webgpu-node.ts); recipes stay on the
  // backends every install has.
  if (!NODE_BACKENDS.includes(choice) && choice !== 'webgpu') {
    throw new InvalidInputError(
      `--backend '${choice}' does not run in Node`,
      'Use wasm, cpu, auto or webgpu.',
    );
  }
  return choice;
}

async function backendArg(args: ParsedArgs) {
  const choice = backendChoiceArg(args);
  return initNodeBackend(choice, takeInt(args, 'threads'));
}

async function initNodeBackend(choice: BackendChoice, threads: number | undefined) {
  if (choice === 'webgpu') await requireNodeWebGpu();
  return initBackend(choice, wasmThreadsOption(threads));
}

/** A built-in teacher id, or the path of a TF.js Layers model.json or an .onnx file. */
async function modelArg(ref: string | undefined, flag: string): Promise<Graph> {
  if (!ref)
    throw new InvalidInputError(
      `--${flag} is required`,
      `Pass --${flag} lenet5-mnist, a model.json path or an .onnx path.`,
    );
  if (teacherSpec(ref)) return loadTeacher(ref);
  if (/\.(json|onnx)$/i.test(ref)) return loadGraphFromFile(ref);
  throw new InvalidInputError(
    `Unknown model '${ref}'`,
    `Built-in teachers: ${TEACHERS.map((t) => t.id).join(', ')}; or the path of a model.json or .onnx file.`,
  );
}

async function evalCommand(args: ParsedArgs): Promise<void> {
  const json = take(args, 'json') === 'true';
  const modelRef = take(args, 'model');
  const preprocessing = take(args, 'preprocessing');
  const dataset = datasetArg(args);
  const backend = await backendArg(args);
  rejectUnknown(args, 'eval');
  const g = await modelArg(modelRef, 'model');
  const detection = await applyPreprocessingOption(
    g,
    preprocessing,
    () => loadDataset(dataset, 'train'),
    json,
  );
  const test = await loadDataset(dataset, 'test');
  const acc = await accuracy(g, test);
  const size = await modelSize(g);
  // Median wall time of one pass at batch 1, and per image at batch 64, on this backend.
  const [batch1, batch64] = [await timeInference(g), await timeInference(g, { batchSize: 64 })];
  const latency = { batch1Ms: batch1.median, perImageMs: batch64.median / 64 };
  const result = {
    model: g.name,
    dataset,
    accuracy: acc,
    params: size.params,
    nonZeroParams: size.nonZeroParams,
    flops: size.flops,
    bytes: size.denseBytes,
    exportBytes: size.exportBytes,
    gzipBytes: size.gzipBytes,
    latency,
    preprocessing: g.preprocessing,
    ...(detection && { preprocessingTrials: detection.trials }),
    backend: backend.name,
    ...(backend.threads !== undefined && { threads: backend.threads }),
  };
  print(
    json,
    result,
    `${g.name} on ${dataset} test: accuracy ${(acc * 100).toFixed(2)}%  params ${size.params} (non-zero ${size.nonZeroParams})  FLOPs ${size.flops}\n` +
      `  size: float32 ${size.denseBytes} B, exported ${size.exportBytes} B, gzipped ${size.gzipBytes} B\n` +
      `  latency (${backend.name}): ${latency.batch1Ms.toFixed(3)} ms at batch 1, ${latency.perImageMs.toFixed(4)} ms/image at batch 64`,
  );
}

function methodArg(args: ParsedArgs) {
  const methodId = args.positional[0];
  const method = methodId ? methodById(methodId) : undefined;
  if (!method) {
    throw new InvalidInputError(
      `Unknown method '${methodId ?? ''}'`,
      `Methods: ${METHODS.map((m) => m.id).join(', ')}.`,
    );
  }
  return method;
}

function helpCommand(args: ParsedArgs): void {
  process.stdout.write(`${args.positional.length ? methodHelp(methodArg(args)) : USAGE}\n`);
}

/** The method's preset of that name; explicit options still override its values. */
function presetArg(method: AnyMethodSpec, name: string | undefined): MethodPreset | undefined {
  if (name === undefined) return undefined;
  const preset = method.presets?.[name];
  if (!preset) {
    const names = Object.keys(method.presets ?? {});
    throw new InvalidInputError(
      `'${method.id}' has no preset '${name}'`,
      names.length
        ? `Its presets: ${names.join(', ')}.`
        : 'It has no presets: set its parameters one by one.',
    );
  }
  return preset;
}

async function runCommand(args: ParsedArgs): Promise<void> {
  if (take(args, 'help') === 'true') return helpCommand(args);
  const recipePath = take(args, 'recipe');
  if (recipePath !== undefined) return recipeRunCommand(args, recipePath);
  const method = methodArg(args);
  const json = take(args, 'json') === 'true';
  const teacherRef = take(args, 'teacher');
  const preprocessing = take(args, 'preprocessing');
  const dataset = datasetArg(args);
  const student = take(args, 'student');
  const seed = takeInt(args, 'seed') ?? 1;
  const steps = takeInt(args, 'steps');
  const testExamples = takeInt(args, 'test-examples');
  const out = take(args, 'out');
  const trace = take(args, 'trace');
  const preset = presetArg(method, take(args, 'preset'));
  const backendChoice = backendChoiceArg(args);
  const threads = takeInt(args, 'threads');
  const params: Record<string, unknown> = { ...preset?.params };
  for (const [flag, text] of args.options) {
    const key = kebabToCamel(flag);
    const spec = method.params[key];
    if (!spec) {
      throw new InvalidInputError(
        `Unknown option --${flag} for '${method.id}'`,
        `Its parameters: ${Object.keys(method.params)
          .map((k) => `--${k}`)
          .join(', ')}.`,
      );
    }
    params[key] = parseParam(spec, text);
  }
  const backend = await initNodeBackend(backendChoice, threads);
  const run = await runOnce(
    {
      method,
      params,
      teacherRef,
      preprocessing,
      dataset,
      student,
      seed,
      steps: steps ?? preset?.steps,
      testExamples,
      backend,
    },
    { json, out, trace },
  );
  // What ran, as a recipe (`clab run --recipe` runs it again) — unless the teacher's
  // preprocessing was chosen here, which a recipe does not carry.
  const recipe =
    preprocessing === undefined
      ? recipeFromConfig({
          method: method.id,
          params: resolveParams(method.params, params, method.id),
          teacher: teacherRef!,
          dataset,
          student: student ?? method.defaultStudent,
          seed,
          steps: run.result.steps,
          testExamples: testExamples ?? 0,
          backend: backendChoice,
        })
      : undefined;
  printRun(json, method, run, recipe ? { recipe } : {});
}

interface RunOptions {
  method: AnyMethodSpec;
  params: Record<string, unknown>;
  teacherRef: string | undefined;
  preprocessing: string | undefined;
  dataset: DatasetId;
  student: string | undefined;
  seed: number;
  steps: number | undefined;
  testExamples: number | undefined;
  backend: BackendInfo;
  /** A recipe's live parameter changes, replayed at their steps. */
  schedule?: ParamChange[];
}

interface RunOutcome {
  result: RunResult;
  /** The last per-layer estimation error of each view, by event key (what sweeps tabulate). */
  estimationErrors: Record<string, LayerValues>;
  saved?: string;
  savedOnnx?: string;
}

/** One run, as `clab run` does it with options or a recipe: load, train, measure, save. */
async function runOnce(
  o: RunOptions,
  { json, out, trace }: { json: boolean; out?: string; trace?: string },
): Promise<RunOutcome> {
  const { method, student } = o;
  if (
    student &&
    !['half', 'copy'].includes(student) &&
    !ARCHITECTURES.some((a) => a.id === student)
  ) {
    throw new InvalidInputError(
      `Unknown student '${student}'`,
      `Use half, copy or one of ${ARCHITECTURES.map((a) => a.id).join(', ')}.`,
    );
  }
  const teacher = await modelArg(o.teacherRef, 'teacher');
  const [train, test] = await Promise.all([
    loadDataset(o.dataset, 'train'),
    loadDataset(o.dataset, 'test'),
  ]);
  await applyPreprocessingOption(teacher, o.preprocessing, async () => train, json);
  const bar = new ProgressBar(method.id);
  const latest: Record<string, number> = {};
  const estimationErrors: Record<string, LayerValues> = {};
  // Written as the run goes, so a long run can be watched (and an interrupted one keeps its rows).
  if (trace) writeFileSync(trace, 'seconds,step,key,value\n');
  const started = performance.now();
  const onEvent = (e: RunEvent) => {
    if (e.kind === 'scalar') {
      latest[e.key] = e.value;
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      if (trace) appendFileSync(trace, `${seconds},${e.step},${e.key},${e.value}\n`);
    }
    if (e.kind === 'layers' && e.key.startsWith('estimation-error/'))
      estimationErrors[e.key] = { labels: e.labels, values: e.values };
    if (e.kind === 'progress') bar.update(e.step, e.total, latest);
    if (e.kind === 'log' && !json) process.stderr.write(`${e.message}\n`);
    if (e.kind === 'params' && !json) process.stderr.write(`step ${e.step}: ${e.label}\n`);
    if (e.kind === 'table' && !json) {
      const rows = e.rows.map((r) => r.map(String));
      process.stderr.write(`${e.key}:\n${markdownTable(e.columns, rows).join('\n')}\n`);
    }
  };
  const { result, student: compressed } = await executeRun(
    {
      method,
      params: o.params,
      teacher,
      student,
      train,
      test,
      seed: o.seed,
      steps: o.steps,
      testExamples: o.testExamples,
      backend: o.backend,
      schedule: o.schedule,
    },
    onEvent,
  );
  bar.done();
  const saved = out ? await saveGraphToDir(compressed, out) : undefined;
  const savedOnnx = out ? await saveStudentOnnx(compressed, out) : undefined;
  return { result, estimationErrors, saved, savedOnnx };
}

/** A run's JSON (`extra` beside the result) or its two human lines. */
function printRun(
  json: boolean,
  method: AnyMethodSpec,
  { result, saved, savedOnnx }: RunOutcome,
  extra: Record<string, unknown>,
): void {
  print(
    json,
    {
      ...result,
      ...(saved ? { savedTo: saved } : {}),
      ...(savedOnnx ? { savedOnnxTo: savedOnnx } : {}),
      ...extra,
    },
    [
      `${method.title}: student ${result.student.name} accuracy ${(result.student.accuracy * 100).toFixed(2)}% ` +
        `(teacher ${(result.teacher.accuracy * 100).toFixed(2)}%)`,
      `params ${result.student.params} / ${result.teacher.params} (non-zero ${result.student.nonZeroParams}), FLOPs ${result.student.flops} / ${result.teacher.flops}, ` +
        `${(result.wallTimeMs / 1000).toFixed(1)} s on ${result.backend}`,
      `size: float32 ${result.student.bytes} B (teacher ${result.teacher.bytes} B, ${result.compressionRatio.toFixed(2)}×), exported ${result.student.exportBytes} B, gzipped ${result.student.gzipBytes} B` +
        (result.metrics['encoded-bytes'] === undefined
          ? ''
          : `, encoded ${result.metrics['encoded-bytes']} B (${(result.teacher.bytes / result.metrics['encoded-bytes']).toFixed(2)}×)`),
      ...(saved ? [`student saved to ${saved}`] : []),
      ...(savedOnnx ? [`student saved to ${savedOnnx}`] : []),
    ].join('\n'),
  );
}

/**
 * `clab run --recipe FILE`: the recipe is the whole run. Options that would change what runs
 * are refused (edit the recipe instead), so a recipe and its result always agree; only where
 * output goes (--json, --out, --trace) and the wasm threads may be given beside it. An emitted
 * recipe (one with a sweep cell) writes its result beside itself as `<file>.result.json`.
 */
async function recipeRunCommand(args: ParsedArgs, path: string): Promise<void> {
  const json = take(args, 'json') === 'true';
  const out = take(args, 'out');
  const trace = take(args, 'trace');
  const threads = takeInt(args, 'threads');
  const refused = [...args.positional, ...[...args.options.keys()].map((k) => `--${k}`)];
  if (refused.length) {
    throw new InvalidInputError(
      `${refused.join(', ')} cannot be given with --recipe: the recipe is the whole run`,
      `Edit the field in ${path} (or a copy of it); beside --recipe only --json, --out, --trace and --threads are taken.`,
    );
  }
  const recipe = await readRecipeFile(path, METHODS);
  if (recipe.resumed) process.stderr.write(`clab: note: ${recipe.resumed.note}\n`);
  const method = methodById(recipe.method)!;
  const backend = await initNodeBackend(recipe.backend, threads);
  const run = await runOnce(
    {
      method,
      params: recipe.params,
      teacherRef: recipe.teacher,
      preprocessing: undefined,
      dataset: recipe.dataset,
      student: recipe.student,
      seed: recipe.seed,
      steps: recipe.steps,
      testExamples: recipe.testExamples,
      backend,
      schedule: recipe.schedule,
    },
    { json, out, trace },
  );
  const written = recipe.sweep
    ? await writeRecipeResult(path, recipe, run.result, run.estimationErrors)
    : undefined;
  printRun(json, method, run, { estimationErrors: run.estimationErrors, recipe });
  if (written && !json) process.stdout.write(`result written to ${written}\n`);
}

/** The student as DIR/student.onnx; a graph ONNX cannot express is reported, not fatal. */
async function saveStudentOnnx(student: Graph, dir: string): Promise<string | undefined> {
  try {
    return await saveGraphAsOnnx(student, join(dir, 'student.onnx'));
  } catch (e) {
    if (!(e instanceof ClabError)) throw e;
    process.stderr.write(`clab: no student.onnx: ${e.message} (${e.hint})\n`);
    return undefined;
  }
}

/** Runs every cell of a sweep config, with a progress bar and a line per finished run. */
async function runSweepCells(config: SweepConfig, backend: BackendInfo, quiet: boolean) {
  const total = expandSweep(config, METHODS).length; // validates before loading anything
  const teacher = await modelArg(config.teacher, 'teacher');
  const [train, test] = await Promise.all([
    loadDataset(config.dataset, 'train'),
    loadDataset(config.dataset, 'test'),
  ]);
  const runs: SweepRun[] = [];
  let label = '';
  const bar = new ProgressBar('sweep');
  const sweep = runSweep(config, { methods: METHODS, teacher, train, test, backend }, (cell, e) => {
    const k = cell.shotsPerClass ? ` K=${cell.shotsPerClass}` : '';
    label = `${rowLabel(cell.method, cell.grid)}${k} seed=${cell.seed}`;
    if (e.kind === 'progress') bar.update(runs.length + e.step / e.total, total, {});
  });
  for await (const { run, index } of sweep) {
    runs.push(run);
    if (!quiet)
      process.stderr.write(
        `[${index + 1}/${total}] ${label}: ${(run.result.student.accuracy * 100).toFixed(2)}%\n`,
      );
  }
  bar.done();
  return runs;
}

async function sweepCommand(args: ParsedArgs): Promise<void> {
  const json = take(args, 'json') === 'true';
  const markdown = take(args, 'markdown');
  const results = take(args, 'results');
  const emit = take(args, 'emit');
  const backendFlag = args.options.get('backend');
  const configPath = args.positional[0];
  // What made the numbers: the config (and a backend other than the default).
  const command = `npx clab sweep ${configPath}${backendFlag ? ` --backend ${backendFlag}` : ''}`;
  if (emit !== undefined) {
    const backend = backendChoiceArg(args);
    take(args, 'threads'); // a property of the machine that runs each recipe, not of the sweep
    rejectUnknown(args, 'sweep --emit');
    if (emit === 'true' || json || markdown || results) {
      throw new InvalidInputError(
        emit === 'true'
          ? '--emit needs a directory'
          : '--emit writes recipes and runs nothing: --json, --markdown and --results do not apply',
        'Run clab sweep CONFIG --emit DIR, then clab run --recipe DIR/<file> for each, then clab collect DIR.',
      );
    }
    const config = await readSweepConfig(configPath);
    const names = await emitSweep(config, METHODS, backend, command, emit);
    process.stdout.write(
      `${names.length} recipes written to ${emit} (listed in ${join(emit, RECIPE_LIST)}, one a line).\n` +
        `Run each with npx clab run --recipe ${join(emit, '<file>')}; then npx clab collect ${emit} prints the tables.\n`,
    );
    return;
  }
  const backend = await backendArg(args);
  rejectUnknown(args, 'sweep');
  const config = await readSweepConfig(configPath);
  const runs = results
    ? await readSweepResults(results, config)
    : await runSweepCells(config, backend, json);
  const text = sweepMarkdown(config, runs, command);
  if (markdown) await writeMarkdown(markdown, text);
  print(json, sweepJson(config, runs), text);
}

/**
 * `clab collect DIR`: the results of an emitted sweep's recipes, tabulated exactly as
 * `clab sweep` tabulates the same runs; recipes without a result yet are named on stderr (and
 * under the tables) and left out.
 */
async function collectCommand(args: ParsedArgs): Promise<void> {
  const json = take(args, 'json') === 'true';
  const markdown = take(args, 'markdown');
  rejectUnknown(args, 'collect');
  const dir = args.positional[0];
  if (!dir) {
    throw new InvalidInputError(
      'clab collect needs the directory of an emitted sweep',
      'Run clab collect DIR, where clab sweep CONFIG --emit DIR wrote its recipes.',
    );
  }
  const { config, command, runs, missing } = await collectSweep(dir, METHODS);
  const total = runs.length + missing.length;
  if (runs.length === 0) {
    throw new InvalidInputError(
      `None of the ${total} recipes in ${dir} has a result yet`,
      `Run npx clab run --recipe ${join(dir, '<file>')} for each file listed in ${join(dir, RECIPE_LIST)}.`,
    );
  }
  const pending = missing.length
    ? `${missing.length} of ${total} recipes have no result yet (left out): ${missing.join(', ')}`
    : '';
  if (pending) process.stderr.write(`clab collect: ${pending}\n`);
  const text = sweepMarkdown(config, runs, command) + (pending ? `\n\n${pending}.` : '');
  if (markdown) await writeMarkdown(markdown, text);
  print(json, { ...sweepJson(config, runs), missing }, text);
}

function listCommand(): void {
  const lines = [
    'Methods:',
    ...METHODS.map((m) => `  ${m.id.padEnd(22)} ${m.title} — ${m.paper}`),
    'Teachers:',
    ...TEACHERS.map((t) => `  ${t.id.padEnd(22)} ${t.title}`),
    'Architectures (students):',
    ...ARCHITECTURES.map((a) => `  ${a.id.padEnd(22)} ${a.title}: ${a.description}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  switch (args.command) {
    case 'eval':
      return evalCommand(args);
    case 'run':
      return runCommand(args);
    case 'sweep':
      return sweepCommand(args);
    case 'collect':
      return collectCommand(args);
    case 'bench':
      return benchCommand(args);
    case 'list':
      return listCommand();
    case 'help':
      return helpCommand(args);
    case undefined:
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new InvalidInputError(
        `Unknown command '${args.command}'`,
        'Commands: eval, run, sweep, collect, bench, list, help.',
      );
  }
}

enableRelaxedSimd();
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    const msg =
      e instanceof ClabError
        ? `${e.message}. ${e.hint}`
        : e instanceof Error
          ? e.message
          : String(e);
    process.stderr.write(`clab: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  },
);
