// Live parameters: a KD run on WASM is paused, its learning rate changed in the run view,
// resumed; the change is marked on the charts at the step it took effect and its recipe
// carries it as a schedule.
import { readFile } from 'node:fs/promises';
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
