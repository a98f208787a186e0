// Convolution kernels for the TF.js WASM backend, compiled by AssemblyScript (scripts/build-wasm.mjs)
// into a module that imports the backend's own memory: tensors are passed as byte offsets into it.
// No data segments, no allocation: the module owns no memory of its own.

/**
 * dW[i, j, c, o] += Σ_{y,x} X[n, y·sh + i − top, x·sw + j − left, c] · dY[n, y, x, o] over `rows`
 * output rows y and the columns [x0, x1), for the (c, o) block [c0, c1) × [o0, o1) of one tap
 * (i, j). X and dY are NHWC; dW is [fh, fw, Ci, Co]. Several rows per call keep the dW block in
 * registers longer: it is loaded and stored once per call.
 */
function rowTap(
  xRow: usize, // &X[n, y·sh + i − top, 0, 0] of the first row
  dyRow: usize, // &dY[n, y, 0, 0] of the first row
  rows: i32,
  xRowStep: usize, // bytes from one input row used to the next (sh image rows)
  dyRowStep: usize,
  dwTap: usize, // &dW[i, j, 0, 0]
  x0: i32,
  x1: i32,
  srcX0: i32, // x0·sw + j − left
  sw: i32,
  ci: i32,
  co: i32,
  c0: i32,
  c1: i32,
  o0: i32,
  o1: i32,
): void {
  const xStep = (<usize>(sw * ci)) << 2;
  const dyStep = (<usize>co) << 2;
  const count = x1 - x0;
  const xBase = xRow + ((<usize>(srcX0 * ci)) << 2);
  const dyBase = dyRow + ((<usize>(x0 * co)) << 2);
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const xc = xBase + ((<usize>c) << 2);
    let o = o0;
    for (; o + 8 <= o1; o += 8) {
      const d = dwTap + ((<usize>(c * co + o)) << 2);
      const rs = (<usize>co) << 2;
      let a00 = v128.load(d);
      let a01 = v128.load(d, 16);
      let a10 = v128.load(d + rs);
      let a11 = v128.load(d + rs, 16);
      let a20 = v128.load(d + 2 * rs);
      let a21 = v128.load(d + 2 * rs, 16);
      let a30 = v128.load(d + 3 * rs);
      let a31 = v128.load(d + 3 * rs, 16);
      for (let r = 0; r < rows; r++) {
        let xp = xc + <usize>r * xRowStep;
        let dp = dyBase + ((<usize>o) << 2) + <usize>r * dyRowStep;
        for (let k = 0; k < count; k++) {
          const g0 = v128.load(dp);
          const g1 = v128.load(dp, 16);
          const s0 = v128.load32_splat(xp);
          const s1 = v128.load32_splat(xp, 4);
          const s2 = v128.load32_splat(xp, 8);
          const s3 = v128.load32_splat(xp, 12);
          a00 = f32x4.add(a00, f32x4.mul(s0, g0));
          a01 = f32x4.add(a01, f32x4.mul(s0, g1));
          a10 = f32x4.add(a10, f32x4.mul(s1, g0));
          a11 = f32x4.add(a11, f32x4.mul(s1, g1));
          a20 = f32x4.add(a20, f32x4.mul(s2, g0));
          a21 = f32x4.add(a21, f32x4.mul(s2, g1));
          a30 = f32x4.add(a30, f32x4.mul(s3, g0));
          a31 = f32x4.add(a31, f32x4.mul(s3, g1));
          xp += xStep;
          dp += dyStep;
        }
      }
      v128.store(d, a00);
      v128.store(d, a01, 16);
      v128.store(d + rs, a10);
      v128.store(d + rs, a11, 16);
      v128.store(d + 2 * rs, a20);
      v128.store(d + 2 * rs, a21, 16);
      v128.store(d + 3 * rs, a30);
      v128.store(d + 3 * rs, a31, 16);
    }
    for (; o < o1; o++) {
      for (let cc = c; cc < c + 4; cc++) {
        for (let r = 0; r < rows; r++) {
          scalarDot(
            xBase + <usize>r * xRowStep,
            dyBase + <usize>r * dyRowStep,
            dwTap,
            count,
            xStep,
            dyStep,
            co,
            cc,
            o,
          );
        }
      }
    }
  }
  for (; c < c1; c++) {
    const xc = xBase + ((<usize>c) << 2);
    let o = o0;
    for (; o + 4 <= o1; o += 4) {
      const d = dwTap + ((<usize>(c * co + o)) << 2);
      let a = v128.load(d);
      for (let r = 0; r < rows; r++) {
        let xp = xc + <usize>r * xRowStep;
        let dp = dyBase + ((<usize>o) << 2) + <usize>r * dyRowStep;
        for (let k = 0; k < count; k++) {
          a = f32x4.add(a, f32x4.mul(v128.load32_splat(xp), v128.load(dp)));
          xp += xStep;
          dp += dyStep;
        }
      }
      v128.store(d, a);
    }
    for (; o < o1; o++) {
      for (let r = 0; r < rows; r++) {
        scalarDot(
          xBase + <usize>r * xRowStep,
          dyBase + <usize>r * dyRowStep,
          dwTap,
          count,
          xStep,
          dyStep,
          co,
          c,
          o,
        );
      }
    }
  }
}

