// `clab bench`: ms per training step, per inference batch and per DAFL iteration, with achieved
// GFLOP/s, beside the same training steps in PyTorch where python3 has torch. Ours and PyTorch's
// alternate in rounds, so a host whose speed drifts moves both alike; the ratio is the result.
// With --browser the same tasks run in headless Chromium on each of its backends
// (bench-browser.ts); in Node on WASM (and the stock CPU backend for scale).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  BENCH_BATCH,
  BENCH_NETWORKS,
  daflSetting,
  runBenchTask,
  type BenchNetwork,
  type BenchTask,
  type BenchTiming,
} from '../core/experiments/bench';
import { disposeGraph } from '../core/graph';
import { graphToLayersJson } from '../core/io';
import { CONV_KERNELS, timeConvKernels, type ConvKernel } from '../core/metrics';
import { initBackend } from '../core/runtime/backend';
import { xnnpackThreads } from '../core/runtime/wasm-threads';
import { median, type WarmUp } from '../core/runtime/timing';
import { buildArchitecture } from '../core/zoo';
import { rejectUnknown, take, takeInt, type ParsedArgs } from './args';
import { benchInBrowser } from './bench-browser';
import { print, requireNodeWebGpu, wasmThreadsOption } from './common';
import { InvalidInputError } from '../core/runtime/errors';

/** One measured task on one backend configuration. */
export interface BenchRow {
  /** 'LeNet-5', 'BN-VGG' or the DAFL setting. */
  network: string;
  kind: BenchTask['kind'];
  /** The backend configuration, in words ('wasm, 2 threads'). */
  backend: string;
  /** Median ms over the rounds' medians. */
  ms: number;
  samples: number;
  gflops?: number;
  /** The same training step in PyTorch on as many threads, measured alternately with ours. */
  torchMs?: number;
  ratio?: number;
  /** Ours ÷ PyTorch's in each alternating round: how far the host's noise moves the ratio. */
  rounds: number[];
}

/** A task to time on one configuration, and how: `ours` runs it wherever that configuration is. */
export interface BenchJob {
  backend: string;
  task: BenchTask;
  rounds: number;
  /** XNNPACK threads for the PyTorch peer; no peer without. */
  torchThreads?: number;
  ours: (task: BenchTask) => Promise<BenchTiming>;
}

const round2 = (x: number) => Number(x.toFixed(2));

/**
 * The least warm-up, ours and PyTorch's alike, before the timed steps: V8 runs new WebAssembly
 * with its baseline compiler and swaps in optimised code as it gets hot, which took LeNet-5's
 * Node step from ~9.5 to ~6 ms over its first ~100 steps; five steps had timed mostly that.
 */
const WARMUP_MS = 1500;

/** Runs a job's rounds (ours, then PyTorch's) and sums them up as a row. */
export async function measure(
  job: BenchJob,
  layersJson: Map<BenchNetwork, object>,
): Promise<BenchRow> {
  const { task } = job;
  const ours: BenchTiming[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < job.rounds; r++) {
    ours.push(await job.ours(task));
    if (task.kind === 'train' && job.torchThreads !== undefined) {
      const warmUp = { steps: task.steps, warmup: task.warmup, warmupMs: task.warmupMs ?? 0 };
      const t = torchTrainStep(layersJson.get(task.network)!, job.torchThreads, warmUp);
      if (t !== undefined) theirs.push(t);
    }
  }
  const ms = median(ours.map((t) => t.ms));
  const gflops = ours[0].gflops === undefined ? undefined : median(ours.map((t) => t.gflops!));
  const torchMs = theirs.length ? median(theirs) : undefined;
  return {
    network:
      task.kind === 'dafl'
        ? `DAFL, ${daflSetting(task.generator)}`
        : BENCH_NETWORKS.find((n) => n.id === task.network)!.title,
    kind: task.kind,
    backend: job.backend,
    ms: round2(ms),
    samples: ours.reduce((n, t) => n + t.samples, 0),
    ...(gflops !== undefined && { gflops: Number(gflops.toFixed(1)) }),
    ...(torchMs !== undefined && { torchMs: round2(torchMs), ratio: round2(ms / torchMs) }),
    rounds: theirs.map((t, i) => round2(ours[i].ms / t)),
  };
}

