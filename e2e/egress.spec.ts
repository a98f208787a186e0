// Privacy: nothing leaves the machine. Every request of a full visit — the page and its worker
// (TF.js, its WASM binaries and pthread workers, datasets, models), a real run to the end, the
// student downloaded, a teacher uploaded, a reload — goes to the page's own origin (or is a
// blob:/data: URL made in the page); and the page carries a Content-Security-Policy that allows
// nothing else.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Request } from '@playwright/test';
import { expect, test } from './workbench';

const RAW_LENET = 'src/core/io/fixtures/tfjs-raw-lenet5';

test('a full visit requests nothing off-origin, under a same-origin CSP', async ({
  bench,
  page,
  context,
  baseURL,
}) => {
  test.setTimeout(180_000);
  const origin = new URL(baseURL!).origin;
  // The context's event covers the page's requests and its workers' (checked below: the .wasm
  // binaries and the datasets are fetched by the run worker only).
  const requests: Request[] = [];
  context.on('request', (r) => requests.push(r));

  await bench.open();
  const csp = await page
    .locator('meta[http-equiv="Content-Security-Policy"]')
    .getAttribute('content');
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toMatch(/https?:|\*/);

  await bench.run({
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'kd',
    student: 'half',
    backend: 'wasm',
    steps: 10,
    testExamples: 200,
  });
  expect(await bench.waitForEnd()).toBe('done');
  const [zip] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Student as TF.js (.zip)' }).click(),
  );
  expect(zip.suggestedFilename()).toMatch(/\.zip$/);

  const files = (await readdir(RAW_LENET)).map((f) => join(RAW_LENET, f));
  await page.getByLabel('Upload teacher files').setInputFiles(files);
  await expect(page.getByTestId('teacher-accuracy')).toBeVisible({ timeout: 60_000 });

  await page.reload();
  await expect(bench.runButton).toBeEnabled({ timeout: 30_000 });
  await expect(bench.runItems).toHaveCount(1);

  const urls = [...new Set(requests.map((r) => r.url()))];
  const offOrigin = urls.filter((url) => {
    const u = new URL(url);
    return u.protocol !== 'blob:' && u.protocol !== 'data:' && u.origin !== origin;
  });
  expect(offOrigin, `requests off ${origin}:\n${offOrigin.join('\n')}`).toEqual([]);
  // The worker's own requests are among those seen.
  const paths = urls.map((url) => new URL(url).pathname);
  expect(paths.filter((p) => p.startsWith('/wasm/') && p.endsWith('.wasm')).length).toBeGreaterThan(
    0,
  );
  // The datasets come in gzipped parts (docs/DATA.md): KD trains on all of the training set,
  // fetched as the one file that holds it all.
  expect(paths.filter((p) => p.startsWith('/data/mnist-train/')).sort()).toEqual([
    '/data/mnist-train/all.gz',
    '/data/mnist-train/labels.gz',
  ]);
  expect(paths.some((p) => /^\/data\/mnist-test\/\d{4}\.gz$/.test(p))).toBe(true);
  expect(paths.some((p) => p.startsWith('/models/lenet5-mnist/'))).toBe(true);
  test.info().annotations.push({
    type: 'requests',
    description: `${requests.length} requests, ${urls.length} URLs, all on ${origin} or blob:/data:`,
  });
});
