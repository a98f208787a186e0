import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';

// Specs run against the production build (vite build + vite preview): no on-demand dependency
// optimisation or reloads mid-test, and it is what users get. Locally an already running
// preview server on the port is reused; in CI a fresh one is always built.
// E2E_PORT lets two checkouts run their specs side by side.
const PORT = Number(process.env.E2E_PORT ?? 4173);
// 127.0.0.1 is a secure context like localhost (WebGPU, SharedArrayBuffer need one) and avoids
// IPv4/IPv6 ambiguity of "localhost".
const baseURL = `http://127.0.0.1:${PORT}`;
const isCI = !!process.env.CI;

// `npx playwright install` cannot download browsers here: use a system Chromium.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  throw new Error(
    `No Chromium at ${chromiumPath}. Install it (Debian: apt-get install -y chromium) ` +
      'or set CHROMIUM_PATH to a Chromium/Chrome executable.',
  );
}

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  forbidOnly: isCI,
  retries: 0,
  workers: 1,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: chromiumPath,
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            // WebGPU on the SwiftShader fallback adapter: lets specs exercise the WebGPU path
            // on machines without a GPU.
            '--enable-unsafe-webgpu',
            '--enable-features=Vulkan',
          ],
        },
      },
    },
  ],
  webServer: {
    command: `npm run build && npm run preview -- --port ${PORT} --strictPort`,
    url: baseURL,
    reuseExistingServer: !isCI,
    // A cold build of the TF.js worker chunk on 2 cores takes a while.
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
