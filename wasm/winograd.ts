// 3×3 convolutions at stride 1 by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): each 2×2 block of output
// pixels comes from a 4×4 block of input, Y = Aᵀ[Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)]A, 16 multiplies per
// input and output channel where the direct convolution does 36. The sum over input channels
// is, for each of the 16 positions of the 4×4 block, a matrix product of [tiles × Ci] by
// [Ci × Co], computed in registers as the 1×1 convolution is (4 tiles × 8 output channels).
//
//   Bᵀ = | 1  0 −1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 −1 −1 |
//        | 0 −1  1  0 |        | ½   −½    ½  |
//        | 0  1  0 −1 |        | 0    0    1  |
//
// The filter's transform G g Gᵀ is done once per call by the caller (wasm-kernels.ts).
//
// The filter gradient is F(3×3, 2×2) the same way: dW's 3×3 taps from each 4×4 block of X and
// the 2×2 block of dY under it, Σ over blocks of (G′ dy G′ᵀ) ⊙ (B′ᵀ d B′), with
//
//   B′ᵀ = | 1  0 −1  0 |    G′ = | 1   0  |    A′ᵀ = | 1  1  1  0 |
//         | 0  1  1  0 |         | ½   ½  |          | 0  1 −1  0 |
//         | 0 −1  1  0 |         | ½  −½  |          | 0  1  1  1 |
//         | 0 −1  0  1 |         | 0   1  |
//
// B′ᵀ is Bᵀ with its last row negated, so X's blocks are transformed as above and dY's with the
// fourth row and column of G′ dy G′ᵀ negated; the sum over blocks is, for each of the 16
// positions, [Ci × tiles] by [tiles × Co]; the caller adds the threads' sums and applies A′.

import { madd, storeLanes } from './simd';

/** Tiles transformed, multiplied and transformed back together: their products stay in cache. */
const BLOCK = 32;

/**
 * Y[n, y, x, o] = Σ_{i,j,c} X[n, y + i − top, x + j − left, c] · W[i, j, c, o] (+ bias[o], then
 * ReLU, where given) for the tiles [t0, t1) of 2×2 output pixels (tile index (n·th + ty)·tw + tx,
 * th = ⌈oh/2⌉, tw = ⌈ow/2⌉). `u` is the transformed filter [16][Ci][Co8] (Co8 = Co rounded up to
 * a panel of eight, zero past Co); `scratch` holds BLOCK·16·(Ci + Co8) floats for this call
 * alone. Ci is a multiple of 4; taps outside X are zeros.
 */
export function convWinograd(
  x: usize,
  u: usize,
  y: usize,
  scratch: usize,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  top: i32,
  left: i32,
  bias: usize,
  relu: i32,
  t0: i32,
  t1: i32,
): void {
  const co8 = (co + 7) & ~7;
  const v = scratch;
  const m = scratch + ((<usize>(16 * BLOCK * ci)) << 2);
  for (let t = t0; t < t1; t += BLOCK) {
    const count = min(BLOCK, t1 - t);
    for (let q = 0; q < count; q++) {
      transformInput(x, v, q, t + q, h, wd, ci, oh, ow, top, left);
    }
    multiply(u, v, m, ci, co8, count);
    for (let q = 0; q < count; q++) {
      transformOutput(m, y, q, t + q, oh, ow, co, co8, bias, relu);
    }
  }
}

/**
 * M[k][c][o] = Σ_t V[k][t][c] · D[k][t][o] over the tiles [t0, t1) of 2×2 dY pixels (indexed as
 * convWinograd's output tiles), V from X's 4×4 blocks and D from dY's 2×2 ones (see above), into
 * `m` [16][Ci][Co8], overwritten. `scratch` holds BLOCK·16·(Ci + Co8) floats for this call
 * alone. Ci and Co are multiples of 4.
 */
export function convFilterGradWinograd(
  x: usize,
  dy: usize,
  m: usize,
  scratch: usize,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  top: i32,
  left: i32,
  t0: i32,
  t1: i32,
): void {
  const co8 = (co + 7) & ~7;
  const v = scratch;
  const d = scratch + ((<usize>(16 * BLOCK * ci)) << 2);
  memory.fill(m, 0, (<usize>(16 * ci * co8)) << 2);
  // D's lanes past Co are never written: zero, so M's columns past Co stay finite.
  memory.fill(d, 0, (<usize>(16 * BLOCK * co8)) << 2);
  for (let t = t0; t < t1; t += BLOCK) {
    const count = min(BLOCK, t1 - t);
    for (let q = 0; q < count; q++) {
      transformInput(x, v, q, t + q, h, wd, ci, oh, ow, top, left);
      transformGradient(dy, d, q, t + q, oh, ow, co, co8);
    }
    accumulate(v, d, m, ci, co8, count);
  }
}

