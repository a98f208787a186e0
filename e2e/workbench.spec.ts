// The page's machinery on the test-only probe method (`?testing`): it streams every event kind
// in a second or two without training, and fails or crashes on request.
import { expect, test } from './workbench';

test('every event kind is drawn, runs queue, and export → import round-trips', async ({
  bench,
  page,
}) => {
  test.setTimeout(120_000);
  await bench.open({ testing: true });
  await bench.configure({ method: 'probe', backend: 'wasm', steps: 60 });
  await bench.runButton.click();
  await bench.runButton.click();
  await expect(bench.runItems).toHaveCount(2);
  // One worker runs one run at a time: the second waits in the queue.
  await expect(bench.runItems.nth(0)).toHaveAttribute('data-status', 'queued');
  await expect(bench.runItems.nth(0)).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(bench.runItems.nth(1)).toHaveAttribute('data-status', 'done');

  await expect(bench.chart('loss')).toHaveAttribute('data-points', '120');
  await expect(page.getByTestId('layers-kernel-norm')).toHaveAttribute('data-points', '5');
  await expect(page.getByTestId('images-samples')).toHaveAttribute('data-count', '16');
  await expect(page.getByTestId('embedding-ink')).toHaveAttribute('data-points', '300');
  await expect(page.getByTestId('table-per-layer')).toContainText('conv1');

  const exported = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Export all' }).click(),
  );
  expect(exported.name).toMatch(/^compression-lab-runs-.*\.json$/);
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Delete run' }).click();
  await expect(bench.runItems).toHaveCount(0);

  await page.getByLabel('Import runs').setInputFiles({
    name: exported.name,
    mimeType: 'application/json',
    buffer: Buffer.from(exported.text),
  });
  await expect(bench.runItems).toHaveCount(2);
  await expect(page.getByTestId('images-samples')).toBeVisible();
  await page.reload();
  await expect(bench.runItems).toHaveCount(2);
  const again = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Export all' }).click(),
  );
  expect(JSON.parse(again.text).runs).toEqual(JSON.parse(exported.text).runs);
});

test('a diverging run and a crashing worker fail with their reasons; the page goes on', async ({
  bench,
  page,
}) => {
  test.setTimeout(120_000);
  await bench.open({ testing: true });
  await bench.run({ method: 'probe', backend: 'wasm', steps: 40, params: { 'Fail at step': 15 } });
  expect(await bench.waitForEnd()).toBe('failed');
  const error = page.getByTestId('run-error');
  await expect(error).toContainText('loss total is NaN at step 15: the run diverged');
  await expect(error).toContainText('Lower the learning rate');
  // What streamed before the failure is kept.
  await expect.poll(() => bench.points('loss')).toBeGreaterThan(0);

  await bench.run({ params: { 'Fail at step': 0, 'Crash at step': 10 } });
  expect(await bench.waitForEnd()).toBe('failed');
  await expect(error).toContainText('The run worker crashed');

  // The respawned worker takes the next run.
  await bench.run({ params: { 'Crash at step': 0 } });
  expect(await bench.waitForEnd()).toBe('done');
});

test('a run cut off by a reload shows as interrupted, with what it had streamed', async ({
  bench,
  page,
}) => {
  await bench.open({ testing: true });
  await bench.run({ method: 'probe', backend: 'wasm', steps: 1000, params: { 'Step ms': 50 } });
  await expect.poll(() => bench.points('loss'), { timeout: 30_000 }).toBeGreaterThan(10);
  // Streaming runs are saved once a second.
  await page.waitForTimeout(1500);
  await page.reload();
  await expect(bench.runView).toHaveAttribute('data-status', 'interrupted');
  await expect(page.getByTestId('run-error')).toContainText('Interrupted');
  await expect.poll(() => bench.points('loss')).toBeGreaterThan(10);
});
