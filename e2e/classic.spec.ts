// The classic methods' views: the sensitivity scan hands per-layer ratios to magnitude pruning,
// a factorised run's rank slider reads out what each measured rank costs, and the model summary
// says what the compressed student really costs.
import { expect, test } from './workbench';

const LENET = { teacher: 'lenet5-mnist', dataset: 'mnist', backend: 'wasm', testExamples: 500 };

test('the sensitivity chart sets per-layer ratios and hands them to magnitude pruning', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await bench.open();
  await bench.run({ ...LENET, method: 'sensitivity' });
  expect(await bench.waitForEnd()).toBe('done');
  const chart = page.getByTestId('curve-sensitivity');
  // One line per layer of LeNet-5, each from 0 to 90 % of its weights removed.
  await expect(chart).toHaveAttribute('data-series', '5');
  await expect(chart).toHaveAttribute('data-points', '50');
  const ratios = page.getByTestId('sensitivity-ratios');
  await ratios.getByRole('combobox').nth(1).selectOption('0.7');
  await ratios.getByRole('combobox').nth(2).selectOption('0.8');
  await expect(ratios).toContainText('Chosen: conv2=0.7, conv3=0.8.');
  await ratios.getByRole('button', { name: 'Prune with these ratios' }).click();
  await expect(bench.combobox('Method')).toHaveValue('magnitude-prune');
  await expect(bench.field('Per-layer ratios')).toHaveValue('conv2=0.7,conv3=0.8');
  await expect(ratios).toContainText('Magnitude pruning is set up in the Run form');
  await chart.screenshot({ path: test.info().outputPath('sensitivity.png') });
});

test('a factorised run offers a rank slider; the model summary shows the real sizes', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await bench.open();
  await bench.run({
    ...LENET,
    method: 'lowrank-svd',
    steps: 10,
    params: { 'Sweep examples': 100, 'Sweep ranks': 3 },
  });
  expect(await bench.waitForEnd()).toBe('done');
  const explorer = page.getByTestId('rank-explorer');
  const slider = explorer.getByRole('slider');
  const params = explorer.getByTestId('rank-params');
  const atTop = await params.textContent();
  await slider.focus();
  await slider.press('Home');
  // The lowest rank measured costs fewer parameters than the highest.
  await expect(params).not.toHaveText(atTop!);
  await expect(page.getByTestId('curve-singular-values')).toBeVisible();
  const size = page.getByTestId('size-table');
  await expect(size).toContainText('exported file, gzipped');
  await expect(size.getByRole('row', { name: /^parameters/ })).toContainText('61.7k');
  // Latency joins the table once measured, teacher beside student.
  await page.getByTestId('model-summary').getByRole('button', { name: 'Measure latency' }).click();
  await expect(size).toContainText('inference, batch 1 (ms, wasm)', { timeout: 60_000 });
  await page.getByTestId('model-summary').screenshot({
    path: test.info().outputPath('model-summary.png'),
  });
});
