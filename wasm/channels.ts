// Per-channel arithmetic over [..., C] tensors (src/core/runtime/wasm-fast-paths.ts).

import { madd } from './simd';

/**
 * Y = X·scale + Z·zScale + bias, channel by channel (Z only where `z` is not 0: batch norm's
 * input gradient takes two tensors), over the floats of the blocks [b0, b1) of `period` floats
 * each (the last block may end early, at `total`). `scale`, `zScale` and `bias` hold their C
 * values repeated over one period (a multiple of C and of 4), so a block is whole vectors
 * whatever C is.
 */
export function channelAffine(
  x: usize,
  scale: usize,
  z: usize,
  zScale: usize,
  bias: usize,
  y: usize,
  total: i32,
  period: i32,
  b0: i32,
  b1: i32,
): void {
  for (let b = b0; b < b1; b++) {
    const start = b * period;
    const count = min(period, total - start);
    const from = (<usize>start) << 2;
    let i = 0;
    if (z == 0) {
      for (; i + 4 <= count; i += 4) {
        const at = (<usize>i) << 2;
        v128.store(
          y + from + at,
          madd(v128.load(x + from + at), v128.load(scale + at), v128.load(bias + at)),
        );
      }
    } else {
      for (; i + 4 <= count; i += 4) {
        const at = (<usize>i) << 2;
        const zPart = madd(v128.load(z + from + at), v128.load(zScale + at), v128.load(bias + at));
        v128.store(y + from + at, madd(v128.load(x + from + at), v128.load(scale + at), zPart));
      }
    }
    for (; i < count; i++) {
      const at = (<usize>i) << 2;
      const zPart: f32 = z == 0 ? 0 : load<f32>(z + from + at) * load<f32>(zScale + at);
      store<f32>(
        y + from + at,
        load<f32>(x + from + at) * load<f32>(scale + at) + zPart + load<f32>(bias + at),
      );
    }
  }
}

/**
 * Per-channel sums for batch norm over the blocks [b0, b1) of `period` floats (as in
 * channelAffine), into `acc` ([2][period], overwritten), with u = X − shift (`shift` a
 * period's pattern like channelAffine's scale): without `dy` (0) Σu and Σu², with it Σdy and
 * Σdy·u. Batch norm's forward pass takes the mean (shift 0) and then the biased variance
 * (shift the mean); its gradient Σdy and Σdy·(X − mean). Each thread gets its own `acc`; the
 * caller adds them up and folds the period's C-channel repeats together.
 */
export function channelDeviationSums(
  x: usize,
  dy: usize,
  shift: usize,
  total: i32,
  period: i32,
  acc: usize,
  b0: i32,
  b1: i32,
): void {
  const second = acc + ((<usize>period) << 2);
  memory.fill(acc, 0, (<usize>period) << 3);
  for (let b = b0; b < b1; b++) {
    const start = b * period;
    const count = min(period, total - start);
    const from = (<usize>start) << 2;
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const at = (<usize>i) << 2;
      const u = f32x4.sub(v128.load(x + from + at), v128.load(shift + at));
      const d = dy == 0 ? u : v128.load(dy + from + at);
      v128.store(acc + at, f32x4.add(v128.load(acc + at), d));
      v128.store(second + at, madd(d, u, v128.load(second + at)));
    }
    for (; i < count; i++) {
      const at = (<usize>i) << 2;
      const u = load<f32>(x + from + at) - load<f32>(shift + at);
      const d = dy == 0 ? u : load<f32>(dy + from + at);
      store<f32>(acc + at, load<f32>(acc + at) + d);
      store<f32>(second + at, load<f32>(second + at) + d * u);
    }
  }
}

/**
 * LeakyReLU with slope α below zero (α = 0: ReLU), or its gradient, over the floats [v0·4,
 * v1·4) (the last vector may end early, at `total`). Without `dy` (0): out = X where X > 0,
 * else α·X. With it: out = dY · step(X), step 1 where X > 0, NaN where X is NaN, α elsewhere,
 * as TF.js's Step(α), so the product has the bits of the stock Step-then-Multiply. α comes as
 * its f32 bits: the helper threads pass integer arguments.
 */
export function leakyRelu(
  x: usize,
  dy: usize,
  out: usize,
  alphaBits: i32,
  total: i32,
  v0: i32,
  v1: i32,
): void {
  const alpha = reinterpret<f32>(alphaBits);
  const slope = f32x4.splat(alpha);
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  const end = min(v1 * 4, total);
  let i = v0 * 4;
  if (dy == 0) {
    for (; i + 4 <= end; i += 4) {
      const at = (<usize>i) << 2;
      const v = v128.load(x + at);
      v128.store(out + at, v128.bitselect(v, f32x4.mul(v, slope), f32x4.gt(v, zero)));
    }
    for (; i < end; i++) {
      const at = (<usize>i) << 2;
      const v = load<f32>(x + at);
      store<f32>(out + at, v > 0 ? v : v * alpha);
    }
    return;
  }
  for (; i + 4 <= end; i += 4) {
    const at = (<usize>i) << 2;
    const v = v128.load(x + at);
    const step = v128.bitselect(v, v128.bitselect(one, slope, f32x4.gt(v, zero)), f32x4.ne(v, v));
    v128.store(out + at, f32x4.mul(v128.load(dy + at), step));
  }
  for (; i < end; i++) {
    const at = (<usize>i) << 2;
    const v = load<f32>(x + at);
    store<f32>(out + at, load<f32>(dy + at) * (v > 0 ? 1 : v != v ? v : alpha));
  }
}

/**
 * Y[o, c] = Σ_r X[o, r, c] / divisor (a sum, or a mean with `divisor` the row count) for the
 * outer indices [o0, o1) of X viewed as [outer, rows, C]. Each outer slice is added up in blocks
 * of `period` floats (a multiple of C and of 4: whole vectors whatever C is) into `acc`
 * (`period` floats of scratch), whose C-channel repeats are then folded together.
 */
export function channelSums(
  x: usize,
  acc: usize,
  y: usize,
  rows: i32,
  c: i32,
  period: i32,
  divisor: f32,
  o0: i32,
  o1: i32,
): void {
  const total = rows * c;
  for (let o = o0; o < o1; o++) {
    memory.fill(acc, 0, (<usize>period) << 2);
    const slice = x + ((<usize>o * <usize>total) << 2);
    let start = 0;
    for (; start + period <= total; start += period) {
      const block = slice + ((<usize>start) << 2);
      for (let v = 0; v < period; v += 4) {
        const at = (<usize>v) << 2;
        v128.store(acc + at, f32x4.add(v128.load(acc + at), v128.load(block + at)));
      }
    }
    // The rows left: fewer than a block's.
    for (let v = 0; start + v < total; v++) {
      const at = (<usize>v) << 2;
      store<f32>(acc + at, load<f32>(acc + at) + load<f32>(slice + ((<usize>(start + v)) << 2)));
    }
    for (let ch = 0; ch < c; ch++) {
      let sum: f32 = 0;
      for (let k = ch; k < period; k += c) sum += load<f32>(acc + ((<usize>k) << 2));
      store<f32>(y + ((<usize>(o * c + ch)) << 2), sum / divisor);
    }
  }
}