/**
 * D[k][q][o] = ±(G′ g G′ᵀ)[k] for the 2×2 block g of dY of tile `tile` (zeros past dY's sides),
 * the fourth row and column negated, four channels at a time.
 */
function transformGradient(
  dy: usize,
  d: usize,
  q: i32,
  tile: i32,
  oh: i32,
  ow: i32,
  co: i32,
  co8: i32,
): void {
  const image = tileImage(tile, oh, ow);
  const row = tileRow(tile, oh, ow);
  const col = tileCol(tile, ow);
  const pixel = (<usize>co) << 2;
  const p = dy + (<usize>(image * oh + row) * <usize>ow + <usize>col) * pixel;
  const below = <usize>ow * pixel;
  const right = col + 1 < ow;
  const lower = row + 1 < oh;
  const plane = (<usize>(BLOCK * co8)) << 2;
  const out = d + ((<usize>(q * co8)) << 2);
  const zero = f32x4.splat(0);
  const half = f32x4.splat(0.5);
  for (let o: usize = 0; o < pixel; o += 16) {
    const g00 = v128.load(p + o);
    const g01 = right ? v128.load(p + pixel + o) : zero;
    const g10 = lower ? v128.load(p + below + o) : zero;
    const g11 = right && lower ? v128.load(p + below + pixel + o) : zero;
    // G′ g: rows g0, (g0 + g1)/2, (g0 − g1)/2, and −g1 (negated: see above).
    const e = out + o;
    gradientRow(e, plane, 0, g00, g01, half);
    gradientRow(
      e,
      plane,
      4,
      f32x4.mul(f32x4.add(g00, g10), half),
      f32x4.mul(f32x4.add(g01, g11), half),
      half,
    );
    gradientRow(
      e,
      plane,
      8,
      f32x4.mul(f32x4.sub(g00, g10), half),
      f32x4.mul(f32x4.sub(g01, g11), half),
      half,
    );
    gradientRow(e, plane, 12, f32x4.neg(g10), f32x4.neg(g11), half);
  }
}

/** Row [a, b] of G′ g times G′ᵀ, [a, (a + b)/2, (a − b)/2, −b], to positions k … k + 3 of D. */
function gradientRow(e: usize, plane: usize, k: i32, a: v128, b: v128, half: v128): void {
  const p = e + <usize>k * plane;
  v128.store(p, a);
  v128.store(p + plane, f32x4.mul(f32x4.add(a, b), half));
  v128.store(p + 2 * plane, f32x4.mul(f32x4.sub(a, b), half));
  v128.store(p + 3 * plane, f32x4.neg(b));
}

/**
 * M[k][c][o] += Σ_{q < count} V[k][q][c] · D[k][q][o]: 4 input × 8 output channels in registers
 * over the block's tiles — `multiply`'s register tile with the roles of the strides swapped,
 * written out: one helper for both, taking the strides, made DAFL's 128 → 64 filter gradient
 * 133 → 145 ms (its four splats no longer load at constant offsets).
 */
