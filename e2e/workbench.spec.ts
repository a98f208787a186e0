// The page's machinery on the test-only probe method (`?testing`): it streams every event kind
// in a second or two without training, and fails or crashes on request.
import type { Locator, Page } from '@playwright/test';
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
  await expect(page.getByTestId('table-per-layer')).toContainText('conv1');
  await expect(page.getByTestId('embedding-decision-umap')).toHaveAttribute('data-points', '1500');
  await expect(page.getByTestId('curve-roc/fgsm')).toHaveAttribute('data-series', '2');

  const exported = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Export all' }).click(),
  );
  expect(exported.name).toMatch(/^compression-lab-runs-.*\.json$/);
  // Deleting asks first: dismissed, nothing goes; accepted, the run goes.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await page.getByRole('button', { name: 'Delete run' }).click();
  await expect(bench.runItems).toHaveCount(2);
  page.on('dialog', (dialog) => void dialog.accept());
  for (let i = 0; i < 2; i++) await page.getByRole('button', { name: 'Delete run' }).click();
  await expect(bench.runItems).toHaveCount(0);

  await page.getByLabel('Import runs').setInputFiles({
    name: exported.name,
    mimeType: 'application/json',
    buffer: Buffer.from(exported.text),
  });
  await expect(bench.runItems).toHaveCount(2);
  await expect(page.getByTestId('images-samples')).toBeVisible();
  // Nested typed arrays (the embedding's images and gates) come back from the file.
  await expect(page.getByTestId('gates-decision-umap').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('curve-roc/fgsm')).toBeVisible();
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
  test.setTimeout(120_000);
  await bench.open({ testing: true });
  await bench.run({ method: 'probe', backend: 'wasm', steps: 1000, params: { 'Step ms': 50 } });
  // Before its first step the worker loads the teacher and data: on a busy 2-core machine that
  // once took 27 s.
  await expect.poll(() => bench.points('loss'), { timeout: 60_000 }).toBeGreaterThan(10);
  // Streaming runs are saved once a second.
  await page.waitForTimeout(1500);
  // Leaving mid-run asks first.
  const asked = new Promise<string>((resolve) =>
    page.once('dialog', (dialog) => {
      resolve(dialog.type());
      void dialog.accept();
    }),
  );
  await page.reload();
  expect(await asked).toBe('beforeunload');
  await expect(bench.runView).toHaveAttribute('data-status', 'interrupted');
  // Its student as of the first evaluation (step 10) was kept, and downloads.
  await expect(page.getByTestId('checkpoint-note')).toContainText('as of step 10');
  const [zip] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Student as TF.js (.zip)' }).click(),
  );
  expect(zip.suggestedFilename()).toMatch(/^student-.*\.zip$/);
  await expect(page.getByTestId('run-error')).toContainText('Interrupted');
  await expect.poll(() => bench.points('loss')).toBeGreaterThan(10);
});

/**
 * Moves the pointer over the embedding's canvas, row by row from the middle, until the tooltip
 * shows a point other than the first (which is selected already); returns its index.
 */
async function hoverAPoint(page: Page, canvas: Locator, tooltip: Locator): Promise<number> {
  const box = (await canvas.boundingBox())!;
  const middle = box.y + box.height / 2;
  for (let dy = 0; dy < box.height / 2; dy += 6) {
    for (const y of [middle + dy, middle - dy]) {
      for (let x = box.x + 24; x < box.x + box.width - 8; x += 4) {
        await page.mouse.move(x, y);
        if ((await tooltip.count()) && (await tooltip.getAttribute('data-index')) !== '0') {
          return Number(await tooltip.getAttribute('data-index'));
        }
      }
    }
  }
  throw new Error('No point of the embedding found under the pointer');
}

test('the embedding of clean and attacked images, its gate heatmap and the ROC curves', async ({
  bench,
  page,
}) => {
  await page.setViewportSize({ width: 1400, height: 2200 });
  await bench.open({ testing: true });
  const streaming = await bench.watchLongTasks();
  await bench.run({ method: 'probe', backend: 'wasm', steps: 20 });
  expect(await bench.waitForEnd()).toBe('done');

  const embedding = page.getByTestId('embedding-decision-umap');
  await expect(embedding).toHaveAttribute('data-points', '1500');
  await expect(embedding.getByTestId('embedding-classes')).toContainText('digit 0');
  await expect(embedding.getByTestId('embedding-classes')).toContainText('digit 9');
  await expect(embedding.getByTestId('embedding-groups')).toContainText('clean (750');
  await expect(embedding.getByTestId('embedding-groups')).toContainText('FGSM ε=0.15 (750');
  await streaming.report('a probe run streaming, to its embedding of 1,500 images and heatmap');

  const heatmap = page.getByTestId('gates-decision-umap');
  await expect(heatmap).toHaveAttribute('data-point', '0');
  await expect(heatmap).toContainText('Which channels fired for this image');
  await expect(heatmap.getByTestId('gate-row')).toHaveCount(3);
  await expect(heatmap.getByTestId('gate-row').nth(1)).toContainText(/conv2\s*\d+ of 16 ran/);
  await expect(heatmap.locator('.gate.off').first()).toBeVisible();

  const tooltip = page.getByTestId('point-tooltip');
  const hovering = await bench.watchLongTasks();
  const index = await hoverAPoint(page, embedding.locator('canvas'), tooltip);
  await expect(tooltip.locator('canvas.pixel-image')).toBeVisible();
  await expect(tooltip).toContainText(/digit \d/);
  await expect(tooltip).toContainText(/predicted digit \d/);
  await expect(tooltip).toContainText(/clean|FGSM/);
  await page.mouse.down();
  await page.mouse.up();
  await expect(heatmap).toHaveAttribute('data-point', String(index));
  await expect(heatmap.locator('canvas.pixel-image')).toBeVisible();
  await hovering.report('hovering the embedding point by point, then a click');

  const roc = page.getByTestId('curve-roc/fgsm');
  await expect(roc).toHaveAttribute('data-series', '2');
  await expect(roc).toContainText('Telling FGSM images from clean ones');
  await expect(roc.locator('.recharts-legend-item')).toHaveCount(2);
  await expect(roc).toContainText('decision features (AUC 0.889)');
  await expect(roc.locator('.recharts-line')).toHaveCount(2);

  // The tooltip still shows: the picture has every view in its hovered state.
  await expect(tooltip).toBeVisible();
  await page.locator('.charts').screenshot({ path: test.info().outputPath('issue11-views.png') });
});
