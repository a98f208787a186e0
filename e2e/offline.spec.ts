// A second visit works offline: the service worker (public/sw.js) keeps the built page and its
// files, and what the first visit's run fetched (its data parts, its teacher) is kept as well.
import { expect, test } from './workbench';

test('after one visit the page opens and runs offline on the data and teacher it used', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  const setup = {
    teacher: 'lenet5-mnist',
    dataset: 'mnist',
    method: 'cross-distillation',
    backend: 'wasm',
    params: { 'Iters per layer': 20, 'Fine tune steps': 5 },
  } as const;
  await bench.open();
  // Installed: the page and its files are stored.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await bench.run(setup);
  expect(await bench.waitForEnd()).toBe('done');

  // The server gone: every request that reaches the network fails (Playwright's offline mode
  // would also fail navigations before the service worker answers them).
  let reachedNetwork = 0;
  await page.context().route('**/*', (route) => {
    reachedNetwork++;
    return route.abort('internetdisconnected');
  });
  await page.reload();
  await expect(bench.runButton).toBeEnabled({ timeout: 30_000 });
  await bench.run(setup);
  expect(await bench.waitForEnd()).toBe('done');
  await expect(bench.runView).toContainText('student accuracy');
  // The service worker tried the network first for the page and the manifests, and fell back.
  expect(reachedNetwork).toBeGreaterThan(0);
});
