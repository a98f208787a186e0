import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

// WASM threads need SharedArrayBuffer, which Chromium only grants to a cross-origin isolated
// page (and its workers). Every response from the dev and preview servers carries these.
const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

// The runtime calls setWasmPaths('/wasm/'), so the binaries of @tensorflow/tfjs-backend-wasm
// must be reachable there: streamed from node_modules in dev, emitted as-is into dist/wasm/ in
// build (not hashed, because the backend builds their file names itself).
const WASM_PREFIX = '/wasm/';

function tfjsWasmFiles(): Plugin {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const wasmDir = join(packageDir, 'dist');
  const names = readdirSync(wasmDir).filter((name) => name.endsWith('.wasm'));
  if (names.length === 0) {
    throw new Error(`No .wasm files in ${wasmDir}: reinstall @tensorflow/tfjs-backend-wasm.`);
  }
  return {
    name: 'clab:tfjs-wasm-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0];
        if (!path.startsWith(WASM_PREFIX)) return next();
        const name = path.slice(WASM_PREFIX.length);
        if (!names.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        for (const [key, value] of Object.entries(crossOriginIsolation)) res.setHeader(key, value);
        createReadStream(join(wasmDir, name)).pipe(res);
      });
    },
    generateBundle() {
      for (const name of names) {
        this.emitFile({
          type: 'asset',
          fileName: `${WASM_PREFIX.slice(1)}${name}`,
          source: readFileSync(join(wasmDir, name)),
        });
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), tfjsWasmFiles()],
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  worker: {
    format: 'es',
    rolldownOptions: {
      output: {
        // The threaded WASM backend spawns its pthreads from the *source text* of a factory
        // function (`wasmFactoryThreadedSimd.toString()`). Compression rewrites that function's
        // guarded read of an outer variable (`typeof _scriptDir < 'u' && _scriptDir`) into a
        // bare read, which throws "e is not defined" in every pthread and hangs tf.ready().
        // Mangling alone keeps the guard and still shrinks the chunk.
        minify: { compress: false, mangle: true },
      },
    },
  },
  build: {
    target: 'es2022',
    // TF.js lives in the worker chunk and is large by nature; don't warn about it.
    chunkSizeWarningLimit: 4096,
  },
  optimizeDeps: {
    // Workers are not crawled from index.html; scan them too, so TF.js is pre-bundled before
    // the first page load instead of triggering an "optimized dependencies changed" reload.
    entries: ['index.html', 'src/worker/**/*.ts'],
  },
});
