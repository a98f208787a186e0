// A run's recipe leaves the page, reproduces the run in the CLI (same seed, same wasm backend:
// the same final metrics), and loads back into the form.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './workbench';

interface Result {
  method: string;
  seed: number;
  steps: number;
  dataset: string;
  backend: string;
  status: string;
  teacher: { name: string; accuracy: number; params: number; flops: number; bytes: number };
  student: { name: string; accuracy: number; params: number; flops: number; bytes: number };
  compressionRatio: number;
  metrics: Record<string, number>;
}

/** `clab run --recipe FILE --json` in Node, as a user would run the downloaded file. */
function clabRecipe(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/clab.mjs', 'run', '--recipe', path, '--json'],
      { timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** What must agree between the page's run and the CLI's: the RunResult but its wall time. */
const finalMetrics = ({
  wallTimeMs: _t,
  recipe: _r,
  estimationErrors: _e,
  ...r
}: Result & { wallTimeMs: number; recipe?: unknown; estimationErrors?: unknown }) => r;

test('a recipe from the page reproduces the run in the CLI and loads back into the form', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  await bench.run({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'kd',
    student: 'half',
    backend: 'wasm',
    seed: 7,
    steps: 60,
    testExamples: 300,
  });
  expect(await bench.waitForEnd()).toBe('done');

  const report = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Run report' }).click(),
  );
  const { result, recipe: reported } = JSON.parse(report.text) as {
    result: Result & { wallTimeMs: number };
    recipe: unknown;
  };
  const file = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Recipe (.json)' }).click(),
  );
  expect(file.name).toMatch(/^recipe-kd-.*\.json$/);
  const recipe = JSON.parse(file.text) as Record<string, unknown>;
  expect(recipe).toEqual(reported);
  expect(recipe).toMatchObject({
    format: 'clab-recipe',
    version: 1,
    method: 'kd',
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    student: 'half',
    seed: 7,
    steps: 60,
    testExamples: 300,
    backend: 'wasm',
  });

  const dir = await mkdtemp(join(tmpdir(), 'clab-page-recipe-'));
  const path = join(dir, file.name);
  await writeFile(path, file.text);
  const cli = await clabRecipe(path);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  const fromCli = JSON.parse(cli.stdout) as Result & { wallTimeMs: number; recipe: unknown };
  expect(fromCli.recipe).toEqual(recipe);
  // Exactly equal, not close: the same seed on the same backend and kernels is the same run.
  expect(finalMetrics(fromCli)).toEqual(finalMetrics(result));
  console.log(
    `[recipe] page and CLI: student accuracy ${result.student.accuracy} / ${fromCli.student.accuracy}`,
  );

  // Into the form: change the draft, load the recipe, and the form shows the recipe again.
  await bench.configure({ seed: 1, steps: 99, testExamples: 0 });
  const loader = page.locator('label', { hasText: 'Load recipe…' }).locator('input[type=file]');
  await loader.setInputFiles(path);
  await expect(page.getByTestId('recipe-load-message')).toHaveText(`Loaded ${file.name}.`);
  await expect(bench.field('Seed')).toHaveValue('7');
  await expect(bench.field('Steps')).toHaveValue('60');
  await expect(bench.field('Test examples')).toHaveValue('300');
  await expect(bench.combobox('Backend')).toHaveValue('wasm');

  // A broken one is refused with the field and its fix, and leaves the form as it was.
  await loader.setInputFiles({
    name: 'broken.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify({ ...recipe, seed: -2, dataset: 'cifar' })),
  });
  await expect(page.getByTestId('recipe-load-message')).toContainText(
    'broken.json is not a usable recipe: "dataset" must be one of mnist, fashion (got "cifar"); "seed" must be a whole number ≥ 0 (got -2)',
  );
  await expect(bench.field('Seed')).toHaveValue('7');
});
