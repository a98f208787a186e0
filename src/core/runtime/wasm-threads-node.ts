/**
 * Node's source of the threaded WASM build (wasm-threads.ts): the files in the installed
 * tfjs-backend-wasm package. Its pthread workers run in worker_threads; the package ships
 * their script as a string, which is written once to the temp directory because a Node worker
 * starts from a file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { HelperThread } from './kernel-threads';
import type { EmscriptenWasmModule, ThreadedWasmSource } from './wasm-threads';

const require = createRequire(import.meta.url);

export function nodeThreadedWasm(): ThreadedWasmSource {
  const pkg = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
    version: string;
  };
  const out = join(pkg, 'wasm-out');
  const glue = join(out, 'tfjs-backend-wasm-threaded-simd.js');
  const worker = join(tmpdir(), `compression-lab-tfjs-wasm-${version}-pthread-worker.js`);
  if (!existsSync(worker)) {
    const { wasmWorkerContents } = require(join(out, 'tfjs-backend-wasm-threaded-simd.worker.js'));
    // The string holds escaped newlines inside string literals; tfjs's own loader re-escapes
    // them the same way before making its worker blob.
    const partial = `${worker}.${process.pid}`;
    writeFileSync(partial, (wasmWorkerContents as string).replace(/\n/g, '\\n'));
    renameSync(partial, worker);
  }
  return {
    factory: require(glue) as (config: object) => Promise<EmscriptenWasmModule>,
    config: {
      locateFile: (path) => (path.endsWith('.worker.js') ? worker : join(out, path)),
      mainScriptUrlOrBlob: glue,
    },
    binary: () => readFile(join(out, 'tfjs-backend-wasm-threaded-simd.wasm')),
    spawnHelper,
  };
}

/** A worker_threads helper running `body` (kernel-threads.ts); it never keeps Node alive. */
function spawnHelper(body: string): HelperThread {
  const prologue = `const { parentPort } = require('node:worker_threads');
const post = (message) => parentPort.postMessage(message);
parentPort.once('message', (data) => run(data));`;
  const worker = new Worker(`${body}\n${prologue}`, { eval: true });
  worker.unref();
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onError: (listener) => worker.on('error', listener),
    terminate: () => void worker.terminate(),
  };
}
