// A run's recipe leaves the page, reproduces the run in the CLI (same seed, same wasm backend:
// the same final metrics), and loads back into the form.
import { clabRecipe, finalMetrics, saveForCli, type Result } from './clab';
import { expect, test } from './workbench';

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

  const path = await saveForCli(file.name, file.text);
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
