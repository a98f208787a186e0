// Sweeps: K × seeds × a parameter grid (× methods) from one config, queued as ordinary runs,
// summarised as the paper's Table 1 (mean ± std per method × K), Fig. 3 (accuracy against the
// grid) and Fig. 2 (per-layer estimation error over layer-wise distillation).
import { expect, test } from './workbench';

const CELL = /^\d+\.\d\d ± \d+\.\d\d \(2\)$/;

test('a kd sweep over K × seeds × temperature runs 8 queued runs into a table and a chart, and survives a reload', async ({
  bench,
  page,
}, testInfo) => {
  test.setTimeout(480_000);
  await page.setViewportSize({ width: 1440, height: 1100 });
  await bench.open();
  await bench.configure({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'kd',
    student: 'half',
    backend: 'wasm',
    steps: 5,
    testExamples: 200,
  });
  await bench.openSweep();
  await bench.configureSweep({
    methods: ['kd'],
    shots: '1, 2',
    seeds: '',
    gridParam: 'temperature',
    gridValues: '2, 4',
  });
  // expandSweep's own message, before anything runs.
  await expect(bench.sweepPlan).toHaveText('Bad sweep config: seeds is empty');
  await expect(bench.startSweepButton).toBeDisabled();
  await bench.field('Seeds').fill('1-2');
  await expect(bench.sweepPlan).toHaveAttribute('data-runs', '8');
  await expect(bench.sweepPlan).toContainText('8 runs');

  // The file is the one `npx clab sweep` reads; no student: each method's default (kd: half).
  const file = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Export sweep file' }).click(),
  );
  expect(file.name).toBe('sweep.sweep.json');
  expect(JSON.parse(file.text)).toEqual({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    methods: ['kd'],
    shotsPerClass: [1, 2],
    seeds: [1, 2],
    grid: { temperature: [2, 4] },
    steps: 5,
    testExamples: 200,
  });

  await bench.startSweepButton.click();
  await expect(bench.sweepView).toBeVisible();
  await expect(bench.sweepItems).toHaveCount(1);
  await expect(bench.sweepView).toHaveAttribute('data-status', 'done', { timeout: 420_000 });
  await expect(page.getByTestId('sweep-progress')).toHaveText(/^8 of 8 runs done/);

  // Table 1: kd (temperature=2) and (temperature=4) × K = 1, 2, each over 2 seeds.
  const rows = page.getByTestId('sweep-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.locator('th')).toHaveText(['kd (temperature=2)', 'kd (temperature=4)']);
  const cells = rows.locator('td');
  await expect(cells).toHaveCount(4);
  for (const text of await cells.allTextContents()) expect(text).toMatch(CELL);
  const table = await page.getByTestId('sweep-table').textContent();

  // Fig. 3: one line per K with a point (and error bar) per temperature.
  const chart = page.getByTestId('sweep-sensitivity');
  await expect(chart).toHaveAttribute('data-points', '4');
  await expect(chart.locator('.recharts-line-curve')).toHaveCount(2);
  await expect(chart.locator('.recharts-line-dots circle')).toHaveCount(4);
  await expect(chart.locator('.recharts-errorBar')).toHaveCount(4);
  await page.getByTestId('sweep-view').screenshot({ path: testInfo.outputPath('sweep-view.png') });

  // The rail groups the sweep's runs; each is an ordinary run with its own charts.
  await expect(bench.runItems).toHaveCount(0);
  const toggle = page.getByRole('button', { name: '8 runs', exact: true });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await toggle.click();
  await expect(bench.runItems).toHaveCount(8);
  for (const item of await bench.runItems.all()) {
    await expect(item).toHaveAttribute('data-status', 'done');
  }
  await bench.runItems.first().click();
  await expect(bench.runView).toContainText('run 1 of 8 of sweep');
  await expect(bench.chart('accuracy')).toBeVisible();
  await page.getByRole('button', { name: /run 1 of 8 of sweep/ }).click();
  await expect(bench.sweepView).toBeVisible();

  const markdown = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Table as Markdown' }).click(),
  );
  expect(markdown.text).toContain('| method | K = 1 | K = 2 |');
  expect(markdown.text).toMatch(/\| kd \(temperature=4\) \| \d+\.\d\d ± \d+\.\d\d \(2\) \|/);
  const csv = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Table as CSV' }).click(),
  );
  expect(csv.text.split('\n')[0]).toBe('method,temperature,K,accuracy_mean,accuracy_std,n,planned');

  // A reload rebuilds the sweep from its stored runs and opens it again.
  await page.reload();
  await expect(bench.sweepView).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('sweep-table')).toHaveText(table!);
  await expect(page.getByTestId('sweep-sensitivity')).toHaveAttribute('data-points', '4');
  await expect(bench.sweepItems.first()).toHaveAttribute('data-status', 'done');
});

