// Three methods on one teacher, ticked in the run list and compared side by side.
import { expect, test } from './workbench';

test('ticked runs are compared: final metrics, latency, accuracy against cost, overlaid curves, grouped layers', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  const common = { teacher: 'lenet5-mnist', dataset: 'mnist', backend: 'wasm', testExamples: 1000 };
  const fewShot = { 'Iters per layer': 20, 'Fine tune steps': 5 };
  await bench.run({ ...common, method: 'layerwise', params: fewShot });
  expect(await bench.waitForEnd()).toBe('done');
  await bench.run({ ...common, method: 'cross-distillation', params: fewShot });
  expect(await bench.waitForEnd()).toBe('done');
  await bench.run({ ...common, method: 'kd', steps: 40 });
  expect(await bench.waitForEnd()).toBe('done');

  const ticks = page.getByRole('checkbox', { name: /^Compare:/ });
  await expect(ticks).toHaveCount(3);
  await ticks.nth(0).check();
  const compare = page.getByRole('button', { name: /^Compare \d runs$/ });
  await expect(compare).toBeDisabled();
  await ticks.nth(1).check();
  // Shift-click on a run ticks it too.
  await bench.runItems.nth(2).click({ modifiers: ['Shift'] });
  await expect(ticks.nth(2)).toBeChecked();
  await compare.click();

  const view = page.getByTestId('comparison-view');
  await expect(view).toBeVisible();
  await expect(view.getByTestId('compare-row')).toHaveCount(3);
  await expect(view.getByTestId('compare-table')).toContainText('Cross Distillation');
  await expect(view.getByTestId('compare-pareto')).toHaveAttribute('data-points', '3');
  await expect(view.getByTestId('compare-mismatch')).toHaveCount(0);
  // Layer-wise and Cross Distillation both report per-layer estimation errors.
  await expect(view.locator('[data-testid^="compare-layers-"]').first()).toBeVisible();
  // Titled in words, as in a run's own view, not by their keys.
  const heldOut = view.getByTestId('compare-layers-estimation-error/hidden/held-out');
  await expect(heldOut).toContainText(
    'Estimation error per layer (hidden representation), on held-out test images',
  );
  await expect(heldOut).toContainText('after the layers were fitted');
  const titles = await view.locator('[data-testid^="compare-layers-"] strong').allTextContents();
  expect(titles.length).toBeGreaterThan(1);
  expect(titles.filter((t) => t.includes('/'))).toEqual([]);
  await expect(view.locator('[data-testid^="compare-accuracy"]').first()).toBeVisible();
  // Inference latency of the three students (and the teacher) on WASM: a column per measure,
  // a number in every row, and latency becomes a cost of the scatter.
  const costSelect = view.getByRole('combobox', { name: 'Cost' });
  await expect(costSelect.locator('option', { hasText: 'latency' })).toBeDisabled();
  await view.getByRole('button', { name: 'Measure latency' }).click();
  const table = view.getByTestId('compare-table');
  await expect(table.getByRole('columnheader', { name: 'ms, batch 1 (wasm)' })).toBeVisible({
    timeout: 30_000,
  });
  await expect(
    table.getByRole('columnheader', { name: 'ms/image, batch 64 (wasm)' }),
  ).toBeVisible();
  for (const measure of ['batch1Ms', 'perImageMs']) {
    const cells = table.getByTestId(`latency-wasm-${measure}`);
    await expect(cells).toHaveCount(3);
    for (const text of await cells.allInnerTexts()) {
      expect(text).toMatch(/^\d+(\.\d+)?(e-\d+)?\s+teacher \d+(\.\d+)?(e-\d+)?$/);
      expect(Number(text.split(/\s/)[0])).toBeGreaterThan(0);
    }
  }
  await costSelect.selectOption({ label: 'latency (ms, batch 1, wasm)' });
  const pareto = view.getByTestId('compare-pareto');
  await expect(pareto).toHaveAttribute('data-points', '3');
  await expect(pareto).toContainText('latency (ms, batch 1, wasm)');
  await expect(pareto.locator('.recharts-scatter-symbol')).toHaveCount(3);
  await page.setViewportSize({ width: 1600, height: 1100 });
  // The latency columns are the table's last: scrolled into view for the picture.
  await table.locator('.table-scroll').evaluate((el) => (el.scrollLeft = el.scrollWidth));
  await table.screenshot({ path: '/tmp/shots/compare-latency-table.png' });
  await pareto.screenshot({ path: '/tmp/shots/compare-latency-pareto.png' });

  // What compression changed for the Cross Distillation student, against the teacher.
  const changes = view.getByTestId('prediction-changes');
  await changes
    .getByRole('combobox', { name: 'Run' })
    .selectOption({ label: 'Cross Distillation · seed 1' });
  await changes.getByRole('button', { name: 'Compare with the teacher' }).click();
  await expect(view.getByTestId('prediction-changes-summary')).toContainText(
    /On 1000 test images the student flipped \d+/,
    { timeout: 30_000 },
  );
  await expect(view.getByTestId('confusion-difference').locator('tbody tr')).toHaveCount(10);
  await page.setViewportSize({ width: 1600, height: 1100 });
  await page.screenshot({ path: '/tmp/shots/compare.png', fullPage: true });
  await changes.screenshot({ path: '/tmp/shots/compare-changes.png' });
  await view
    .locator('[data-testid^="compare-layers-"]')
    .first()
    .screenshot({ path: '/tmp/shots/compare-layers.png' });

  // Choosing a run leaves the comparison; the button brings it back.
  await bench.runItems.first().click();
  await expect(bench.runView).toBeVisible();
  await compare.click();
  await expect(view).toBeVisible();
});