function accumulate(v: usize, d: usize, m: usize, ci: i32, co8: i32, count: i32): void {
  const vRow = (<usize>ci) << 2;
  const dRow = (<usize>co8) << 2;
  for (let k = 0; k < 16; k++) {
    const vk = v + <usize>(k * BLOCK) * vRow;
    const dk = d + <usize>(k * BLOCK) * dRow;
    const mk = m + <usize>(k * ci) * dRow;
    for (let c = 0; c < ci; c += 4) {
      for (let o = 0; o < co8; o += 8) {
        const a = mk + <usize>c * dRow + ((<usize>o) << 2);
        let a00 = v128.load(a);
        let a01 = v128.load(a, 16);
        let a10 = v128.load(a + dRow);
        let a11 = v128.load(a + dRow, 16);
        let a20 = v128.load(a + 2 * dRow);
        let a21 = v128.load(a + 2 * dRow, 16);
        let a30 = v128.load(a + 3 * dRow);
        let a31 = v128.load(a + 3 * dRow, 16);
        let s = vk + ((<usize>c) << 2);
        let g = dk + ((<usize>o) << 2);
        for (let q = 0; q < count; q++) {
          const g0 = v128.load(g);
          const g1 = v128.load(g, 16);
          const s0 = v128.load32_splat(s);
          const s1 = v128.load32_splat(s, 4);
          const s2 = v128.load32_splat(s, 8);
          const s3 = v128.load32_splat(s, 12);
          a00 = madd(s0, g0, a00);
          a01 = madd(s0, g1, a01);
          a10 = madd(s1, g0, a10);
          a11 = madd(s1, g1, a11);
          a20 = madd(s2, g0, a20);
          a21 = madd(s2, g1, a21);
          a30 = madd(s3, g0, a30);
          a31 = madd(s3, g1, a31);
          s += vRow;
          g += dRow;
        }
        v128.store(a, a00);
        v128.store(a, a01, 16);
        v128.store(a + dRow, a10);
        v128.store(a + dRow, a11, 16);
        v128.store(a + 2 * dRow, a20);
        v128.store(a + 2 * dRow, a21, 16);
        v128.store(a + 3 * dRow, a30);
        v128.store(a + 3 * dRow, a31, 16);
      }
    }
  }
}

/** V[k][q][c] = (Bᵀ d B)[k] for the 4×4 block of X under tile `tile`, four channels at a time. */
function transformInput(
  x: usize,
  v: usize,
  q: i32,
  tile: i32,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  top: i32,
  left: i32,
): void {
  const image = tileImage(tile, oh, ow);
  const r0 = tileRow(tile, oh, ow) - top;
  const c0 = tileCol(tile, ow) - left;
  const pixel = (<usize>ci) << 2;
  const base = x + <usize>(image * h) * <usize>wd * pixel;
  const inside = r0 >= 0 && c0 >= 0 && r0 + 4 <= h && c0 + 4 <= wd;
  // Between the 16 positions' rows of V: BLOCK tiles of Ci floats.
  const plane = (<usize>(BLOCK * ci)) << 2;
  const out = v + ((<usize>(q * ci)) << 2);
  for (let c: usize = 0; c < pixel; c += 16) {
    // d[i][j]: rows i of the block, columns j; zero outside X.
    let d00: v128, d01: v128, d02: v128, d03: v128;
    let d10: v128, d11: v128, d12: v128, d13: v128;
    let d20: v128, d21: v128, d22: v128, d23: v128;
    let d30: v128, d31: v128, d32: v128, d33: v128;
    if (inside) {
      const p = base + (<usize>r0 * <usize>wd + <usize>c0) * pixel + c;
      const row = <usize>wd * pixel;
      d00 = v128.load(p);
      d01 = v128.load(p + pixel);
      d02 = v128.load(p + 2 * pixel);
      d03 = v128.load(p + 3 * pixel);
      d10 = v128.load(p + row);
      d11 = v128.load(p + row + pixel);
      d12 = v128.load(p + row + 2 * pixel);
      d13 = v128.load(p + row + 3 * pixel);
      d20 = v128.load(p + 2 * row);
      d21 = v128.load(p + 2 * row + pixel);
      d22 = v128.load(p + 2 * row + 2 * pixel);
      d23 = v128.load(p + 2 * row + 3 * pixel);
      d30 = v128.load(p + 3 * row);
      d31 = v128.load(p + 3 * row + pixel);
      d32 = v128.load(p + 3 * row + 2 * pixel);
      d33 = v128.load(p + 3 * row + 3 * pixel);
    } else {
      d00 = at(base, r0, c0, h, wd, pixel, c);
      d01 = at(base, r0, c0 + 1, h, wd, pixel, c);
      d02 = at(base, r0, c0 + 2, h, wd, pixel, c);
      d03 = at(base, r0, c0 + 3, h, wd, pixel, c);
      d10 = at(base, r0 + 1, c0, h, wd, pixel, c);
      d11 = at(base, r0 + 1, c0 + 1, h, wd, pixel, c);
      d12 = at(base, r0 + 1, c0 + 2, h, wd, pixel, c);
      d13 = at(base, r0 + 1, c0 + 3, h, wd, pixel, c);
      d20 = at(base, r0 + 2, c0, h, wd, pixel, c);
      d21 = at(base, r0 + 2, c0 + 1, h, wd, pixel, c);
      d22 = at(base, r0 + 2, c0 + 2, h, wd, pixel, c);
      d23 = at(base, r0 + 2, c0 + 3, h, wd, pixel, c);
      d30 = at(base, r0 + 3, c0, h, wd, pixel, c);
      d31 = at(base, r0 + 3, c0 + 1, h, wd, pixel, c);
      d32 = at(base, r0 + 3, c0 + 2, h, wd, pixel, c);
      d33 = at(base, r0 + 3, c0 + 3, h, wd, pixel, c);
    }
    // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
    const a00 = f32x4.sub(d00, d20);
    const a01 = f32x4.sub(d01, d21);
    const a02 = f32x4.sub(d02, d22);
    const a03 = f32x4.sub(d03, d23);
    const a10 = f32x4.add(d10, d20);
    const a11 = f32x4.add(d11, d21);
    const a12 = f32x4.add(d12, d22);
    const a13 = f32x4.add(d13, d23);
    const a20 = f32x4.sub(d20, d10);
    const a21 = f32x4.sub(d21, d11);
    const a22 = f32x4.sub(d22, d12);
    const a23 = f32x4.sub(d23, d13);
    const a30 = f32x4.sub(d10, d30);
    const a31 = f32x4.sub(d11, d31);
    const a32 = f32x4.sub(d12, d32);
    const a33 = f32x4.sub(d13, d33);
    // (Bᵀ d) B: the same on the columns of each row.
    const o = out + c;
    storeRow(o, plane, 0, a00, a01, a02, a03);
    storeRow(o, plane, 4, a10, a11, a12, a13);
    storeRow(o, plane, 8, a20, a21, a22, a23);
    storeRow(o, plane, 12, a30, a31, a32, a33);
  }
}

