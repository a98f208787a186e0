// The page's default backend, 'auto', times a training step on each backend worth timing. Headless
// Chromium here has no GPU: its WebGPU adapter and its WebGL are SwiftShader, which 'auto' names
// without timing (timing WebGL alone cost a first run 8 s of shader compiling).
import { expect, test } from './workbench';

test("'auto' picks WASM and names the software renderers it did not time", async ({
  bench,
  page,
}) => {
  await bench.open();
  await expect(bench.combobox('Backend')).toHaveValue('auto');
  await bench.run({ steps: 3, testExamples: 200 });
  expect(await bench.waitForEnd()).toBe('done');
  const backend = page.getByTestId('backend');
  await expect(backend).toContainText(/Backend wasm: auto: fastest measured step: wasm \d+ ms/);
  await expect(backend).toContainText('webgpu: only a software fallback adapter');
  await expect(backend).toContainText('webgl: only a software renderer (SwiftShader)');
});
