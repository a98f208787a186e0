// Dynamic channel pruning and pruning from scratch in the page, trained for real in the worker
// (WASM) on tiny budgets: the decision features' UMAP with clean and attacked images, the gate
// heatmap of a chosen image, the detectors' ROC curves; a physically pruned student.
import { expect, test } from './workbench';

test('a dynamic-pruning run maps its decisions, marks the attacked inputs and shows a chosen image’s gates', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  await bench.run({
    teacher: 'bnnet-mnist',
    dataset: 'mnist',
    method: 'dynamic-prune',
    backend: 'wasm',
    steps: 8,
    params: {
      Actions: 4,
      'Batch size': 32,
      'Fine tune steps': 2,
      'Eval every': 4,
      'Analysis examples': 30,
      'PGD steps': 2,
    },
  });
  expect(await bench.waitForEnd(200_000)).toBe('done');
  // 30 clean images and their FGSM and PGD versions.
  const map = page.getByTestId('embedding-decision-umap');
  await expect(map).toHaveAttribute('data-points', '90');
  await expect(page.getByTestId('embedding-groups')).toContainText('FGSM');
  await expect(page.getByTestId('embedding-groups')).toContainText('PGD');
  // The canvas takes its axis and frame colours from the theme: it redraws when it changes.
  const pixels = () => map.locator('canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const light = await pixels();
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect.poll(pixels).not.toBe(light);
  const dark = await pixels();
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect.poll(pixels).not.toBe(dark);
  // Four decision units: conv2…conv5.
  await expect(page.getByTestId('gate-row')).toHaveCount(4);
  await expect(page.getByTestId('curve-roc/fgsm')).toBeVisible();
  await expect(page.getByTestId('curve-roc/pgd')).toBeVisible();
  // Both detectors on both feature sets, in the AUC table.
  for (const detector of ['logistic regression', 'random forest']) {
    await expect(page.getByText(`AUC, ${detector} on decision features`)).toBeVisible();
    await expect(page.getByText(`AUC, ${detector} on softmax outputs`)).toBeVisible();
  }
  await expect(page.getByTestId('layers-flops-per-class')).toHaveAttribute('data-points', '10');
});

test('pruning from scratch trains a physically smaller student within its FLOPs budget', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await bench.open();
  await bench.run({
    teacher: 'bnnet-mnist',
    dataset: 'mnist',
    method: 'prune-from-scratch',
    backend: 'wasm',
    steps: 10,
    params: { 'Gate steps': 5, 'Batch size': 32 },
  });
  expect(await bench.waitForEnd()).toBe('done');
  await expect(page.getByTestId('layers-kept-channels')).toHaveAttribute('data-points', '5');
  await expect(page.getByText('Kept', { exact: false }).first()).toBeVisible();
  await expect(page.getByTestId('model-summary')).toContainText('conv5');
});
