import { defineConfig, devices } from '@playwright/test';

import { CHROMIUM_ARGS, chromiumPath } from './src/cli/chromium';

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
const executablePath = chromiumPath();

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
        launchOptions: { executablePath, args: CHROMIUM_ARGS },
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