/** Each bench network as the Layers JSON the PyTorch peer builds it from (needs a backend). */
export async function benchLayersJson(): Promise<Map<BenchNetwork, object>> {
  const out = new Map<BenchNetwork, object>();
  for (const { id } of BENCH_NETWORKS) {
    const g = buildArchitecture(id, 'mnist', 1);
    out.set(id, (await graphToLayersJson(g)).json);
    disposeGraph(g);
  }
  return out;
}

/** The tasks of one configuration: every one on a fast backend, a LeNet-5 step on a slow one. */
export function benchTasks(steps: number, fast: boolean): { task: BenchTask; rounds: number }[] {
  if (!fast) {
    return [
      {
        task: { kind: 'train', network: 'lenet5', steps: Math.min(steps, 3), warmup: 1 },
        rounds: 1,
      },
    ];
  }
  return [
    ...BENCH_NETWORKS.map(({ id }) => ({
      task: { kind: 'train' as const, network: id, steps, warmup: 5, warmupMs: WARMUP_MS },
      rounds: 3,
    })),
    ...BENCH_NETWORKS.map(({ id }) => ({
      task: { kind: 'infer' as const, network: id, steps, warmup: 3, warmupMs: WARMUP_MS },
      rounds: 1,
    })),
    // Three warm-up iterations: a kernel shape's first calls try it split and whole
    // (runtime/kernel-threads.ts, SplitChoices), and the generator's shapes are new here.
    ...(['paper', 'default'] as const).map((generator) => ({
      task: { kind: 'dafl' as const, generator, steps: 3, warmup: 3 },
      rounds: 1,
    })),
  ];
}

/** The rows as a Markdown table (the human output of both halves). */
export function benchTable(rows: BenchRow[]): string {
  const what = {
    train: `Adam step, batch ${BENCH_BATCH}`,
    infer: `inference, batch ${BENCH_BATCH}`,
    dafl: 'iteration',
  };
  const lines = [
    '| network | measured | backend | ms | GFLOP/s | PyTorch ms | ours ÷ PyTorch (rounds) |',
    '| --- | --- | --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.network} | ${what[r.kind]} | ${r.backend} | ${r.ms} | ${r.gflops ?? ''} | ${r.torchMs ?? ''} | ` +
        (r.ratio === undefined ? '' : `**${r.ratio}** (${r.rounds.join(', ')})`) +
        ' |',
    ),
  ];
  return lines.join('\n');
}

