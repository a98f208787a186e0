// What a first visit costs: the bytes the page fetches (page, worker, teacher, data; as they
// cross the wire) from opening it until a few-shot run's first chart point, on a cold cache and
// again on a warm one. The figures are written to the test's output and printed; the budget of
// issue 14 (≤ 5 MB cold) is checked.
import type { Request } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { expect, test } from './workbench';

test('a few-shot run on a cold cache fetches its shots and test images, not the whole training set', async ({
  bench,
  page,
}) => {
  test.setTimeout(180_000);
  const fetched: { url: string; bytes: number }[] = [];
  const sizes: Promise<void>[] = [];
  const count = (request: Request) =>
    sizes.push(
      request.sizes().then((s) => {
        fetched.push({ url: request.url(), bytes: s.responseBodySize + s.responseHeadersSize });
      }),
    );
  page.context().on('requestfinished', count);

  /** Opens the page, starts the run, and measures until its accuracy chart has a point. */
  const visit = async () => {
    fetched.length = 0;
    const started = Date.now();
    await bench.open();
    await bench.run({
      teacher: 'lenet5-mnist',
      dataset: 'mnist',
      method: 'cross-distillation',
      backend: 'wasm',
      params: { 'Iters per layer': 30, 'Fine tune steps': 5 },
    });
    await expect
      .poll(
        async () => Number(await page.getByTestId('chart-accuracy').getAttribute('data-points')),
        {
          timeout: 120_000,
        },
      )
      .toBeGreaterThan(0);
    const ms = Date.now() - started;
    await Promise.all(sizes);
    const bytes = fetched.reduce((n, f) => n + f.bytes, 0);
    const data = fetched.filter((f) => f.url.includes('/data/'));
    return {
      ms,
      bytes,
      requests: fetched.length,
      dataBytes: data.reduce((n, f) => n + f.bytes, 0),
      dataRequests: data.length,
    };
  };

  const cold = await visit();
  expect(await bench.waitForEnd(120_000)).toBe('done');
  const warm = await visit();
  const report = { cold, warm };
  console.log(`cold start: ${JSON.stringify(report)}`);
  writeFileSync(test.info().outputPath('cold-start.json'), JSON.stringify(report, null, 2));
  // No part of the 47 MB training file beyond the shots: 10 a class, so at most 100 of its
  // 600 parts, and the first test images.
  expect(cold.dataRequests).toBeLessThan(150);
  expect(cold.bytes).toBeLessThan(5_000_000);
});
