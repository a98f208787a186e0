// DAFL in the page, trained for real in the worker (WASM) on a tiny budget: the generator's
// samples labelled by the teacher, the per-class means, the class histogram and every loss term.
import { expect, test, type Workbench } from './workbench';

/** The page with DeepInversion on the BN-VGG teacher, its ADI preset chosen. */
async function openAdi(bench: Workbench): Promise<void> {
  await bench.open();
  await bench.configure({
    teacher: 'bnnet-mnist',
    dataset: 'mnist',
    method: 'deepinversion',
    backend: 'wasm',
  });
  await bench.combobox('Preset').selectOption('adi');
}

test('a DAFL run shows the generated samples, their classes and each loss term; real data only for the test accuracy', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await bench.open();
  await bench.run({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'dafl',
    backend: 'wasm',
    steps: 6,
    params: { 'Generator width': 8, 'Batch size': 32, 'Eval every': 3 },
  });
  expect(await bench.waitForEnd()).toBe('done');
  // The page is cross-origin isolated: our convolution kernels run on every core there, XNNPACK
  // on the stock one thread per two cores (faster in the page than on every core); Chromium
  // has relaxed SIMD, so the kernels are the build with fused multiply-adds.
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const xnnpack = Math.max(1, Math.floor(cores / 2));
  await expect(bench.runView).toContainText(
    `SIMD, ${xnnpack} thread${xnnpack === 1 ? '' : 's'} of ${cores} logical cores; ` +
      `our convolution kernels on ${cores} thread${cores === 1 ? '' : 's'}, fused multiply-adds`,
  );
  const samples = page.getByTestId('images-samples');
  await expect(samples).toHaveAttribute('data-count', '32');
  await expect(samples.getByText('Generated samples')).toBeVisible();
  // Each sample carries the teacher's class and confidence ("7 93%").
  await expect(samples.getByRole('img')).toHaveAttribute('aria-label', /: \d \d+%, /);
  await expect(page.getByTestId('images-class-means')).toHaveAttribute('data-count', '10');
  await expect(page.getByTestId('layers-teacher-classes')).toHaveAttribute('data-points', '10');
  const losses = page.getByTestId('chart-loss');
  for (const term of ['oneHot', 'activation', 'entropy', 'generator', 'kd']) {
    await expect(losses.getByText(`loss/${term}`, { exact: true })).toBeVisible();
  }
  await expect(page.getByTestId('chart-accuracy')).toContainText('touch real data only here');
  await expect(page.getByTestId('chart-class-entropy')).toContainText('entropy (bits)');
});

test('a stopped DAFL run resumes from its checkpoint, generator included, and finishes', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  await bench.run({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'dafl',
    backend: 'wasm',
    steps: 60,
    params: { 'Generator width': 8, 'Batch size': 32, 'Student steps': 1, 'Eval every': 3 },
  });
  await expect(page.getByTestId('checkpoint-note')).toContainText('as of step 3', {
    timeout: 120_000,
  });
  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');
  await expect(page.getByTestId('checkpoint-note')).toContainText('where it stopped');
  await page.getByRole('button', { name: /^Resume from step/ }).click();
  expect(await bench.waitForEnd()).toBe('done');
  await expect(bench.runView).toContainText(/Resumed from the checkpoint at step \d+/);
  await bench.runView.screenshot({ path: test.info().outputPath('resumed-dafl-run.png') });
});

test('an ADI run, chosen by its preset, grows a pool of synthesised images and shows it', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  await openAdi(bench);
  await expect(bench.field('Competition weight')).toHaveValue('10');
  await bench.run({
    steps: 4,
    params: { 'Batch size': 10, 'Synthesis steps': 3, 'KD steps per round': 2, 'Eval every': 2 },
  });
  expect(await bench.waitForEnd()).toBe('done');
  // Two rounds of 10 images: the pool view draws from all 20.
  await expect(page.getByTestId('images-pool')).toHaveAttribute('data-count', '20');
  await expect(page.getByTestId('images-newest-batch')).toHaveAttribute('data-count', '10');
  const losses = page.getByTestId('chart-loss');
  for (const term of ['ce', 'feature', 'competition', 'synthesis', 'kd']) {
    await expect(losses.getByText(`loss/${term}`, { exact: true })).toBeVisible();
  }
  await expect(page.getByTestId('chart-prior')).toContainText('Image priors');
});

test('a stopped ADI run resumes with its pool of synthesised images and finishes', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await openAdi(bench);
  await bench.run({
    steps: 20,
    params: { 'Batch size': 10, 'Synthesis steps': 3, 'KD steps per round': 2, 'Eval every': 2 },
  });
  // A checkpoint past step 0: the pool then holds the rounds synthesised before it.
  await expect(page.getByTestId('checkpoint-note')).toContainText(/as of step [1-9]/, {
    timeout: 120_000,
  });
  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');
  await page.getByRole('button', { name: /^Resume from step [1-9]/ }).click();
  expect(await bench.waitForEnd()).toBe('done');
  await expect(bench.runView).toContainText(/Resumed from the checkpoint at step [1-9]/);
  await expect(bench.runView).toContainText('pool of synthesised images');
  // Ten rounds of 10 images, those before the checkpoint restored: 100 in all (64 shown).
  await expect(page.getByTestId('images-pool')).toHaveAttribute('data-count', '64');
  await expect(bench.runView).toContainText(/synthesised images\s*100/);
});