/** One dW entry's share of a row: the tails that vectors do not cover. */
function scalarDot(
  xBase: usize,
  dyBase: usize,
  dwTap: usize,
  count: i32,
  xStep: usize,
  dyStep: usize,
  co: i32,
  c: i32,
  o: i32,
): void {
  const d = dwTap + ((<usize>(c * co + o)) << 2);
  let sum = load<f32>(d);
  let xp = xBase + ((<usize>c) << 2);
  let dp = dyBase + ((<usize>o) << 2);
  for (let k = 0; k < count; k++) {
    sum += load<f32>(xp) * load<f32>(dp);
    xp += xStep;
    dp += dyStep;
  }
  store<f32>(d, sum);
}

/**
 * The filter gradient of a stride-(sh, sw) NHWC convolution with filter [fh, fw, Ci, Co] and
 * top/left padding, for the block [c0, c1) × [o0, o1) of (Ci, Co): the caller splits that plane
 * between threads, each writing its own block of dW (zeroed here first).
 */
export function convFilterGrad(
  x: usize,
  dy: usize,
  dw: usize,
  n: i32,
  h: i32,
  w: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  c0: i32,
  c1: i32,
  o0: i32,
  o1: i32,
): void {
  const tapSize = (<usize>(ci * co)) << 2;
  for (let t = 0; t < fh * fw; t++) {
    for (let c = c0; c < c1; c++) {
      memory.fill(
        dw + <usize>t * tapSize + ((<usize>(c * co + o0)) << 2),
        0,
        (<usize>(o1 - o0)) << 2,
      );
    }
  }
  const rowBytes = (<usize>(w * ci)) << 2;
  const dyRowBytes = (<usize>(ow * co)) << 2;
  // Output rows per call of rowTap: about 64 pixels.
  const block = max(1, 64 / ow);
  for (let b = 0; b < n; b++) {
    for (let yb = 0; yb < oh; yb += block) {
      const ye = min(oh, yb + block);
      for (let i = 0; i < fh; i++) {
        // Rows whose input row y·sh + i − top lies inside the image.
        let y0 = yb;
        while (y0 < ye && y0 * sh + i - top < 0) y0++;
        let y1 = ye;
        while (y1 > y0 && (y1 - 1) * sh + i - top >= h) y1--;
        if (y0 >= y1) continue;
        const xRow = x + <usize>(b * h + y0 * sh + i - top) * rowBytes;
        const dyRow = dy + <usize>(b * oh + y0) * dyRowBytes;
        for (let j = 0; j < fw; j++) {
          // Columns whose input column x·sw + j − left lies inside the image.
          let x0 = 0;
          while (x0 < ow && x0 * sw + j - left < 0) x0++;
          let x1 = ow;
          while (x1 > x0 && (x1 - 1) * sw + j - left >= w) x1--;
          if (x0 >= x1) continue;
          rowTap(
            xRow,
            dyRow,
            y1 - y0,
            <usize>sh * rowBytes,
            dyRowBytes,
            dw + <usize>(i * fw + j) * tapSize,
            x0,
            x1,
            x0 * sw + j - left,
            sw,
            ci,
            co,
            c0,
            c1,
            o0,
            o1,
          );
        }
      }
    }
  }
}

/**
 * Y[n, y, x, o] = Σ_{i,j,c} X[n, y·sh + i − top, x·sw + j − left, c] · W[i, j, c, o] for the
 * output rows [r0, r1) of all images (row index n·oh + y): a stride-(sh, sw) NHWC convolution
 * with filter [fh, fw, Ci, Co]. `packed` holds W as panels of eight output channels,
 * [⌈Co/8⌉][fh·fw·Ci][8], zero past Co, so a panel streams through the cache in order; taps
 * outside the image read `zeros` (Ci zero floats). Four output pixels times eight output
 * channels accumulate in registers over every tap.
 */