/** Row r of Bᵀ d times B, [e0 − e2, e1 + e2, e2 − e1, e1 − e3], to positions k … k + 3 of V. */
function storeRow(o: usize, plane: usize, k: i32, e0: v128, e1: v128, e2: v128, e3: v128): void {
  const p = o + <usize>k * plane;
  v128.store(p, f32x4.sub(e0, e2));
  v128.store(p + plane, f32x4.add(e1, e2));
  v128.store(p + 2 * plane, f32x4.sub(e2, e1));
  v128.store(p + 3 * plane, f32x4.sub(e1, e3));
}

/** Four channels of X[row, col] from `base` (an image), or zeros outside it. */
function at(base: usize, row: i32, col: i32, h: i32, wd: i32, pixel: usize, c: usize): v128 {
  if (row < 0 || row >= h || col < 0 || col >= wd) return f32x4.splat(0);
  return v128.load(base + (<usize>row * <usize>wd + <usize>col) * pixel + c);
}

/**
 * M[k][q][o] = Σ_c V[k][q][c] · U[k][c][o] for the first `count` tiles of a block (rounded up to
 * four: the rows past them are not read back), 4 tiles × 8 output channels in registers — the
 * register tile of `convForward`, written out here: calling `convForward`'s 1×1 case instead
 * made DAFL's 128 → 64 layer 133 → 160 ms and BN-VGG's 16 → 16 3.0 → 5.4 (its per-tap checks
 * and set-up, for 32 tiles a call).
 */
function multiply(u: usize, v: usize, m: usize, ci: i32, co8: i32, count: i32): void {
  const vRow = (<usize>ci) << 2;
  const mRow = (<usize>co8) << 2;
  const uPlane = <usize>ci * mRow;
  for (let k = 0; k < 16; k++) {
    const vk = v + <usize>(k * BLOCK) * vRow;
    const mk = m + <usize>(k * BLOCK) * mRow;
    const uk = u + <usize>k * uPlane;
    for (let o = 0; o < co8; o += 8) {
      for (let q = 0; q < count; q += 4) {
        let a00 = f32x4.splat(0);
        let a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0);
        let a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0);
        let a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0);
        let a31 = f32x4.splat(0);
        let s = vk + <usize>q * vRow;
        let w = uk + ((<usize>o) << 2);
        for (let c = 0; c < ci; c++) {
          const w0 = v128.load(w);
          const w1 = v128.load(w, 16);
          const s0 = v128.load32_splat(s);
          const s1 = v128.load32_splat(s + vRow);
          const s2 = v128.load32_splat(s + 2 * vRow);
          const s3 = v128.load32_splat(s + 3 * vRow);
          a00 = madd(s0, w0, a00);
          a01 = madd(s0, w1, a01);
          a10 = madd(s1, w0, a10);
          a11 = madd(s1, w1, a11);
          a20 = madd(s2, w0, a20);
          a21 = madd(s2, w1, a21);
          a30 = madd(s3, w0, a30);
          a31 = madd(s3, w1, a31);
          s += 4;
          w += mRow;
        }
        const p = mk + <usize>q * mRow + ((<usize>o) << 2);
        v128.store(p, a00);
        v128.store(p, a01, 16);
        v128.store(p + mRow, a10);
        v128.store(p + mRow, a11, 16);
        v128.store(p + 2 * mRow, a20);
        v128.store(p + 2 * mRow, a21, 16);
        v128.store(p + 3 * mRow, a30);
        v128.store(p + 3 * mRow, a31, 16);
      }
    }
  }
}

