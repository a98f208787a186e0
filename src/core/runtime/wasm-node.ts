/**
 * Node's switch for relaxed SIMD: Node 20's V8 validates it only behind a flag (Chromium and
 * Firefox ship it), and our kernels' fused multiply-adds need it (wasm/simd.ts). Call before
 * the first WASM kernel compiles; without it the kernels run their build without.
 */
import { setFlagsFromString } from 'node:v8';

export function enableRelaxedSimd(): void {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}