/** A finished run of a synthetic sweep, as the export file holds it. */
function syntheticRun(
  sweep: Record<string, unknown>,
  index: number,
  total: number,
  cell: { method: string; shotsPerClass: number; seed: number; grid: Record<string, number> },
  accuracy: number,
  estimationError: number[],
) {
  const params = { ...cell.grid, shotsPerClass: cell.shotsPerClass };
  const summary = (acc: number, params: number) => ({
    accuracy: acc,
    params,
    flops: 200_000,
    bytes: params * 4,
  });
  return {
    run: {
      id: `synthetic-${index}`,
      createdAt: 1_700_000_000_000,
      config: {
        teacher: 'lenet5-mnist',
        dataset: 'mnist',
        student: 'copy',
        method: cell.method,
        params,
        seed: cell.seed,
        steps: 100,
        testExamples: 0,
        backend: 'wasm',
      },
      methodTitle: cell.method,
      status: 'done',
      scalars: {},
      layers: {
        // After the layers were fitted, and after the fine-tune (which moved every layer a bit).
        'estimation-error/hidden/held-out': {
          step: 90,
          labels: ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
          values: estimationError,
        },
        'estimation-error/fine-tuned/hidden/held-out': {
          step: 100,
          labels: ['conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
          values: estimationError.map((v) => v + 0.05),
        },
      },
      images: {},
      tables: {},
      embeddings: {},
      logs: [],
      result: {
        method: cell.method,
        params,
        seed: cell.seed,
        steps: 100,
        dataset: 'mnist',
        backend: 'wasm',
        status: 'done',
        wallTimeMs: 5000,
        teacher: summary(0.9915, 61_706),
        student: summary(accuracy, 61_706),
        compressionRatio: 2,
        metrics: {},
      },
      hasStudent: false,
      sweep: { id: 'synthetic-sweep', index, total, cell, config: sweep },
    },
  };
}

test('an imported Cross Distillation sweep draws Table 1, the μ-sensitivity (Fig. 3) and the estimation-error ratio (Fig. 2)', async ({
  bench,
  page,
}, testInfo) => {
  await page.setViewportSize({ width: 1440, height: 1100 });
  await bench.open();
  // layerwise: 2 K × 2 seeds; cross-distillation: 2 K × 3 μ × 2 seeds (expandSweep's order).
  const sweep = {
    name: 'Table 1, LeNet-5',
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    student: 'copy',
    methods: ['layerwise', 'cross-distillation'],
    shotsPerClass: [1, 5],
    seeds: [1, 2],
    params: { targetSparsity: 0.5 },
    grid: { mu: [0, 0.5, 1] },
    steps: 100,
  };
  const cells = sweep.methods.flatMap((method) =>
    sweep.shotsPerClass.flatMap((k) =>
      (method === 'layerwise' ? [{}] : sweep.grid.mu.map((mu) => ({ mu }))).flatMap((grid) =>
        sweep.seeds.map((seed) => ({ method, shotsPerClass: k, seed, grid })),
      ),
    ),
  );
  const runs = cells.map((cell, i) => {
    const mu = (cell.grid as { mu?: number }).mu;
    const base = cell.shotsPerClass === 1 ? 0.86 : 0.95;
    const gain = mu === undefined ? 0 : 0.04 * (1 - (2 * mu - 1) ** 2) + 0.01;
    const accuracy = base + gain + (cell.seed - 1.5) * 0.006;
    const layerwise = [0.1, 0.25, 0.45, 0.7, 0.9];
    const error = layerwise.map((v, l) =>
      mu === undefined ? v : v * (1 - (0.08 * l * (1 - mu)) / 1),
    );
    return syntheticRun(sweep, i, cells.length, cell, accuracy, error);
  });
  await page.getByLabel('Import runs').setInputFiles({
    name: 'synthetic-sweep.json',
    mimeType: 'application/json',
    buffer: Buffer.from(
      JSON.stringify({ format: 'compression-lab/runs', version: 1, exportedAt: '', runs }),
    ),
  });
  await expect(bench.sweepItems).toHaveCount(1);
  await bench.sweepItems.click();
  await expect(bench.sweepView).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('sweep-row').locator('th')).toHaveText([
    'layerwise',
    'cross-distillation (mu=0)',
    'cross-distillation (mu=0.5)',
    'cross-distillation (mu=1)',
  ]);
  for (const text of await page.getByTestId('sweep-row').locator('td').allTextContents()) {
    expect(text).toMatch(CELL);
  }
  // Fig. 3: cross-distillation K = 1, 5 over three μ; layerwise flat (dashed) at each K.
  const fig3 = page.getByTestId('sweep-sensitivity');
  await expect(fig3).toHaveAttribute('data-points', '6');
  await expect(fig3.locator('.recharts-line-curve')).toHaveCount(4);
  // Fig. 2: one line per μ × K, five layers each, by default from the error after the layers
  // were fitted; the fine-tuned view is one choice away.
  const fig2 = page.getByTestId('sweep-error-ratio');
  await expect(fig2).toHaveAttribute('data-view', 'estimation-error/hidden/held-out');
  await expect(fig2).toHaveAttribute('data-series', '6');
  await expect(fig2).toHaveAttribute('data-points', '30');
  await expect(fig2.locator('.recharts-line-curve')).toHaveCount(6);
  await expect(fig2.getByText('÷ layer-wise error')).toBeVisible();
  await fig2.getByLabel('When').selectOption('fine-tuned');
  await expect(fig2).toHaveAttribute('data-view', 'estimation-error/fine-tuned/hidden/held-out');
  await expect(fig2).toHaveAttribute('data-points', '30');
  await fig2.getByLabel('When').selectOption('fitted');
  await page.getByTestId('sweep-view').screenshot({
    path: testInfo.outputPath('cross-distillation-sweep.png'),
  });
  const markdown = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Table as Markdown' }).click(),
  );
  expect(markdown.text).toContain("Estimation error over layerwise's, per layer (Fig. 2;");
  expect(markdown.text).toMatch(/\| cross-distillation \(mu=0\) \| 1 \| 1\.000 \| 0\.920 \|/);
  expect(markdown.text).toMatch(
    /\| cross-distillation \(mu=0\.5\) \| 5 \| [+−]\d\.\d\d ± \d\.\d\d \| 2 \|/,
  );
});

