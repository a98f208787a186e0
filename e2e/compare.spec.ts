// Three methods on one teacher, ticked in the run list and compared side by side.
import { expect, test } from './workbench';

test('ticked runs are compared: final metrics, accuracy against cost, overlaid curves, grouped layers', async ({
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
  await expect(view.locator('[data-testid^="compare-accuracy"]').first()).toBeVisible();
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
