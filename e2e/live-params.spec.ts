// Live parameters: a KD run on WASM is paused, its learning rate changed in the run view,
// resumed; the change is marked on the charts at the step it took effect and its recipe
// carries it as a schedule.
import { readFile } from 'node:fs/promises';
import { clabRecipe, finalMetrics, saveForCli, type Result } from './clab';
import { expect, test } from './workbench';

test('a paused KD run takes a new learning rate, marks it on the charts and in its recipe', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await bench.open();
  await bench.run({ backend: 'wasm', steps: 5000, params: { 'Eval every': 50 } });
  const live = page.getByTestId('live-params');
  await expect(live).toContainText(
    'Only temperature, alpha, learning rate can change while the run goes on',
  );
  await expect.poll(() => bench.points('loss'), { timeout: 60_000 }).toBeGreaterThan(0);

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(bench.runView).toHaveAttribute('data-status', 'paused');
  // Not live: no field for it here, it stays as the run started.
  await expect(live.getByLabel('Batch size', { exact: true })).toHaveCount(0);
  const rate = live.getByLabel('Learning rate', { exact: true });
  await expect(rate).toHaveValue('0.001');
  await rate.fill('2');
  await expect(live).toContainText('Learning rate must be between 0.000001 and 1');
  await expect(live.getByRole('button', { name: 'Apply' })).toBeDisabled();
  await rate.fill('0.0001');
  await live.getByRole('button', { name: 'Apply' }).click();
  await expect(live.getByRole('status')).toContainText('at its next step');

  await page.getByRole('button', { name: 'Resume' }).click();
  const marker = 'learning rate 0.001 → 0.0001';
  // The marker shows once the curves pass the step the change took effect at.
  await expect(bench.chart('loss')).toContainText(marker, { timeout: 60_000 });
  await expect(bench.chart('accuracy')).toContainText(marker, { timeout: 60_000 });
  await expect(rate).toHaveValue('0.0001');
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(bench.runView).toHaveAttribute('data-status', 'paused');
  await bench.runView.screenshot({ path: test.info().outputPath('live-params.png') });
  const check = await bench.axe('a paused KD run with its live parameters');
  expect(check.violations.length, check.summary).toBe(0);

  const [download] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Recipe (.json)' }).click(),
  );
  const recipe = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
    params: Record<string, unknown>;
    schedule: { step: number; params: Record<string, unknown> }[];
  };
  expect(recipe.params.learningRate).toBe(0.001);
  expect(recipe.schedule).toHaveLength(1);
  expect(recipe.schedule[0].params).toEqual({ learningRate: 0.0001 });
  expect(recipe.schedule[0].step).toBeGreaterThan(0);

  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');
  // Over, so nothing can change any more.
  await expect(live).toHaveCount(0);
});

test('the recipe of a run whose learning rate changed mid-way reproduces it in the CLI', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  await bench.run({ backend: 'wasm', seed: 7, steps: 300, testExamples: 300 });
  await expect.poll(() => bench.points('loss'), { timeout: 60_000 }).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(bench.runView).toHaveAttribute('data-status', 'paused');
  const live = page.getByTestId('live-params');
  await live.getByLabel('Learning rate', { exact: true }).fill('0.005');
  await live.getByLabel('Temperature', { exact: true }).fill('2');
  await live.getByRole('button', { name: 'Apply' }).click();
  await page.getByRole('button', { name: 'Resume' }).click();
  expect(await bench.waitForEnd()).toBe('done');
  await expect(bench.chart('loss')).toContainText('learning rate 0.001 → 0.005, temperature 4 → 2');

  const report = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Run report' }).click(),
  );
  const { result } = JSON.parse(report.text) as { result: Result & { wallTimeMs: number } };
  const file = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Recipe (.json)' }).click(),
  );
  const recipe = JSON.parse(file.text) as {
    schedule: { step: number; params: Record<string, unknown> }[];
  };
  expect(recipe.schedule).toHaveLength(1);
  expect(recipe.schedule[0].params).toEqual({ learningRate: 0.005, temperature: 2 });
  const cli = await clabRecipe(await saveForCli(file.name, file.text));
  expect(cli.code).toBe(0);
  const fromCli = JSON.parse(cli.stdout) as Result & { wallTimeMs: number; schedule: unknown };
  expect(fromCli.schedule).toEqual(recipe.schedule);
  // Exactly equal: the change made at the same step of the same run.
  expect(finalMetrics(fromCli)).toEqual(finalMetrics(result));
  console.log(
    `[live params] changed at step ${JSON.stringify(recipe.schedule)}; page and CLI: student accuracy ${result.student.accuracy} / ${fromCli.student.accuracy}`,
  );
});
