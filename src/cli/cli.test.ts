// The CLI as a user runs it: a child process through bin/clab.mjs, exit codes and output.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clab, expectOneLineFailure } from './run-clab';

describe('clab', () => {
  it('evaluates the built-in LeNet-5 teacher as JSON', async () => {
    const out = await clab('eval', '--model', 'lenet5-mnist', '--dataset', 'mnist', '--json');
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as Record<string, number>;
    expect(result.accuracy).toBeGreaterThanOrEqual(0.989);
    expect(result.params).toBe(61706);
    expect(result.flops).toBe(416520);
    // A dense float model: every parameter non-zero, the file as large as float32, gzip barely helps.
    expect(result.nonZeroParams).toBe(61706);
    expect(result.exportBytes).toBe(61706 * 4);
    expect(result.gzipBytes).toBeGreaterThan(0.8 * 61706 * 4);
    const latency = result.latency as unknown as { batch1Ms: number; perImageMs: number };
    expect(latency.batch1Ms).toBeGreaterThan(0);
    expect(latency.perImageMs).toBeGreaterThan(0);
  });

  it('runs the wasm backend on the threads asked for, the same accuracy on each', async () => {
    const results = [];
    for (const threads of ['1', '2']) {
      const out = await clab(
        'eval',
        '--model',
        'lenet5-mnist',
        '--dataset',
        'mnist',
        '--threads',
        threads,
        '--json',
      );
      expect(out.code).toBe(0);
      results.push(JSON.parse(out.stdout) as { threads: number; accuracy: number });
    }
    expect(results.map((r) => r.threads)).toEqual([1, 2]);
    expect(results[1].accuracy).toBe(results[0].accuracy);
  });

  it('runs a short KD and prints the RunResult, and saves a student that evaluates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-'));
    const run = await clab(
      'run',
      'kd',
      '--teacher',
      'lenet5-mnist',
      '--dataset',
      'mnist',
      '--student',
      'lenet5-half',
      '--steps',
      '30',
      '--temperature',
      '3',
      '--seed',
      '2',
      '--out',
      dir,
      '--trace',
      join(dir, 'trace.csv'),
      '--json',
    );
    expect(run.code).toBe(0);
    const [header, ...rows] = (await readFile(join(dir, 'trace.csv'), 'utf8')).trim().split('\n');
    expect(header).toBe('seconds,step,key,value');
    const traced = rows.map((r) => r.split(','));
    expect(traced.some(([, step, key]) => step === '30' && key.startsWith('loss'))).toBe(true);
    const seconds = traced.map(([t]) => Number(t));
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
    const result = JSON.parse(run.stdout) as {
      method: string;
      params: { temperature: number };
      steps: number;
      backend: string;
      student: { params: number; accuracy: number };
      wallTimeMs: number;
      savedTo: string;
    };
    expect(result).toMatchObject({
      method: 'kd',
      steps: 30,
      backend: 'wasm',
      params: { temperature: 3 },
    });
    expect(result.student.params).toBe(15738);
    expect(result.wallTimeMs).toBeGreaterThan(0);
    const evaluated = await clab('eval', '--model', result.savedTo, '--dataset', 'mnist', '--json');
    expect(evaluated.code).toBe(0);
    const saved = JSON.parse(evaluated.stdout) as { params: number; accuracy: number };
    expect(saved.params).toBe(15738);
    // The file holds the very student the run measured, on the same 10,000 test images.
    expect(saved.accuracy).toBe(result.student.accuracy);
  });

  it('saves a channel-pruned few-shot student that re-evaluates to the run’s own accuracy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-'));
    const run = await clab(
      ...['run', 'layerwise', '--teacher', 'lenet5-mnist', '--dataset', 'mnist'],
      ...['--shots-per-class', '1', '--iters-per-layer', '30', '--fine-tune-steps', '5'],
      ...['--out', dir, '--json'],
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      student: { params: number; accuracy: number };
      teacher: { params: number };
      savedTo: string;
    };
    expect(result.student.params).toBeLessThan(result.teacher.params);
    const evaluated = await clab('eval', '--model', result.savedTo, '--dataset', 'mnist', '--json');
    const saved = JSON.parse(evaluated.stdout) as { params: number; accuracy: number };
    expect(saved.params).toBe(result.student.params);
    expect(saved.accuracy).toBe(result.student.accuracy);
  });

  it('evaluates and distils an ONNX teacher, and writes the student as ONNX beside model.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-'));
    const made = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'scripts/make-onnx-fixtures.ts', dir],
        { timeout: 120_000 },
        (error) => resolve(error ? 1 : 0),
      ),
    );
    expect(made).toBe(0);
    const teacher = join(dir, 'lenet5-mnist-nhwc.onnx'); // tf2onnx's layout, batch fixed to 1
    const evaluated = await clab('eval', '--model', teacher, '--dataset', 'mnist', '--json');
    expect(evaluated.code).toBe(0);
    expect((JSON.parse(evaluated.stdout) as { accuracy: number }).accuracy).toBeGreaterThanOrEqual(
      0.989,
    );
    const out = join(dir, 'student');
    const run = await clab(
      ...['run', 'kd', '--teacher', teacher, '--dataset', 'mnist', '--steps', '20'],
      ...['--out', out, '--json'],
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      student: { accuracy: number };
      savedOnnxTo: string;
    };
    expect(result.savedOnnxTo).toBe(join(out, 'student.onnx'));
    const student = await clab(
      'eval',
      '--model',
      result.savedOnnxTo,
      '--dataset',
      'mnist',
      '--json',
    );
    expect((JSON.parse(student.stdout) as { accuracy: number }).accuracy).toBe(
      result.student.accuracy,
    );
  });

  it('prints a method’s parameters from its schema: clab help <method> and run <method> --help', async () => {
    const help = await clab('help', 'cross-distillation');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^cross-distillation: Cross Distillation \(Bai et al/);
    expect(help.stdout).toMatch(/--mu <0 to 1> {3}default 0\.6/);
    expect(help.stdout).toMatch(/--fitLayers <conv \| all> {3}default conv/);
    expect(help.stdout).toMatch(/--shotsPerClass <1 to 100, whole> {3}default 5/);
    const viaRun = await clab('run', 'cross-distillation', '--help');
    expect(viaRun.stdout).toBe(help.stdout);
    expectOneLineFailure(await clab('help', 'nope'), /Unknown method 'nope'/);
  });

  it('runs a sweep file, and tabulates its saved results again without training', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-'));
    const config = join(dir, 'sweep.json');
    await writeFile(
      config,
      JSON.stringify({
        teacher: 'lenet5-mnist',
        dataset: 'mnist',
        methods: ['layerwise', 'cross-distillation'],
        shotsPerClass: [1],
        seeds: [1, 2],
        params: { itersPerLayer: 10, fineTuneSteps: 0 },
        testExamples: 300,
      }),
    );
    const markdown = join(dir, 'sweep.md');
    const run = await clab('sweep', config, '--json', '--markdown', markdown);
    expect(run.code).toBe(0);
    const saved = join(dir, 'results.json');
    await writeFile(saved, run.stdout);
    const text = await readFile(markdown, 'utf8');
    expect(text).toContain(`Command: \`npx clab sweep ${config}\``);
    expect(text).toMatch(/\| cross-distillation \| 1 \| [+−]\d+\.\d\d ± \d+\.\d\d \| 2 \|/);
    expect(text).toContain("Estimation error over layerwise's, per layer (Fig. 2;");
    const again = await clab('sweep', config, '--results', saved);
    expect(again.code).toBe(0);
    expect(`${again.stdout}`).toBe(text);
    await writeFile(config, JSON.stringify({ ...JSON.parse(run.stdout).config, seeds: [1] }));
    expectOneLineFailure(
      await clab('sweep', config, '--results', saved),
      /does not hold results of this sweep config/,
    );
  });

  it('refuses bad arguments, unknown ids and unreadable files with one line', async () => {
    expectOneLineFailure(await clab('frobnicate'), /Unknown command 'frobnicate'/);
    expectOneLineFailure(
      await clab('run', 'nope', '--dataset', 'mnist'),
      /Unknown method 'nope'.*kd/,
    );
    expectOneLineFailure(
      await clab('eval', '--model', 'lenet5-mnist', '--dataset', 'cifar'),
      /--dataset must be one of/,
    );
    expectOneLineFailure(
      await clab('eval', '--model', 'lenet5-mnist', '--dataset', 'mnist', '--threads', '0'),
      /--threads must be at least 1/,
    );
    expectOneLineFailure(
      await clab('eval', '--model', 'resnet99', '--dataset', 'mnist'),
      /Unknown model 'resnet99'/,
    );
    expectOneLineFailure(
      await clab('eval', '--model', '/no/such/model.json', '--dataset', 'mnist'),
      /Cannot read the model file/,
    );
    expectOneLineFailure(
      await clab(
        'run',
        'kd',
        '--teacher',
        'lenet5-mnist',
        '--dataset',
        'mnist',
        '--tempurature',
        '3',
      ),
      /Unknown option --tempurature for 'kd'/,
    );
    expectOneLineFailure(
      await clab('run', 'kd', '--teacher', 'lenet5-mnist', '--dataset', 'mnist', '--alpha', '7'),
      /alpha must be between 0 and 1/,
    );
    expectOneLineFailure(await clab('bench', '--bogus'), /Unknown option --bogus/);
    expectOneLineFailure(
      await clab('bench', '--backend', 'webgl'),
      /only webgpu is timed alone.*--backend webgpu/,
    );
    // Dawn's bindings are an optional install (webgpu-node.ts): without them, say how to get them.
    if (!existsSync(join(process.cwd(), 'node_modules', 'webgpu'))) {
      expectOneLineFailure(
        await clab('eval', '--model', 'lenet5-mnist', '--dataset', 'mnist', '--backend', 'webgpu'),
        /--backend webgpu cannot run: the webgpu package is not installed.*npm install --no-save webgpu/,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), 'clab-'));
    const notJson = join(dir, 'model.json');
    await writeFile(notJson, 'PK\u0003\u0004 this is a zip');
    expectOneLineFailure(
      await clab('eval', '--model', notJson, '--dataset', 'mnist'),
      /not valid JSON/,
    );
    const browserSweep = join(dir, 'sweep.json');
    await writeFile(
      browserSweep,
      JSON.stringify({
        teacher: 'lenet5-mnist',
        dataset: 'mnist',
        methods: ['kd'],
        seeds: [1],
        shots: 'images:1',
      }),
    );
    expectOneLineFailure(await clab('sweep', browserSweep), /images uploaded in a browser/);
  });
});
