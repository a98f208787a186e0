// Accessibility: axe-core's WCAG 2.1 A/AA rules find nothing in any state of the page — just
// opened, a run streaming, runs done (every chart kind, from the test-only probe method), stopped
// and failed, the Sweep tab and a finished sweep, the comparison of two runs and an uploaded
// teacher — each in the light and the dark theme.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Workbench } from './workbench';

const RAW_LENET = 'src/core/io/fixtures/tfjs-raw-lenet5';

/** Checks the page as it is in both themes (soft, so one run lists every state's violations). */
async function checkBothThemes(bench: Workbench, state: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await bench.setTheme(theme);
    const check = await bench.axe(`${state}, ${theme}`);
    expect.soft(check.violations.length, check.summary).toBe(0);
  }
}

test('no axe violations: opened, running, stopped, done, failed, sweep, comparison, uploaded teacher', async ({
  bench,
  page,
}) => {
  test.setTimeout(300_000);
  await page.emulateMedia({ colorScheme: 'light' });
  await bench.open({ testing: true });
  await checkBothThemes(bench, 'opened');

  // A probe run streaming (it sleeps 20 ms a step), then stopped.
  await bench.run({ method: 'probe', backend: 'wasm', steps: 3000, params: { 'Step ms': 20 } });
  await expect.poll(() => bench.points('loss'), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect(bench.runView).toHaveAttribute('data-status', 'running');
  await checkBothThemes(bench, 'running');
  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');

  // Probe runs done: every event kind drawn (lines, bars, images, table, embedding, ROC).
  await bench.run({ steps: 60, params: { 'Step ms': 0 } });
  expect(await bench.waitForEnd()).toBe('done');
  await expect(page.getByTestId('embedding-decision-umap')).toHaveAttribute('data-points', '1500');
  // With every chart's data table (the screen-reader alternative) unfolded.
  const tables = page.locator('summary', { hasText: /^Data table$/ });
  expect(await tables.count()).toBeGreaterThan(0);
  for (const summary of await tables.all()) await summary.click();
  await checkBothThemes(bench, 'done, data tables open');

  await bench.run({ steps: 40, params: { 'Fail at step': 15 } });
  expect(await bench.waitForEnd()).toBe('failed');
  await checkBothThemes(bench, 'failed');

  // Two runs compared.
  const ticks = page.getByRole('checkbox', { name: /^Compare:/ });
  await ticks.nth(0).check();
  await ticks.nth(1).check();
  await page.getByRole('button', { name: /^Compare \d runs$/ }).click();
  await expect(page.getByTestId('comparison-view')).toBeVisible();
  await checkBothThemes(bench, 'comparison');

  // The Sweep tab, then a two-run probe sweep to its view.
  await bench.configure({ params: { 'Fail at step': 0 } });
  await bench.openSweep();
  await bench.configureSweep({ methods: ['probe'], shots: '1', seeds: '1-2' });
  await expect(bench.sweepPlan).toHaveAttribute('data-runs', '2');
  await checkBothThemes(bench, 'sweep tab');
  await bench.startSweepButton.click();
  await expect(bench.sweepView).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await page.getByRole('button', { name: '2 runs', exact: true }).click();
  await checkBothThemes(bench, 'sweep done, its runs shown in the rail');

  // An uploaded teacher's view.
  const files = (await readdir(RAW_LENET)).map((f) => join(RAW_LENET, f));
  await page.getByLabel('Upload teacher files').setInputFiles(files);
  await expect(page.getByTestId('teacher-view')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('teacher-accuracy')).toBeVisible({ timeout: 60_000 });
  await checkBothThemes(bench, 'uploaded teacher');
});