export function convForward(
  x: usize,
  packed: usize,
  y: usize,
  zeros: usize,
  h: i32,
  wd: i32,
  ci: i32,
  oh: i32,
  ow: i32,
  co: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  top: i32,
  left: i32,
  r0: i32,
  r1: i32,
): void {
  const pixelBytes = (<usize>ci) << 2;
  const rowBytes = <usize>wd * pixelBytes;
  const panelBytes = (<usize>(fh * fw * ci)) << 5;
  const outStep = (<usize>co) << 2;
  for (let row = r0; row < r1; row++) {
    const b = row / oh;
    const yy = row - b * oh;
    const image = x + <usize>(b * h) * rowBytes;
    const outRow = y + ((<usize>row * <usize>ow * <usize>co) << 2);
    for (let o = 0; o < co; o += 8) {
      const panel = packed + <usize>(o >> 3) * panelBytes;
      for (let px = 0; px < ow; px += 4) {
        let a00 = f32x4.splat(0);
        let a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0);
        let a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0);
        let a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0);
        let a31 = f32x4.splat(0);
        let wp = panel;
        for (let i = 0; i < fh; i++) {
          const r = yy * sh + i - top;
          if (r < 0 || r >= h) {
            wp += (<usize>(fw * ci)) << 5;
            continue;
          }
          for (let j = 0; j < fw; j++) {
            const col = px * sw + j - left;
            // Pixels past the row's end (its last tile) read zeros too; they are not stored.
            let p0 = source(image, zeros, r, col, h, wd, pixelBytes, rowBytes);
            let p1 =
              px + 1 < ow ? source(image, zeros, r, col + sw, h, wd, pixelBytes, rowBytes) : zeros;
            let p2 =
              px + 2 < ow
                ? source(image, zeros, r, col + 2 * sw, h, wd, pixelBytes, rowBytes)
                : zeros;
            let p3 =
              px + 3 < ow
                ? source(image, zeros, r, col + 3 * sw, h, wd, pixelBytes, rowBytes)
                : zeros;
            for (let c = 0; c < ci; c++) {
              const w0 = v128.load(wp);
              const w1 = v128.load(wp, 16);
              const s0 = v128.load32_splat(p0);
              const s1 = v128.load32_splat(p1);
              const s2 = v128.load32_splat(p2);
              const s3 = v128.load32_splat(p3);
              a00 = f32x4.add(a00, f32x4.mul(s0, w0));
              a01 = f32x4.add(a01, f32x4.mul(s0, w1));
              a10 = f32x4.add(a10, f32x4.mul(s1, w0));
              a11 = f32x4.add(a11, f32x4.mul(s1, w1));
              a20 = f32x4.add(a20, f32x4.mul(s2, w0));
              a21 = f32x4.add(a21, f32x4.mul(s2, w1));
              a30 = f32x4.add(a30, f32x4.mul(s3, w0));
              a31 = f32x4.add(a31, f32x4.mul(s3, w1));
              p0 += 4;
              p1 += 4;
              p2 += 4;
              p3 += 4;
              wp += 32;
            }
          }
        }
        const q = outRow + ((<usize>(px * co + o)) << 2);
        if (px + 4 <= ow && o + 8 <= co) {
          v128.store(q, a00);
          v128.store(q, a01, 16);
          v128.store(q + outStep, a10);
          v128.store(q + outStep, a11, 16);
          v128.store(q + 2 * outStep, a20);
          v128.store(q + 2 * outStep, a21, 16);
          v128.store(q + 3 * outStep, a30);
          v128.store(q + 3 * outStep, a31, 16);
        } else {
          const pixels = min(4, ow - px);
          const lanes = min(8, co - o);
          storePartial(q, a00, a01, lanes);
          if (pixels > 1) storePartial(q + outStep, a10, a11, lanes);
          if (pixels > 2) storePartial(q + 2 * outStep, a20, a21, lanes);
          if (pixels > 3) storePartial(q + 3 * outStep, a30, a31, lanes);
        }
      }
    }
  }
}

/** The address of X[b, r, col, 0] in `image`, or `zeros` outside it. */
function source(
  image: usize,
  zeros: usize,
  r: i32,
  col: i32,
  h: i32,
  wd: i32,
  pixelBytes: usize,
  rowBytes: usize,
): usize {
  return r < 0 || r >= h || col < 0 || col >= wd
    ? zeros
    : image + <usize>r * rowBytes + <usize>col * pixelBytes;
}

/** The first `lanes` (< 8) of the eight values in (lo, hi) to q. */
function storePartial(q: usize, lo: v128, hi: v128, lanes: i32): void {
  if (lanes > 0) store<f32>(q, f32x4.extract_lane(lo, 0));
  if (lanes > 1) store<f32>(q, f32x4.extract_lane(lo, 1), 4);
  if (lanes > 2) store<f32>(q, f32x4.extract_lane(lo, 2), 8);
  if (lanes > 3) store<f32>(q, f32x4.extract_lane(lo, 3), 12);
  if (lanes > 4) store<f32>(q, f32x4.extract_lane(hi, 0), 16);
  if (lanes > 5) store<f32>(q, f32x4.extract_lane(hi, 1), 20);
  if (lanes > 6) store<f32>(q, f32x4.extract_lane(hi, 2), 24);
  if (lanes > 7) store<f32>(q, f32x4.extract_lane(hi, 3), 28);
}
