// `clab`: the same MethodSpecs as the page, run headless in Node on the WASM backend.
import { appendFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASET_IDS, loadDataset, type DatasetId } from '../core/data';
import { disposeGraph, graphStats, type Graph } from '../core/graph';
import { graphToLayersJson } from '../core/io';
import { loadGraphFromFile, saveGraphAsOnnx, saveGraphToDir } from '../core/io/node';
import { modelSize } from '../core/io/size';
import {
  accuracy,
  CONV_KERNELS,
  timeConvKernels,
  timeInference,
  timeTrainingStep,
  type ConvKernel,
} from '../core/metrics';
import { dafl, timeDaflStep } from '../core/methods/dafl';
import { defaultParams, resolveParams, type ParamChange } from '../core/methods/params';
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
import {
  initBackend,
  type BackendChoice,
  type BackendInfo,
  type InitBackendOptions,
} from '../core/runtime/backend';
import { nodeThreadedWasm } from '../core/runtime/wasm-threads-node';
import { ClabError, InvalidInputError } from '../core/runtime/errors';
import { ARCHITECTURES, buildArchitecture, loadTeacher, TEACHERS, teacherSpec } from '../core/zoo';
import { kebabToCamel, parseArgs, rejectUnknown, take, takeInt, type ParsedArgs } from './args';
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
  clab bench [--json] [--steps N] [--threads N]
  clab list
  clab help <method-id>      (or clab run <method-id> --help): the method's parameters

Common: --backend wasm|cpu|auto (default wasm); --threads N: the wasm backend's threads
        (default: every logical core of this machine).
eval, run: --preprocessing detect|unit|raw|signed|<json>: how pixels become the model's input
        (unit 0..1, raw 0..255, signed −1..1; JSON: range, mean, std, invert, resize);
        detect tries each candidate on 500 training images, prints their accuracy and keeps the best.`;

function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human}\n`);
}

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
  if (!NODE_BACKENDS.includes(choice)) {
    throw new InvalidInputError(
      `--backend '${choice}' does not run in Node`,
      'Use wasm, cpu or auto.',
    );
  }
  return choice;
}

async function backendArg(args: ParsedArgs) {
  const choice = backendChoiceArg(args);
  return initNodeBackend(choice, takeInt(args, 'threads'));
}

const initNodeBackend = (choice: BackendChoice, threads: number | undefined) =>
  initBackend(choice, wasmThreadsOption(threads));

/**
 * --threads N: XNNPACK threads of the wasm backend, default every logical core. One thread is
 * the stock single-threaded build; more load the threaded build (runtime/wasm-threads.ts).
 */
