// The gradient of max pooling (src/core/runtime/wasm-kernels.ts), NHWC, vectorised over channels.

/**
 * dX[n, y, x, c] += dY[n, oy, ox, c] for each window's first maximum (row-major tap order,
 * padding never a maximum), the CPU backend's rule for ties. dX must hold zeros; it is [n, h, w,
 * ci] like X, dY is [n, oh, ow, ci]. Pointers are byte offsets.
 */
export function maxPoolGrad(
  x: usize,
  dy: usize,
  dx: usize,
  n: i32,
  h: i32,
  w: i32,
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
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * sh - top, 0);
      const y1 = min(oy * sh - top + fh, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * sw - left, 0);
        const x1 = min(ox * sw - left + fw, w);
        if (y0 >= y1 || x0 >= x1) continue;
        const first = (b * h + y0) * w + x0; // the window's first pixel, in pixels
        const g = dy + ((<usize>(((b * oh + oy) * ow + ox) * ci)) << 2);
        let c = 0;
        for (; c + 4 <= ci; c += 4) {
          let best = v128.load(x + ((<usize>(first * ci + c)) << 2));
          let at = i32x4.splat(first);
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const pixel = (b * h + y) * w + xx;
              const v = v128.load(x + ((<usize>(pixel * ci + c)) << 2));
              // Strictly greater: an equal later tap does not take the first one's place.
              const later = f32x4.gt(v, best);
              best = v128.bitselect(v, best, later);
              at = v128.bitselect(i32x4.splat(pixel), at, later);
            }
          }
          const grads = v128.load(g + ((<usize>c) << 2));
          addAt(dx, i32x4.extract_lane(at, 0), ci, c, f32x4.extract_lane(grads, 0));
          addAt(dx, i32x4.extract_lane(at, 1), ci, c + 1, f32x4.extract_lane(grads, 1));
          addAt(dx, i32x4.extract_lane(at, 2), ci, c + 2, f32x4.extract_lane(grads, 2));
          addAt(dx, i32x4.extract_lane(at, 3), ci, c + 3, f32x4.extract_lane(grads, 3));
        }
        for (; c < ci; c++) {
          let best = load<f32>(x + ((<usize>(first * ci + c)) << 2));
          let at = first;
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const pixel = (b * h + y) * w + xx;
              const v = load<f32>(x + ((<usize>(pixel * ci + c)) << 2));
              if (v > best) {
                best = v;
                at = pixel;
              }
            }
          }
          addAt(dx, at, ci, c, load<f32>(g + ((<usize>c) << 2)));
        }
      }
    }
  }
}

function addAt(dx: usize, pixel: i32, ci: i32, c: i32, value: f32): void {
  const p = dx + ((<usize>(pixel * ci + c)) << 2);
  store<f32>(p, load<f32>(p) + value);
}

/**
 * maxPoolGrad for windows that tile X exactly (fh = sh, fw = sw, oh·fh = h, ow·fw = w, no
 * padding; ci ≥ 4), for the output rows [r0, r1) (row index n·oh + oy): every pixel of those
 * rows' windows in dX is written once — the window's gradient at its first maximum, zero
 * elsewhere — so dX need not be zeroed first and no pixel is read back. Channels go four at a
 * time; the last block starts at ci − 4, rewriting some channels with the values they already
 * hold.
 */
export function maxPoolGradTiled(
  x: usize,
  dy: usize,
  dx: usize,
  h: i32,
  w: i32,
  ci: i32,
  fh: i32,
  fw: i32,
  r0: i32,
  r1: i32,
): void {
  const oh = h / fh;
  const ow = w / fw;
  const rowBytes = (<usize>(w * ci)) << 2;
  const zero = f32x4.splat(0);
  for (let row = r0; row < r1; row++) {
    const b = row / oh;
    const oy = row - b * oh;
    for (let ox = 0; ox < ow; ox++) {
      const corner = (<usize>(((b * h + oy * fh) * w + ox * fw) * ci)) << 2;
      const g = dy + ((<usize>((row * ow + ox) * ci)) << 2);
      for (let c0 = 0; c0 < ci; c0 += 4) {
        const c = min(c0, ci - 4);
        const first = corner + ((<usize>c) << 2);
        let best = v128.load(x + first);
        let at = i32x4.splat(0);
        for (let i = 0; i < fh; i++) {
          for (let j = 0; j < fw; j++) {
            const v = v128.load(x + first + <usize>i * rowBytes + ((<usize>(j * ci)) << 2));
            // Strictly greater: an equal later tap does not take the first one's place.
            const later = f32x4.gt(v, best);
            best = v128.bitselect(v, best, later);
            at = v128.bitselect(i32x4.splat(i * fw + j), at, later);
          }
        }
        const grads = v128.load(g + ((<usize>c) << 2));
        for (let i = 0; i < fh; i++) {
          for (let j = 0; j < fw; j++) {
            const mine = i32x4.eq(at, i32x4.splat(i * fw + j));
            const p = dx + first + <usize>i * rowBytes + ((<usize>(j * ci)) << 2);
            v128.store(p, v128.bitselect(grads, zero, mine));
          }
        }
      }
    }
  }
}
