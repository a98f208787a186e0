// Vector helpers shared by the kernels.

/**
 * a·b + c per lane: one fused multiply-add where the build has relaxed SIMD (scripts/build-wasm.mjs
 * compiles the kernels with and without it), a multiply and an add otherwise. The fused form
 * skips the product's rounding, so the two builds may differ in the last bit. Small enough
 * for Binaryen to inline at -O3 (an @inline decorator would do the same, but Prettier cannot
 * parse one on a function).
 */
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** The first `lanes` (≤ 4 of them count) lanes of v to p, nothing beyond them. */
export function storeLanes(p: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) v128.store(p, v);
  else if (lanes == 2) v128.store64_lane(p, v, 0);
  else if (lanes == 1) v128.store32_lane(p, v, 0);
  else if (lanes == 3) {
    v128.store64_lane(p, v, 0);
    v128.store32_lane(p, v, 2, 8);
  }
}
