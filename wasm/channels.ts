// Per-channel arithmetic over [..., C] tensors (src/core/runtime/wasm-fast-paths.ts).

import { madd } from './simd';

/**
 * Y = X·scale + bias, channel by channel, over the floats of the blocks [b0, b1) of `period`
 * floats each (the last block may end early, at `total`). `scale` and `bias` hold their C values
 * repeated over one period (a multiple of C and of 4), so a block is whole vectors whatever C is.
 */
export function channelAffine(
  x: usize,
  scale: usize,
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
    for (; i + 4 <= count; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(
        y + from + at,
        madd(v128.load(x + from + at), v128.load(scale + at), v128.load(bias + at)),
      );
    }
    for (; i < count; i++) {
      const at = (<usize>i) << 2;
      store<f32>(
        y + from + at,
        load<f32>(x + from + at) * load<f32>(scale + at) + load<f32>(bias + at),
      );
    }
  }
}
