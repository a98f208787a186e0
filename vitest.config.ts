import { defineConfig } from 'vitest/config';

// Unit tests run core in Node on the TF.js WASM backend. A separate config (not merged with
// vite.config.ts) keeps the React plugin and dev-server settings out of the test pipeline.
export default defineConfig({
  test: {
    environment: 'node',
    setupFiles: ['./vitest.setup.ts'],
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['e2e/**', 'node_modules/**', 'dist/**'],
    // Training tests are CPU bound and the reference machine has 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Child processes: TF.js keeps global state (engine, backends, kernel registry, variable
    // names) that must not leak between files, and a crash in native WASM code only takes one
    // fork down. One fork per core; override with --maxWorkers.
    pool: 'forks',
    maxWorkers: 2,
    isolate: true,
  },
});