/** Y's 2×2 pixels of tile `tile` = Aᵀ m A (+ bias, ReLU) from M's row q, four channels at a time. */
function transformOutput(
  m: usize,
  y: usize,
  q: i32,
  tile: i32,
  oh: i32,
  ow: i32,
  co: i32,
  co8: i32,
  bias: usize,
  relu: i32,
): void {
  const image = tileImage(tile, oh, ow);
  const row = tileRow(tile, oh, ow);
  const col = tileCol(tile, ow);
  const plane = (<usize>(BLOCK * co8)) << 2;
  const pixel = (<usize>co) << 2;
  const out = y + (<usize>(image * oh + row) * <usize>ow + <usize>col) * pixel;
  const lowerRow = row + 1 < oh;
  const rightCol = col + 1 < ow;
  const zero = f32x4.splat(0);
  for (let o = 0; o < co; o += 4) {
    const src = m + ((<usize>(q * co8 + o)) << 2);
    // Aᵀ m: rows m0 + m1 + m2 and m1 − m2 − m3 of each column j.
    const s00 = rowSum(src, plane, 0);
    const s01 = rowSum(src, plane, 1);
    const s02 = rowSum(src, plane, 2);
    const s03 = rowSum(src, plane, 3);
    const s10 = rowDifference(src, plane, 0);
    const s11 = rowDifference(src, plane, 1);
    const s12 = rowDifference(src, plane, 2);
    const s13 = rowDifference(src, plane, 3);
    const b = bias == 0 ? zero : v128.load(bias + ((<usize>o) << 2));
    let y00 = f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), b);
    let y01 = f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), b);
    let y10 = f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), b);
    let y11 = f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), b);
    if (relu != 0) {
      y00 = f32x4.max(y00, zero);
      y01 = f32x4.max(y01, zero);
      y10 = f32x4.max(y10, zero);
      y11 = f32x4.max(y11, zero);
    }
    const lanes = co - o;
    const p = out + ((<usize>o) << 2);
    const below = <usize>ow * pixel;
    storeLanes(p, y00, lanes);
    if (rightCol) storeLanes(p + pixel, y01, lanes);
    if (lowerRow) {
      storeLanes(p + below, y10, lanes);
      if (rightCol) storeLanes(p + below + pixel, y11, lanes);
    }
  }
}

/** m[0][j] + m[1][j] + m[2][j]: column j of Aᵀ m's first row. */
function rowSum(src: usize, plane: usize, j: i32): v128 {
  const p = src + <usize>j * plane;
  return f32x4.add(f32x4.add(v128.load(p), v128.load(p + 4 * plane)), v128.load(p + 8 * plane));
}

/** m[1][j] − m[2][j] − m[3][j]: column j of Aᵀ m's second row. */
function rowDifference(src: usize, plane: usize, j: i32): v128 {
  const p = src + <usize>j * plane;
  return f32x4.sub(
    f32x4.sub(v128.load(p + 4 * plane), v128.load(p + 8 * plane)),
    v128.load(p + 12 * plane),
  );
}

/** The image of tile `tile` (2×2 output pixels; an image's ⌈oh/2⌉·⌈ow/2⌉ tiles in rows). */
function tileImage(tile: i32, oh: i32, ow: i32): i32 {
  return tile / (((oh + 1) >> 1) * ((ow + 1) >> 1));
}

/** The first output row of tile `tile`. */
function tileRow(tile: i32, oh: i32, ow: i32): i32 {
  const tw = (ow + 1) >> 1;
  return 2 * ((tile % (((oh + 1) >> 1) * tw)) / tw);
}

/** The first output column of tile `tile`. */
function tileCol(tile: i32, ow: i32): i32 {
  return 2 * (tile % ((ow + 1) >> 1));
}