function wasmThreadsOption(requested: number | undefined): InitBackendOptions {
  const threads = requested ?? availableParallelism();
  if (threads < 1) {
    throw new InvalidInputError(
      `--threads must be at least 1, got ${threads}`,
      'Pass --threads 1.',
    );
  }
  return threads === 1 ? {} : { wasmThreads: { threads, source: nodeThreadedWasm() } };
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

async function benchCommand(args: ParsedArgs): Promise<void> {
  const json = take(args, 'json') === 'true';
  const steps = takeInt(args, 'steps') ?? 30;
  const threads = wasmThreadsOption(takeInt(args, 'threads'));
  rejectUnknown(args, 'bench');
  const rows: TrainStepRow[] = [];
  for (const name of ['wasm', 'cpu'] as const) {
    await initBackend(name, threads);
    rows.push(...(await benchTrainingSteps(name, steps, threadCount(threads))));
  }
  // DAFL's step is dominated by the generator's 3×3 convolutions at 16×16 and 32×32, a regime
  // LeNet-5 never exercises: each of their kernels against PyTorch's, then whole DAFL steps.
  await initBackend('wasm', threads);
  const wasmThreads = threadCount(threads);
  const convRows = await benchConvKernels(wasmThreads);
  const teacher = await loadTeacher('lenet5-mnist');
  const student = buildArchitecture('lenet5-half', 'mnist', 1);
  const defaults = defaultParams(dafl.params);
  const daflRows = [];
  for (const [setting, p] of [
    [
      'paper generator (width 128), batch 128',
      { ...defaults, ...dafl.presets!.paper.params, batchSize: 128 },
    ],
    [`default (width ${defaults.generatorWidth}), batch ${defaults.batchSize}`, defaults],
  ] as const) {
    const t = await timeDaflStep(teacher, student, p as typeof defaults, { steps: 3, warmup: 1 });
    daflRows.push({
      setting,
      backend: 'wasm',
      msPerStep: Math.round(t.median),
      samples: t.samples.length,
    });
  }
  print(
    json,
    {
      batchSize: 64,
      optimizer: 'adam',
      wasmThreads,
      results: rows,
      convolutions: convRows,
      dafl: daflRows,
    },
    [
      ...rows.map(
        (r) =>
          `${r.network}, batch 64, Adam on ${r.backend}: ${r.msPerStep} ms/step (median of ${r.samples}), ${r.gflops} GFLOP/s` +
          (r.torchMsPerStep === undefined
            ? ''
            : `; PyTorch ${r.torchMsPerStep} ms: ${r.ratio}× (rounds ${r.rounds.join(', ')})`),
      ),
      `Convolution kernels (stride 1, same padding), wasm with ${wasmThreads} thread(s) vs PyTorch with as many:`,
      ...convRows.map(
        (r) =>
          `  ${r.kernel.padEnd(21)} ${r.case.padEnd(34)} ${r.ms} ms, ${r.gflops} GFLOP/s` +
          (r.torchMs === undefined ? '' : `; PyTorch ${r.torchMs} ms: ${r.ratio}×`),
      ),
      ...daflRows.map(
        (r) =>
          `DAFL step, LeNet-5 → LeNet-5-half, ${r.setting} on ${r.backend}: ${r.msPerStep} ms/step (median of ${r.samples})`,
      ),
    ].join('\n'),
  );
}

const threadCount = (opts: InitBackendOptions) => opts.wasmThreads?.threads ?? 1;

interface TrainStepRow {
  network: string;
  backend: string;
  msPerStep: number;
  samples: number;
  /** Achieved: forward and backward FLOPs (3× the forward multiply-adds × 2) per second. */
  gflops: number;
  /** The same network's step in PyTorch on as many threads, measured alternately with ours. */
  torchMsPerStep?: number;
  ratio?: number;
  /** Ours ÷ PyTorch's in each alternating round: how far the host's noise moves the ratio. */
  rounds: number[];
}

/** The networks whose training step is timed: LeNet-5 and BN-VGG, batch 64, Adam. */
const BENCH_NETWORKS = [
  { id: 'lenet5', title: 'LeNet-5' },
  { id: 'bnnet', title: 'BN-VGG' },
] as const;

/**
 * Each BENCH_NETWORKS training step on the active backend and in PyTorch (where python3 has
 * torch), in alternating rounds so that a host whose speed drifts moves both alike.
 */
async function benchTrainingSteps(
  backend: string,
  steps: number,
  threads: number,
): Promise<TrainStepRow[]> {
  const out: TrainStepRow[] = [];
  // The stock CPU backend is ~20× slower: LeNet-5 alone, a few steps give its median.
  const networks = backend === 'cpu' ? BENCH_NETWORKS.slice(0, 1) : BENCH_NETWORKS;
  for (const { id, title } of networks) {
    const g = buildArchitecture(id, 'mnist', 1);
    const { json } = await graphToLayersJson(g);
    const rounds = backend === 'cpu' ? 1 : 3;
    const ours: number[] = [];
    const theirs: number[] = [];
    let samples = 0;
    for (let r = 0; r < rounds; r++) {
      const t = await timeTrainingStep(g, {
        batchSize: 64,
        steps: backend === 'cpu' ? Math.min(steps, 5) : steps,
        warmup: backend === 'cpu' ? 1 : 5,
      });
      ours.push(t.median);
      samples += t.samples.length;
      const torch = backend === 'cpu' ? undefined : torchTrainStep(json, threads, steps);
      if (torch !== undefined) theirs.push(torch);
    }
    // Multiply-adds per image; a training step is about three forward passes of 2 FLOPs each.
    const flops = 6 * graphStats(g).flops * 64;
    disposeGraph(g);
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)];
    const ms = median(ours);
    const torchMs = theirs.length ? median(theirs) : undefined;
    out.push({
      network: title,
      backend,
      msPerStep: Number(ms.toFixed(2)),
      samples,
      gflops: Number((flops / ms / 1e6).toFixed(1)),
      ...(torchMs !== undefined && {
        torchMsPerStep: Number(torchMs.toFixed(2)),
        ratio: Number((ms / torchMs).toFixed(2)),
      }),
      rounds: theirs.map((t, i) => Number((ours[i] / t).toFixed(2))),
    });
  }
  return out;
}