export async function benchCommand(args: ParsedArgs): Promise<void> {
  const json = take(args, 'json') === 'true';
  const steps = takeInt(args, 'steps') ?? 30;
  const browser = take(args, 'browser') === 'true';
  const threads = takeInt(args, 'threads');
  const only = take(args, 'backend');
  rejectUnknown(args, 'bench');
  if (browser) {
    const result = await benchInBrowser(steps);
    print(
      json,
      result,
      `${result.browser}, ${result.cores} logical cores, cross-origin isolated page, tasks in a Web Worker:\n` +
        `${benchTable(result.rows)}\n${result.unavailable.map((u) => `${u.backend}: ${u.reason}`).join('\n')}`,
    );
    return;
  }
  if (only === 'webgpu') {
    await requireNodeWebGpu();
    const info = await initBackend('webgpu');
    const layersJson = await benchLayersJson();
    const rows: BenchRow[] = [];
    for (const { task } of benchTasks(steps, true)) {
      rows.push(
        await measure({ backend: 'webgpu', task, rounds: 1, ours: runBenchTask }, layersJson),
      );
    }
    print(json, { backend: info.reason, results: rows }, `${info.reason}\n${benchTable(rows)}`);
    return;
  }
  if (only !== undefined) {
    throw new InvalidInputError(
      `clab bench --backend ${only}: only webgpu is timed alone`,
      'Leave --backend out (wasm and cpu are timed together), or pass --backend webgpu.',
    );
  }
  const options = wasmThreadsOption(threads);
  const wasmThreads = options.wasmThreads?.threads ?? 1;
  const rows: BenchRow[] = [];
  for (const name of ['wasm', 'cpu'] as const) {
    await initBackend(name, options);
    const layersJson = await benchLayersJson();
    const split = `XNNPACK ${xnnpackThreads(wasmThreads)}, ours ${wasmThreads}`;
    const backend = name === 'cpu' ? name : `wasm, ${wasmThreads === 1 ? '1 thread' : split}`;
    for (const { task, rounds } of benchTasks(steps, name === 'wasm')) {
      // The stock CPU backend is ~100× behind: a PyTorch peer would only say so again.
      const torchThreads = name === 'wasm' ? wasmThreads : undefined;
      const job = { backend, task, rounds, torchThreads, ours: runBenchTask };
      rows.push(await measure(job, layersJson));
    }
  }
  // DAFL's step is dominated by the generator's 3×3 convolutions at 16×16 and 32×32, a regime
  // LeNet-5 never exercises: each of their kernels against PyTorch's.
  await initBackend('wasm', options);
  const convRows = await benchConvKernels(wasmThreads);
  print(
    json,
    { wasmThreads, results: rows, convolutions: convRows },
    [
      benchTable(rows),
      '',
      `Convolution kernels (stride 1, same padding), wasm with ${wasmThreads} thread(s) vs PyTorch with as many:`,
      ...convRows.map(
        (r) =>
          `  ${r.kernel.padEnd(21)} ${r.case.padEnd(34)} ${r.ms} ms, ${r.gflops} GFLOP/s` +
          (r.torchMs === undefined ? '' : `; PyTorch ${r.torchMs} ms: ${r.ratio}×`),
      ),
    ].join('\n'),
  );
}

/** Runs one of scripts/*.py with the first python3 that has torch; undefined where none does. */
function runTorchScript(script: string, args: string[], input: unknown): string | undefined {
  const path = fileURLToPath(new URL(`../../scripts/${script}`, import.meta.url));
  // The first python3 on PATH may be a virtualenv's; Debian's python3-torch lives under /usr/bin.
  for (const python of ['python3', '/usr/bin/python3']) {
    const run = spawnSync(python, ['-W', 'ignore', path, ...args], {
      input: JSON.stringify(input),
      encoding: 'utf8',
    });
    if (run.status === 0) return run.stdout;
  }
  return undefined;
}

let warnedNoTorch = false;

/**
 * PyTorch's median training step for the network a Layers model.json describes
 * (scripts/torch-train-step.py), or undefined where no python3 has torch.
 */
function torchTrainStep(
  modelJson: object,
  threads: number,
  { steps, warmup, warmupMs }: Required<WarmUp> & { steps: number },
): number | undefined {
  const args = { threads, steps, warmup, 'warmup-ms': warmupMs };
  const out = runTorchScript(
    'torch-train-step.py',
    Object.entries(args).flatMap(([name, value]) => [`--${name}`, String(value)]),
    modelJson,
  );
  if (out === undefined && !warnedNoTorch) {
    warnedNoTorch = true;
    process.stderr.write(
      'PyTorch peer skipped (no python3 with torch: apt-get install python3-torch)\n',
    );
  }
  return out === undefined ? undefined : (JSON.parse(out) as { msPerStep: number }).msPerStep;
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
  const out = runTorchScript(
    'torch-conv-kernels.py',
    ['--threads', String(threads)],
    BENCH_CONVS.map(({ x, filter }) => ({ x, filter })),
  );
  const torch =
    out === undefined
      ? undefined
      : (JSON.parse(out) as { results: Record<ConvKernel, number>[] }).results;
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
