// `clab bench --browser`: the bench tasks in headless Chromium, on each backend a page can use
// (WASM on one thread and on every core, WebGPU, WebGL, the CPU backend), each in a Web Worker
// of the bench page (bench.html, src/bench) served by Vite's dev server with the app's headers
// (cross-origin isolated, so WASM may run threads). PyTorch runs beside the WASM training steps
// as in Node. Vite and Playwright are development dependencies: loaded only here.
import { fileURLToPath } from 'node:url';

import type { BenchConfig, ClabBench } from '../bench/protocol';
import type { BenchTask } from '../core/experiments/bench';
import { initBackend } from '../core/runtime/backend';
import { xnnpackThreads } from '../core/runtime/wasm-threads';
import { benchLayersJson, benchTasks, measure, type BenchRow } from './bench';
import { CHROMIUM_ARGS, chromiumPath } from './chromium';

export interface BrowserBench {
  /** Chromium's name and version. */
  browser: string;
  cores: number;
  rows: BenchRow[];
  /** The configurations that could not run, and why. */
  unavailable: { backend: string; reason: string }[];
}

export async function benchInBrowser(steps: number): Promise<BrowserBench> {
  // The PyTorch peer is built from Layers JSON, which needs a backend here.
  await initBackend('cpu');
  const layersJson = await benchLayersJson();
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const server = await createServer({
    root,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 5190 },
  });
  await server.listen();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.resolvedUrls!.local[0]}bench.html`);
    await page.waitForSelector('body[data-ready="true"]');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const run = (config: BenchConfig) => (task: BenchTask) =>
      page.evaluate(
        (request) => (window as unknown as { clabBench: ClabBench }).clabBench(request),
        { ...config, task },
      );
    const configs: { config: BenchConfig; label: string; fast: boolean }[] = [
      { config: { backend: 'wasm', threads: 1 }, label: 'wasm, 1 thread', fast: true },
      // The page's default: XNNPACK on one thread per two cores, our kernels on every core.
      {
        config: { backend: 'wasm' },
        label: `wasm, page default (XNNPACK ${xnnpackThreads(cores)}, ours ${cores})`,
        fast: true,
      },
      { config: { backend: 'wasm', threads: cores }, label: `wasm, ${cores} threads`, fast: true },
      { config: { backend: 'webgpu' }, label: 'webgpu', fast: false },
      { config: { backend: 'webgl' }, label: 'webgl', fast: false },
      { config: { backend: 'cpu' }, label: 'cpu', fast: false },
    ];
    const rows: BenchRow[] = [];
    const unavailable: BrowserBench['unavailable'] = [];
    for (const { config, label, fast } of configs) {
      for (const { task, rounds } of benchTasks(steps, fast)) {
        const job = {
          backend: label,
          task,
          rounds,
          torchThreads: config.backend === 'wasm' ? (config.threads ?? cores) : undefined,
          ours: run(config),
        };
        try {
          rows.push(await measure(job, layersJson));
        } catch (e) {
          unavailable.push({ backend: label, reason: e instanceof Error ? e.message : String(e) });
          break;
        }
      }
    }
    return { browser: `Chromium ${browser.version()}`, cores, rows, unavailable };
  } finally {
    await browser.close();
    await server.close();
  }
}
