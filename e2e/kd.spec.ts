// Hinton KD of LeNet-5 into its half on MNIST, trained for real in the worker (WASM).
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { expect, test } from './workbench';

test('KD streams live charts without long tasks, downloads the student, survives a reload', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  // The run worker stores the student in IndexedDB itself: the page's main thread writes none.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    const counted = window as unknown as { studentPuts: number };
    counted.studentPuts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args) {
      if (this.name === 'students') counted.studentPuts++;
      return put.apply(this, args);
    };
  });
  await bench.open();
  await bench.configure({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'kd',
    student: 'half',
    backend: 'wasm',
    steps: 75,
  });
  const longTasks = await bench.watchLongTasks();
  await bench.runButton.click();
  await expect.poll(() => bench.points('loss'), { timeout: 60_000 }).toBeGreaterThan(0);
  expect(await bench.waitForEnd()).toBe('done');
  await longTasks.report('a 75-step KD run streaming');
  expect(
    await page.evaluate(() => (window as unknown as { studentPuts: number }).studentPuts),
  ).toBe(0);

  // Losses (total, soft, hard) are read at steps 25, 50 and 75.
  await expect(bench.chart('loss')).toHaveAttribute('data-points', '9');
  // And drawn: a line through three points per series, a legend naming them, ticks on both axes.
  const lines = bench.chart('loss').locator('svg path');
  await expect(lines).toHaveCount(3);
  for (const line of await lines.all()) {
    await expect(line).toHaveAttribute('d', /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){2}$/);
  }
  await expect(bench.chart('loss').locator('.plot-legend li')).toHaveText([
    'loss',
    'loss/hard',
    'loss/soft',
  ]);
  await expect(bench.chart('loss').locator('.plot-axis text')).not.toHaveCount(0);
  // Accuracy before the first step and after the last (evalEvery 250 > 75 steps).
  await expect(bench.chart('accuracy')).toHaveAttribute('data-points', '2');
  await expect(page.getByTestId('result')).toContainText('student accuracy');
  await expect(page.getByTestId('backend')).toContainText('Backend wasm');
  await expect(page.getByTestId('model-summary')).toContainText('conv1');
  await expect(page.getByTestId('compression-ratio')).toHaveText(/^\d+\.\d\d×$/);

  const [zip] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Student as TF.js (.zip)' }).click(),
  );
  expect(zip.suggestedFilename()).toMatch(/^student-.*\.zip$/);
  const files = unzipSync(new Uint8Array(await readFile((await zip.path())!)));
  const model = JSON.parse(new TextDecoder().decode(files['model.json'])) as {
    modelTopology: unknown;
    weightsManifest: { paths: string[] }[];
  };
  expect(model.modelTopology).toBeTruthy();
  expect(Object.keys(files)).toEqual(['model.json', ...model.weightsManifest[0].paths]);

  await page.reload();
  await expect(bench.runItems).toHaveCount(1);
  await expect(bench.runItems.first()).toHaveAttribute('data-status', 'done');
  await expect(bench.runView).toHaveAttribute('data-status', 'done');
  await expect(bench.chart('loss')).toHaveAttribute('data-points', '9');
  await expect(page.getByTestId('model-summary')).toBeVisible();
});

