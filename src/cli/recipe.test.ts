// Recipes through the CLI as a batch scheduler would drive it: `clab sweep --emit`, one
// `clab run --recipe` per file (each its own process), `clab collect`; and the refusals.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clab, expectOneLineFailure } from './run-clab';

/** The tables without the closing line, which sums the runs' wall time (never the same twice). */
const tables = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((line) => !/^\d+ runs, [\d.]+ min of training on /.test(line));

const SWEEP = {
  name: 'recipe test',
  teacher: 'lenet5-mnist',
  dataset: 'mnist',
  methods: ['kd'],
  shotsPerClass: [5],
  seeds: [1, 2],
  steps: 6,
  testExamples: 100,
};

describe('clab recipes', () => {
  it('sweep --emit, run --recipe for each, collect: the same tables as clab sweep', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-recipes-'));
    const config = join(dir, 'sweep.json');
    await writeFile(config, JSON.stringify(SWEEP));
    // The sweep in one process: its JSON on stdout, its tables in a file.
    const sweptMd = join(dir, 'swept.md');
    const swept = await clab('sweep', config, '--json', '--markdown', sweptMd);
    expect(swept.code).toBe(0);
    const sweptTables = await readFile(sweptMd, 'utf8');

    const out = join(dir, 'emitted');
    const emitted = await clab('sweep', config, '--emit', out);
    expect(emitted.code).toBe(0);
    expect(emitted.stdout).toMatch(/^2 recipes written to /);
    const names = (await readFile(join(out, 'recipes.txt'), 'utf8')).trim().split('\n');
    expect(names).toEqual(['001-kd-K5-seed1.json', '002-kd-K5-seed2.json']);
    const recipe = JSON.parse(await readFile(join(out, names[1]), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(recipe).toMatchObject({
      format: 'clab-recipe',
      method: 'kd',
      teacher: 'lenet5-mnist',
      student: 'half',
      seed: 2,
      steps: 6,
      testExamples: 100,
      backend: 'wasm',
      sweep: { index: 1, total: 2 },
    });
    // Self-contained: every parameter of the method, not only the sweep's.
    expect(Object.keys(recipe.params as object)).toEqual(
      expect.arrayContaining(['temperature', 'learningRate', 'shotsPerClass']),
    );

    // Nothing run yet: collect says so and fails.
    expectOneLineFailure(await clab('collect', out), /None of the 2 recipes .* has a result yet/);

    const first = await clab('run', '--recipe', join(out, names[0]), '--json');
    expect(first.code).toBe(0);
    const printed = JSON.parse(first.stdout) as { recipe: unknown; student: { accuracy: number } };
    const written = JSON.parse(
      await readFile(join(out, '001-kd-K5-seed1.result.json'), 'utf8'),
    ) as typeof printed & { wallTimeMs: number };
    expect(written.recipe).toEqual(JSON.parse(await readFile(join(out, names[0]), 'utf8')));
    expect(written.student.accuracy).toBe(printed.student.accuracy);

    // Half done: the tables of what is there, and the missing recipe named.
    const partial = await clab('collect', out);
    expect(partial.code).toBe(0);
    expect(partial.stderr).toContain(
      '1 of 2 recipes have no result yet (left out): 002-kd-K5-seed2.json',
    );

    const second = await clab('run', '--recipe', join(out, names[1]));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('result written to');
    expect((await readdir(out)).sort()).toEqual([
      '001-kd-K5-seed1.json',
      '001-kd-K5-seed1.result.json',
      '002-kd-K5-seed2.json',
      '002-kd-K5-seed2.result.json',
      'recipes.txt',
      'sweep.json',
    ]);

    const collected = await clab('collect', out);
    expect(collected.code).toBe(0);
    expect(collected.stderr).toBe('');
    expect(tables(collected.stdout)).toEqual(tables(sweptTables));
    expect(sweptTables).toMatch(/\| kd \| \d+\.\d\d ± \d+\.\d\d \|/);

    // --json: the same config, rows and runs as clab sweep --json, but for the wall times.
    const asJson = (text: string) => {
      const value = JSON.parse(text) as { runs: { result: { wallTimeMs: number } }[] };
      for (const run of value.runs) run.result.wallTimeMs = 0;
      return value;
    };
    const collectedJson = asJson((await clab('collect', out, '--json')).stdout);
    expect(collectedJson).toEqual({ ...asJson(swept.stdout), missing: [] });

    // Emitting into a directory that holds a sweep already is refused.
    expectOneLineFailure(await clab('sweep', config, '--emit', out), /already holds 5 JSON file/);
  }, 240_000);

  it('refuses options beside --recipe and what only a browser has; clab run prints its recipe', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clab-recipe-'));
    const recipe = {
      format: 'clab-recipe',
      version: 1,
      method: 'kd',
      params: {},
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      student: 'half',
      seed: 1,
      steps: 2,
      testExamples: 50,
      backend: 'wasm',
    };
    const write = async (name: string, value: unknown) => {
      const path = join(dir, name);
      await writeFile(path, JSON.stringify(value));
      return path;
    };
    const good = await write('good.json', recipe);
    expectOneLineFailure(
      await clab('run', '--recipe', good, '--seed', '2'),
      /--seed cannot be given with --recipe: the recipe is the whole run\. Edit the field in /,
    );
    expectOneLineFailure(
      await clab('run', 'kd', '--recipe', good),
      /kd cannot be given with --recipe/,
    );
    expectOneLineFailure(
      await clab('run', '--recipe', await write('upload.json', { ...recipe, teacher: 'upload:9' })),
      /teacher uploaded in a browser .*Replace it with the path of that model's model\.json or \.onnx file/,
    );
    expectOneLineFailure(
      await clab('run', '--recipe', await write('gpu.json', { ...recipe, backend: 'webgpu' })),
      /runs only in a browser\. Set "backend" to "wasm"/,
    );
    expectOneLineFailure(
      await clab('run', '--recipe', await write('bad.json', { ...recipe, seed: 'one' })),
      /bad\.json is not a usable recipe: "seed" must be a whole number ≥ 0 \(got "one"\)/,
    );

    // A recipe outside an emitted sweep runs and prints; nothing is written beside it.
    const run = await clab('run', '--recipe', good, '--json');
    expect(run.code).toBe(0);
    const fromRecipe = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(fromRecipe).toMatchObject({ method: 'kd', seed: 1, steps: 2, recipe });
    expect((await readdir(dir)).filter((f) => f.includes('result'))).toEqual([]);

    // The same run from options prints the same recipe (every parameter spelled out) and result.
    const fromOptions = await clab(
      'run',
      'kd',
      '--teacher',
      'lenet5-mnist',
      '--dataset',
      'mnist',
      '--steps',
      '2',
      '--test-examples',
      '50',
      '--json',
    );
    expect(fromOptions.code).toBe(0);
    const { wallTimeMs: _a, estimationErrors: _e, ...a } = fromRecipe;
    const { wallTimeMs: _b, ...b } = JSON.parse(fromOptions.stdout) as Record<string, unknown>;
    expect(b).toEqual(a);

    // A recipe's schedule is replayed at its steps: the result records the changes it made.
    const schedule = [{ step: 2, params: { learningRate: 0.01, temperature: 2 } }];
    const scheduled = await clab(
      'run',
      '--recipe',
      await write('scheduled.json', { ...recipe, schedule }),
    );
    expect(scheduled.code).toBe(0);
    expect(scheduled.stderr).toMatch(/step 2: learning rate 0\.001 → 0\.01, temperature 4 → 2/);
    const replayed = JSON.parse(
      (await clab('run', '--recipe', join(dir, 'scheduled.json'), '--json')).stdout,
    ) as Record<string, unknown>;
    expect(replayed).toMatchObject({ schedule, recipe: { schedule } });
  }, 180_000);
});
