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

// Nothing leaves the machine: the built page may load and connect to its own origin only.
// - script-src: our chunks; 'wasm-unsafe-eval' compiles WebAssembly (TF.js's WASM backend);
//   blob: is what the threaded backend's pthread workers run (Emscripten makes its glue a blob
//   URL and importScripts() it).
// - worker-src: the run worker ('self') and those pthread workers (blob:).
// - style-src 'self': the stylesheet; React and recharts set inline styles through the CSSOM
//   (element.style), which style-src does not govern, so no 'unsafe-inline'.
// - img-src: data: for the empty favicon (href="data:,"), blob: for images made in the page.
// - connect-src 'self': datasets, models and the .wasm binaries are fetched from the origin.
// The built index.html carries it as a <meta> (any static server), the preview server also as
// a header, which is what reaches the worker (a worker's policy comes from its own response,
// never from the page's <meta>). The dev server sends none: its HMR client needs an inline
// script and a WebSocket.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'clab:content-security-policy',
    apply: 'build',
    // Right after <meta charset>, before any script or stylesheet the policy is to govern.
    transformIndexHtml(html) {
      const charset = '<meta charset="UTF-8" />';
      if (!html.includes(charset)) throw new Error(`index.html lost its ${charset}`);
      const meta = `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}" />`;
      return html.replace(charset, `${charset}\n    ${meta}`);
    },
  };
}

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

/**
 * precache.json: what public/sw.js stores at install so that a second visit works offline — the
 * page and every file of the build (scripts, styles, the run worker, the WASM binaries).
 */
function offlineFileList(): Plugin {
  return {
    name: 'clab:offline-file-list',
    apply: 'build',
    generateBundle(_, bundle) {
      // index.html is not in the bundle yet when this runs: the page is listed as '/'.
      const files = [
        '/',
        ...Object.keys(bundle)
          .filter((name) => name !== 'index.html' && !name.endsWith('.map'))
          .map((name) => `/${name}`),
      ];
      this.emitFile({ type: 'asset', fileName: 'precache.json', source: JSON.stringify(files) });
    },
  };
}

export default defineConfig({
  plugins: [react(), tfjsWasmFiles(), contentSecurityPolicy(), offlineFileList()],
  server: { headers: crossOriginIsolation },
  preview: {
    headers: { ...crossOriginIsolation, 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
  },
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
    entries: ['index.html', 'src/worker/**/*.ts', 'bench.html', 'src/bench/**/*.ts'],
  },
});
