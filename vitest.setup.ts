// Node 20 compiles our kernels' relaxed SIMD only behind a V8 flag; the CLI sets it, and so do the
// tests, so they run the build that Chromium and the CLI run (wasm-builds.test.ts checks both).
import { enableRelaxedSimd } from './src/core/runtime/wasm-node';

enableRelaxedSimd();
