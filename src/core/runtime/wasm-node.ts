/**
 * Node's switch for relaxed SIMD: Node 20's V8 validates it only behind a flag (Node 22 on,
 * Chromium and Firefox ship it and no longer know the flag: setting it there prints an error),
 * and our kernels' fused multiply-adds need it (wasm/simd.ts). Call before the first WASM
 * kernel compiles; without it the kernels run their build without.
 */
import { setFlagsFromString } from 'node:v8';

/** The smallest module using relaxed SIMD: one function returning f32x4.relaxed_madd of zeros. */
const ZERO_V128 = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const RELAXED_MADD_MODULE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
  ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // type section: () -> v128
  ...[0x03, 0x02, 0x01, 0x00], // function section: one function of that type
  ...[0x0a, 0x3d, 0x01, 0x3b, 0x00], // code section: one body of 59 bytes, no locals
  ...ZERO_V128,
  ...ZERO_V128,
  ...ZERO_V128,
  ...[0xfd, 0x85, 0x02, 0x0b], // f32x4.relaxed_madd, end
);

/** Whether this engine, with its flags as they are now, validates relaxed SIMD. */
export function relaxedSimdValidates(): boolean {
  return WebAssembly.validate(RELAXED_MADD_MODULE);
}

export function enableRelaxedSimd(): void {
  if (!relaxedSimdValidates()) {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
}
