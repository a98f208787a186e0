// Convolutions with a single output channel (a generator's last layer: 64 → 1 channels), whose
// vectors run over the input channels instead: the general kernels' vectors of eight output
// channels would carry one. X [n, h, w, Ci] with Ci a multiple of 4, W [fh, fw, Ci, 1].

import { madd, storeLanes } from './simd';

/**
 * Y[n, y, x] = Σ_{i,j,c} X[n, y·sh + i − top, x·sw + j − left, c] · W[i, j, c] (+ bias, then ReLU,
 * where given: the scalar at `bias`, `relu` ≠ 0) for the output rows [r0, r1) (row index
 * n·oh + y), four pixels at a time. Taps outside X read `zeros` (Ci floats of zeros).
 */
export function convForwardOneOutput(
  x: usize,
  filter: usize,
  y: usize,
  zeros: usize,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  bias: usize,
  relu: i32,
  r0: i32,
  r1: i32,
): void {
  const pixel = (<usize>ci) << 2;
  const rowBytes = <usize>wd * pixel;
  const shift = bias == 0 ? f32x4.splat(0) : f32x4.splat(load<f32>(bias));
  for (let row = r0; row < r1; row++) {
    const b = row / oh;
    const yy = row - b * oh;
    const image = x + <usize>(b * h) * rowBytes;
    const out = y + ((<usize>row * <usize>ow) << 2);
    for (let px = 0; px < ow; px += 4) {
      // Two accumulators per pixel (even and odd vectors of channels): eight independent chains.
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0);
      let b1 = f32x4.splat(0);
      let b2 = f32x4.splat(0);
      let b3 = f32x4.splat(0);
      for (let i = 0; i < fh; i++) {
        const r = yy * sh + i - top;
        if (r < 0 || r >= h) continue;
        const line = image + <usize>r * rowBytes;
        for (let j = 0; j < fw; j++) {
          const col = px * sw + j - left;
          // A tile's pixels past the output read what they read: they are not stored.
          const p0 = pixelAt(line, zeros, col, wd, pixel);
          const p1 = pixelAt(line, zeros, col + sw, wd, pixel);
          const p2 = pixelAt(line, zeros, col + 2 * sw, wd, pixel);
          const p3 = pixelAt(line, zeros, col + 3 * sw, wd, pixel);
          const wq = filter + <usize>(i * fw + j) * pixel;
          let v: usize = 0;
          for (; v + 32 <= pixel; v += 32) {
            const w0 = v128.load(wq + v);
            const w1 = v128.load(wq + v, 16);
            a0 = madd(v128.load(p0 + v), w0, a0);
            a1 = madd(v128.load(p1 + v), w0, a1);
            a2 = madd(v128.load(p2 + v), w0, a2);
            a3 = madd(v128.load(p3 + v), w0, a3);
            b0 = madd(v128.load(p0 + v, 16), w1, b0);
            b1 = madd(v128.load(p1 + v, 16), w1, b1);
            b2 = madd(v128.load(p2 + v, 16), w1, b2);
            b3 = madd(v128.load(p3 + v, 16), w1, b3);
          }
          if (v < pixel) {
            const w0 = v128.load(wq + v);
            a0 = madd(v128.load(p0 + v), w0, a0);
            a1 = madd(v128.load(p1 + v), w0, a1);
            a2 = madd(v128.load(p2 + v), w0, a2);
            a3 = madd(v128.load(p3 + v), w0, a3);
          }
        }
      }
      a0 = f32x4.add(a0, b0);
      a1 = f32x4.add(a1, b1);
      a2 = f32x4.add(a2, b2);
      a3 = f32x4.add(a3, b3);
      let sums = f32x4.add(horizontalSums(a0, a1, a2, a3), shift);
      if (relu != 0) sums = f32x4.max(sums, f32x4.splat(0));
      storeLanes(out + ((<usize>px) << 2), sums, ow - px);
    }
  }
}