/**
 * PyTorch's median training step for the network a Layers model.json describes
 * (scripts/torch-train-step.py), or undefined where no python3 has torch.
 */
function torchTrainStep(modelJson: object, threads: number, steps: number): number | undefined {
  const script = fileURLToPath(new URL('../../scripts/torch-train-step.py', import.meta.url));
  for (const python of ['python3', '/usr/bin/python3']) {
    const run = spawnSync(
      python,
      ['-W', 'ignore', script, '--threads', String(threads), '--steps', String(steps)],
      { input: JSON.stringify(modelJson), encoding: 'utf8' },
    );
    if (run.status === 0) return (JSON.parse(run.stdout) as { msPerStep: number }).msPerStep;
  }
  return undefined;
}

/** The DAFL generators' convolutions: the paper's (width 128) and the default (width 32). */
const BENCH_CONVS: { case: string; x: Shape4; filter: Shape4 }[] = [
  { case: 'batch 128, 16×16, 128→128', x: [128, 16, 16, 128], filter: [3, 3, 128, 128] },
  { case: 'batch 128, 32×32, 128→64', x: [128, 32, 32, 128], filter: [3, 3, 128, 64] },
  { case: 'batch 128, 32×32, 32→16', x: [128, 32, 32, 32], filter: [3, 3, 32, 16] },
];
type Shape4 = [number, number, number, number];

/**
 * Each convolution kernel of BENCH_CONVS on the active backend, beside the same kernel in
 * PyTorch on the same threads (scripts/torch-conv-kernels.py) where python3 has torch.
 */
async function benchConvKernels(threads: number) {
  const ours: Awaited<ReturnType<typeof timeConvKernels>>[] = [];
  for (const c of BENCH_CONVS) ours.push(await timeConvKernels(c.x, c.filter));
  const torch = torchConvKernels(threads);
  return BENCH_CONVS.flatMap((c, i) =>
    CONV_KERNELS.map((kernel) => {
      const ms = ours[i][kernel].median;
      const torchMs = torch?.[i][kernel];
      return {
        case: c.case,
        kernel,
        ms: Math.round(ms),
        gflops: Number((ours[i].flops / ms / 1e6).toFixed(1)),
        torchMs: torchMs === undefined ? undefined : Math.round(torchMs),
        ratio: torchMs === undefined ? undefined : Number((ms / torchMs).toFixed(2)),
      };
    }),
  );
}

/**
 * PyTorch's medians per BENCH_CONVS case, or undefined where no python3 has torch (the first on
 * PATH may be a virtualenv's; Debian's python3-torch lives under /usr/bin).
 */
function torchConvKernels(threads: number): Record<ConvKernel, number>[] | undefined {
  const script = fileURLToPath(new URL('../../scripts/torch-conv-kernels.py', import.meta.url));
  for (const python of ['python3', '/usr/bin/python3']) {
    const run = spawnSync(python, [script, '--threads', String(threads)], {
      input: JSON.stringify(BENCH_CONVS.map(({ x, filter }) => ({ x, filter }))),
      encoding: 'utf8',
    });
    if (run.status === 0) {
      return (JSON.parse(run.stdout) as { results: Record<ConvKernel, number>[] }).results;
    }
  }
  process.stderr.write(
    'PyTorch peer skipped (no python3 with torch: apt-get install python3-torch)\n',
  );
  return undefined;
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