test('sweep files load into the form when it can show them, run as written otherwise, and bad ones say why', async ({
  bench,
  page,
}) => {
  await bench.open();
  await bench.openSweep();
  const file = {
    name: 'temperatures',
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    methods: ['kd'],
    shotsPerClass: [1],
    seeds: [1, 2, 3],
    grid: { temperature: [1, 2] },
    steps: 7,
  };
  await bench.pasteSweep(JSON.stringify(file));
  await expect(bench.field('Sweep name')).toHaveValue('temperatures');
  await expect(bench.field('Seeds')).toHaveValue('1-3');
  await expect(bench.field('Grid values')).toHaveValue('1, 2');
  await expect(bench.field('Steps')).toHaveValue('7');
  await expect(bench.sweepPlan).toHaveAttribute('data-runs', '6');

  // Per-method overrides have no control in the form: the file runs as written.
  await bench.pasteSweep(JSON.stringify({ ...file, methodParams: { kd: { alpha: 0.5 } } }));
  await expect(page.getByTestId('sweep-file')).toContainText('"alpha": 0.5');
  await expect(bench.sweepPlan).toHaveAttribute('data-runs', '6');
  await bench.pasteSweep(JSON.stringify({ ...file, methods: ['kd', 'nope'] }));
  await expect(bench.sweepPlan).toHaveText("Bad sweep config: unknown method 'nope'");
  await expect(bench.startSweepButton).toBeDisabled();
  await page.getByRole('button', { name: 'Back to the form' }).click();
  await expect(bench.sweepPlan).toHaveAttribute('data-runs', '6');

  await bench.pasteSweep('{"teacher": "lenet5-mnist"');
  await expect(page.getByTestId('sweep-load-message')).toContainText(
    'Not a sweep file: the text is not JSON',
  );
  await expect(bench.runItems).toHaveCount(0);
});
