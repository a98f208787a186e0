// The same KD flow on WebGPU: headless Chromium offers SwiftShader's fallback adapter
// (--enable-unsafe-webgpu, see playwright.config.ts), which is slow, so the budget is tiny.
import { expect, test } from './workbench';

test('KD runs on the WebGPU backend', async ({ bench, page }) => {
  test.setTimeout(300_000);
  await bench.open();
  // The worker's catalog says which backends core will start here.
  const webgpu = bench.combobox('Backend').locator('option[value="webgpu"]');
  await expect(webgpu).not.toContainText('not available');
  // SwiftShader runs LeNet-5 at seconds per batch: evaluate on 200 test images only.
  await bench.run({ backend: 'webgpu', steps: 3, testExamples: 200, params: { 'Batch size': 16 } });
  expect(await bench.waitForEnd(280_000)).toBe('done');
  await expect(page.getByTestId('backend')).toContainText('Backend webgpu');
  // total, soft and hard loss, read once at the last step.
  await expect(bench.chart('loss')).toHaveAttribute('data-points', '3');
  await expect(page.getByTestId('result')).toContainText('student accuracy');
});