/**
 * dW[i, j, c] = Σ_{n,y,x} X[n, y·sh + i − top, x·sw + j − left, c] · dY[n, y, x] over n images
 * (taps outside X add nothing), written whole into dw. Per output row and tap, blocks of
 * sixteen channels add up a row's pixels in registers.
 */
export function convFilterGradOneOutput(
  x: usize,
  dy: usize,
  dw: usize,
  n: i32,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
): void {
  const pixel = (<usize>ci) << 2;
  const rowBytes = <usize>wd * pixel;
  const step = <usize>sw * pixel;
  memory.fill(dw, 0, <usize>(fh * fw) * pixel);
  for (let row = 0; row < n * oh; row++) {
    const b = row / oh;
    const yy = row - b * oh;
    const image = x + <usize>(b * h) * rowBytes;
    const grads = dy + ((<usize>row * <usize>ow) << 2);
    for (let i = 0; i < fh; i++) {
      const r = yy * sh + i - top;
      if (r < 0 || r >= h) continue;
      const line = image + <usize>r * rowBytes;
      for (let j = 0; j < fw; j++) {
        // The output columns whose tap j lands inside the row, 0 ≤ x·sw + j − left < wd (i32
        // division truncates towards zero: a negative bound is clamped before it divides).
        const x0 = (max(0, left - j) + sw - 1) / sw;
        const x1 = min(ow, (max(0, wd - j + left) + sw - 1) / sw);
        if (x0 >= x1) continue;
        const acc = dw + <usize>(i * fw + j) * pixel;
        const first = line + <usize>(x0 * sw + j - left) * pixel;
        let v: usize = 0;
        for (; v + 64 <= pixel; v += 64) {
          let a0 = v128.load(acc + v);
          let a1 = v128.load(acc + v, 16);
          let a2 = v128.load(acc + v, 32);
          let a3 = v128.load(acc + v, 48);
          let p = first + v;
          for (let xx = x0; xx < x1; xx++) {
            const g = v128.load32_splat(grads + ((<usize>xx) << 2));
            a0 = madd(v128.load(p), g, a0);
            a1 = madd(v128.load(p, 16), g, a1);
            a2 = madd(v128.load(p, 32), g, a2);
            a3 = madd(v128.load(p, 48), g, a3);
            p += step;
          }
          v128.store(acc + v, a0);
          v128.store(acc + v, a1, 16);
          v128.store(acc + v, a2, 32);
          v128.store(acc + v, a3, 48);
        }
        for (; v < pixel; v += 16) {
          let a = v128.load(acc + v);
          let p = first + v;
          for (let xx = x0; xx < x1; xx++) {
            a = madd(v128.load(p), v128.load32_splat(grads + ((<usize>xx) << 2)), a);
            p += step;
          }
          v128.store(acc + v, a);
        }
      }
    }
  }
}

/** The address of pixel `col` of a row, or `zeros` outside it. */
function pixelAt(line: usize, zeros: usize, col: i32, wd: i32, pixel: usize): usize {
  return col < 0 || col >= wd ? zeros : line + <usize>col * pixel;
}

/** [Σ a0, Σ a1, Σ a2, Σ a3], each sum over a vector's four lanes. */
function horizontalSums(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  // [a0₀ + a0₂, a1₀ + a1₂, a0₁ + a0₃, a1₁ + a1₃], and the same for a2, a3.
  const s01 = f32x4.add(
    v128.shuffle<f32>(a0, a1, 0, 4, 1, 5),
    v128.shuffle<f32>(a0, a1, 2, 6, 3, 7),
  );
  const s23 = f32x4.add(
    v128.shuffle<f32>(a2, a3, 0, 4, 1, 5),
    v128.shuffle<f32>(a2, a3, 2, 6, 3, 7),
  );
  return f32x4.add(
    v128.shuffle<f32>(s01, s23, 0, 1, 4, 5),
    v128.shuffle<f32>(s01, s23, 2, 3, 6, 7),
  );
}