test('a run pauses, resumes and stops mid-way, and keeps its student', async ({ bench, page }) => {
  test.setTimeout(120_000);
  await bench.open();
  const longTasks = await bench.watchLongTasks();
  await bench.run({ backend: 'wasm', steps: 5000 });
  await expect.poll(() => bench.points('loss'), { timeout: 60_000 }).toBeGreaterThan(0);

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(bench.runView).toHaveAttribute('data-status', 'paused');
  // A batch already under way may still land; after that, nothing moves.
  await page.waitForTimeout(1000);
  const paused = await bench.points('loss');
  await page.waitForTimeout(1500);
  expect(await bench.points('loss')).toBe(paused);

  // Step mode: on to the next reported step, its loss terms shown, then paused again.
  await page.getByRole('button', { name: 'Step', exact: true }).click();
  await expect.poll(() => bench.points('loss'), { timeout: 30_000 }).toBeGreaterThan(paused);
  const stepped = await bench.points('loss');
  await expect(page.getByTestId('step-terms')).toContainText(
    /Paused at step \d+: loss [\d.e+-]+ · loss\/soft [\d.e+-]+ · loss\/hard/,
  );
  await page.waitForTimeout(1000);
  expect(await bench.points('loss')).toBe(stepped);
  await expect(bench.runView).toHaveAttribute('data-status', 'paused');
  // While stepping every step reports: one more Step is exactly one optimiser step.
  const pausedAt = async () =>
    Number((await page.getByTestId('step-terms').textContent())!.match(/step (\d+)/)![1]);
  const before = await pausedAt();
  await page.getByRole('button', { name: 'Step', exact: true }).click();
  await expect.poll(pausedAt, { timeout: 30_000 }).toBe(before + 1);
  await page.waitForTimeout(1000);
  expect(await pausedAt()).toBe(before + 1);

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(bench.runView).toHaveAttribute('data-status', 'running');
  await expect.poll(() => bench.points('loss'), { timeout: 30_000 }).toBeGreaterThan(stepped);

  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');
  await longTasks.report('KD streaming, paused, resumed and stopped');
  await expect(page.getByTestId('result')).toContainText('student accuracy');
  await expect(page.getByRole('button', { name: 'Student as TF.js (.zip)' })).toBeVisible();
});

test('a KD run cut off by a reload resumes from its checkpoint and finishes, its curves going on', async ({
  bench,
  page,
}) => {
  test.setTimeout(300_000);
  await bench.open();
  await bench.run({
    teacher: 'lenet5-mnist',
    method: 'kd',
    student: 'half',
    backend: 'wasm',
    steps: 600,
    testExamples: 1000,
    params: { 'Eval every': 100 },
  });
  // The first evaluation after step 0 is checkpointed at once.
  await expect(page.getByTestId('checkpoint-note')).toContainText(/as of step [1-9]\d*/, {
    timeout: 120_000,
  });
  // Streaming runs are saved once a second: let the steps after the checkpoint be saved too.
  await page.waitForTimeout(1500);
  page.once('dialog', (dialog) => void dialog.accept());
  await page.reload();
  await expect(bench.runView).toHaveAttribute('data-status', 'interrupted');

  const resume = page.getByRole('button', { name: /^Resume from step \d+$/ });
  const from = Number((await resume.textContent())!.match(/\d+/)![0]);
  expect(from % 100).toBe(0);
  await expect(page.getByTestId('resume-note')).toContainText(`for the ${600 - from} steps left`);
  await expect(page.getByTestId('resume-note')).toContainText(
    "not the optimisers' moments, which restart",
  );
  await bench.runView.screenshot({ path: test.info().outputPath('interrupted-kd-run.png') });
  await resume.click();
  expect(await bench.waitForEnd(240_000)).toBe('done');

  // One curve from step 0 to 600: accuracy at 0, 100, …, 600 and the losses (total, soft, hard)
  // every 25 steps, none twice although the cut-off attempt had streamed past the checkpoint.
  await expect(bench.chart('accuracy')).toHaveAttribute('data-points', '7');
  await expect(bench.chart('loss')).toHaveAttribute('data-points', String(3 * 24));
  await expect(bench.chart('accuracy')).toContainText('@ step 600');
  await expect(bench.chart('accuracy')).toContainText(`resumed from step ${from}`);
  await expect(page.getByTestId('result')).toContainText(
    new RegExp(`resumed from\\s*step ${from}`),
  );
  await page.getByTestId('chart-accuracy').scrollIntoViewIfNeeded();
  await bench.runView.screenshot({ path: test.info().outputPath('resumed-kd-run.png') });

  const report = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Run report' }).click(),
  );
  const parsed = JSON.parse(report.text) as {
    resumed: { fromStep: number; note: string };
    result: { resumedFrom: number; status: string };
  };
  expect(parsed.resumed.fromStep).toBe(from);
  expect(parsed.resumed.note).toContain('cannot be reproduced bit for bit');
  expect(parsed.result).toMatchObject({ resumedFrom: from, status: 'done' });
});
