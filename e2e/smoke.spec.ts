import { expect, test } from '@playwright/test';

test('the page loads cross-origin isolated, without console errors', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));

  await page.goto('/');

  await expect(page.getByRole('heading', { level: 1, name: 'Compression Lab' })).toBeVisible();
  await expect(page.getByRole('status')).toHaveText(/^Cross-origin isolated/);
  // SharedArrayBuffer (WASM threads) needs COOP/COEP on every response.
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  expect(errors).toEqual([]);
});
