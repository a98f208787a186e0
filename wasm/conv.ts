// Convolution kernels for the TF.js WASM backend, compiled by AssemblyScript (scripts/build-wasm.mjs)
// into a module that imports the backend's own memory: tensors are passed as byte offsets into it.
// No data segments, no allocation: the module owns no memory of its own.

import { madd, storeLanes } from './simd';

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
          a00 = madd(s0, g0, a00);
          a01 = madd(s0, g1, a01);
          a10 = madd(s1, g0, a10);
          a11 = madd(s1, g1, a11);
          a20 = madd(s2, g0, a20);
          a21 = madd(s2, g1, a21);
          a30 = madd(s3, g0, a30);
          a31 = madd(s3, g1, a31);
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
  // The last 1-3 input channels, one at a time: eight output channels in two chains of sums
  // by pixel parity, so that consecutive pixels do not wait on each other's additions.
  for (; c < c1; c++) {
    const xc = xBase + ((<usize>c) << 2);
    let o = o0;
    for (; o + 8 <= o1; o += 8) {
      const d = dwTap + ((<usize>(c * co + o)) << 2);
      let a0 = v128.load(d);
      let a1 = v128.load(d, 16);
      let b0 = f32x4.splat(0);
      let b1 = f32x4.splat(0);
      for (let r = 0; r < rows; r++) {
        let xp = xc + <usize>r * xRowStep;
        let dp = dyBase + ((<usize>o) << 2) + <usize>r * dyRowStep;
        let k = 0;
        for (; k + 2 <= count; k += 2) {
          const s0 = v128.load32_splat(xp);
          const s1 = v128.load32_splat(xp + xStep);
          a0 = madd(s0, v128.load(dp), a0);
          a1 = madd(s0, v128.load(dp, 16), a1);
          b0 = madd(s1, v128.load(dp + dyStep), b0);
          b1 = madd(s1, v128.load(dp + dyStep, 16), b1);
          xp += 2 * xStep;
          dp += 2 * dyStep;
        }
        if (k < count) {
          const s0 = v128.load32_splat(xp);
          a0 = madd(s0, v128.load(dp), a0);
          a1 = madd(s0, v128.load(dp, 16), a1);
        }
      }
      v128.store(d, f32x4.add(a0, b0));
      v128.store(d, f32x4.add(a1, b1), 16);
    }
    for (; o + 4 <= o1; o += 4) {
      const d = dwTap + ((<usize>(c * co + o)) << 2);
      let a = v128.load(d);
      for (let r = 0; r < rows; r++) {
        let xp = xc + <usize>r * xRowStep;
        let dp = dyBase + ((<usize>o) << 2) + <usize>r * dyRowStep;
        for (let k = 0; k < count; k++) {
          a = madd(v128.load32_splat(xp), v128.load(dp), a);
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
 * Y[n, y, x, o] = Σ_{i,j,c} X[n, y·sh + i − top, x·sw + j − left, c] · W[i, j, c, o] (+ bias[o],
 * then ReLU, where given: `epilogue`): a stride-(sh, sw) NHWC convolution with filter
 * [fh, fw, Ci, Co]. Four output pixels times eight output channels accumulate in registers over
 * every tap; the four pixels are a row of four or, where `tall`, two rows of two (which waste
 * less on widths that are not a multiple of four: LeNet-5's 10×10 and 14×14 maps). The call
 * computes the tile rows [r0, r1) of all images (index n·⌈oh / rows per tile⌉ + tile row).
 * W is read as panels of eight output channels, a panel's row (one per tap and input channel)
 * eight adjacent floats, rows `rowFloats` apart: W itself where Co is a multiple of eight
 * (rowFloats = Co, a panel every eight floats), or a copy packed as [⌈Co/8⌉][fh·fw·Ci][8], zero
 * past Co (rowFloats = 8), which streams through the cache in order. Taps outside the image
 * read `zeros` (fw·Ci zero floats); `bias`, if not 0, is padded to whole panels.
 */
export function convForward(
  x: usize,
  packed: usize,
  rowFloats: i32,
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
  bias: usize,
  relu: i32,
  tall: i32,
  r0: i32,
  r1: i32,
): void {
  const pixelBytes = (<usize>ci) << 2;
  const rowBytes = <usize>wd * pixelBytes;
  const rowStep = (<usize>rowFloats) << 2;
  const panelBytes = rowFloats == 8 ? (<usize>(fh * fw * ci)) << 5 : 32;
  const outStep = (<usize>co) << 2;
  const outRowBytes = <usize>ow * outStep;
  // A tile's pixels q = 0 … 3: in a row (tall = 0), or q = 2, 3 in the row below q = 0, 1.
  const across = tall != 0 ? 2 : 4;
  const down = tall != 0 ? 2 : 1;
  const tilesDown = (oh + down - 1) / down;
  for (let row = r0; row < r1; row++) {
    const b = row / tilesDown;
    const y0 = (row - b * tilesDown) * down;
    const y1 = y0 + down - 1;
    const image = x + <usize>(b * h) * rowBytes;
    const out0 = y + <usize>(b * oh + y0) * outRowBytes;
    const out1 = y + <usize>(b * oh + y1) * outRowBytes;
    for (let o = 0; o < co; o += 8) {
      const panel = packed + <usize>(o >> 3) * panelBytes;
      const b0 = biasVector(bias, o);
      const b1 = biasVector(bias, o + 4);
      for (let px = 0; px < ow; px += across) {
        // Where each pixel lies (q = 2, 3: the second row of a tall tile); which exist.
        const c2 = tall != 0 ? 0 : 2;
        const c3 = tall != 0 ? 1 : 3;
        const has1 = px + 1 < ow;
        const has2 = tall != 0 ? y1 < oh : px + 2 < ow;
        const has3 = tall != 0 ? y1 < oh && has1 : px + 3 < ow;
        let a00 = f32x4.splat(0);
        let a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0);
        let a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0);
        let a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0);
        let a31 = f32x4.splat(0);
        let wp = panel;
        // Where the tile's windows lie inside the rows, each pixel's taps j = 0 … fw − 1 are
        // one run of fw·Ci floats: one pass over it, with no per-tap bounds checks.
        const inside =
          px + across <= ow && px * sw >= left && (px + across - 1) * sw + fw - left <= wd;
        const runs = inside ? 1 : fw;
        const run = inside ? fw * ci : ci;
        const last = min(across, ow - px) - 1;
        for (let i = 0; i < fh; i++) {
          const r = y0 * sh + i - top;
          const rb = y1 * sh + i - top;
          if ((r < 0 || r >= h) && (y1 >= oh || rb < 0 || rb >= h)) {
            wp += <usize>(fw * ci) * rowStep;
            continue;
          }
          for (let j = 0; j < runs; j++) {
            const col = px * sw + j - left;
            // A tap that every pixel of the tile reads in the padding adds nothing.
            if (col + last * sw < 0 || col >= wd) {
              wp += <usize>ci * rowStep;
              continue;
            }
            // Pixels past the map's edge (its last tiles) read zeros too; they are not stored.
            let p0 = source(image, zeros, r, col, h, wd, pixelBytes, rowBytes);
            let p1 = has1 ? source(image, zeros, r, col + sw, h, wd, pixelBytes, rowBytes) : zeros;
            // q = 2, 3 read row rb: the row below in a tall tile, r itself in a row of four.
            let p2 = has2
              ? source(image, zeros, rb, col + c2 * sw, h, wd, pixelBytes, rowBytes)
              : zeros;
            let p3 = has3
              ? source(image, zeros, rb, col + c3 * sw, h, wd, pixelBytes, rowBytes)
              : zeros;
            for (let c = 0; c < run; c++) {
              const w0 = v128.load(wp);
              const w1 = v128.load(wp, 16);
              const s0 = v128.load32_splat(p0);
              const s1 = v128.load32_splat(p1);
              const s2 = v128.load32_splat(p2);
              const s3 = v128.load32_splat(p3);
              a00 = madd(s0, w0, a00);
              a01 = madd(s0, w1, a01);
              a10 = madd(s1, w0, a10);
              a11 = madd(s1, w1, a11);
              a20 = madd(s2, w0, a20);
              a21 = madd(s2, w1, a21);
              a30 = madd(s3, w0, a30);
              a31 = madd(s3, w1, a31);
              p0 += 4;
              p1 += 4;
              p2 += 4;
              p3 += 4;
              wp += rowStep;
            }
          }
        }
        if (bias != 0 || relu != 0) {
          a00 = epilogue(a00, b0, relu);
          a01 = epilogue(a01, b1, relu);
          a10 = epilogue(a10, b0, relu);
          a11 = epilogue(a11, b1, relu);
          a20 = epilogue(a20, b0, relu);
          a21 = epilogue(a21, b1, relu);
          a30 = epilogue(a30, b0, relu);
          a31 = epilogue(a31, b1, relu);
        }
        const q0 = out0 + ((<usize>(px * co + o)) << 2);
        // q = 2, 3 go to row y1: the row below in a tall tile, y0 itself in a row of four.
        const q2 = out1 + ((<usize>((px + c2) * co + o)) << 2);
        const lanes = min(8, co - o);
        storePartial(q0, a00, a01, lanes);
        if (has1) storePartial(q0 + outStep, a10, a11, lanes);
        if (has2) storePartial(q2, a20, a21, lanes);
        if (has3) storePartial(q2 + outStep, a30, a31, lanes);
      }
    }
  }
}

/**
 * Channels o … o + 3 of a bias given padded to whole panels of eight (0: no bias), for the
 * forward kernels' epilogue.
 */
function biasVector(bias: usize, o: i32): v128 {
  return bias == 0 ? f32x4.splat(0) : v128.load(bias + ((<usize>o) << 2));
}

/**
 * A fused layer's tail: v + bias, then max(·, 0) where `relu` (NaN stays NaN). Both forward
 * kernels apply it to their eight accumulators in place: a helper taking all eight (and the
 * stores) is not inlined, and made conv1's forward pass 15–25 % slower.
 */
function epilogue(v: v128, bias: v128, relu: i32): v128 {
  const biased = f32x4.add(v, bias);
  return relu != 0 ? f32x4.max(biased, f32x4.splat(0)) : biased;
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

/** The first `lanes` (≤ 8) of the eight values in (lo, hi) to q, nothing beyond them. */
function storePartial(q: usize, lo: v128, hi: v128, lanes: i32): void {
  storeLanes(q, lo, lanes);
  if (lanes > 4) storeLanes(q + 16, hi, lanes - 4);
}

/**
 * The filter gradient of a convolution with one input channel (the first layer of a grayscale
 * network), for the tap rows [i0, i1): dW[i, j, 0, o] = Σ_{n,y,x} X[n, y·sh + i, x·sw + j] ·
 * dY[n, y, x, o]. X is given padded ([n, hp, wp]: every tap inside it, and four columns to
 * spare past the last tap, as taps come in blocks of five whose spares read there and are not
 * stored). Vectors run over eight output channels, and the five taps of a block share each load
 * of dY: where the general kernel loads dY once per tap. A block of fewer than eight channels
 * loads all eight (the next pixel's first channels, in lanes never stored), so the caller
 * leaves 32 readable bytes past dY's end. X's first four taps come as one load whose lanes are
 * broadcast in registers: loaded one by one, V8 11 (Node 20) loads all five ahead of their
 * multiplies and, short of registers, keeps two accumulators in memory (conv1 of LeNet-5,
 * batch 64, one thread: 1.10 → 0.52 ms in Node 20, 0.60 → 0.52 in Node 24).
 */
export function convFilterGradSingleChannel(
  x: usize,
  dy: usize,
  dw: usize,
  n: i32,
  hp: i32,
  wp: i32,
  oh: i32,
  ow: i32,
  co: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  i0: i32,
  i1: i32,
): void {
  const pixelStep = (<usize>co) << 2;
  const xStep = (<usize>sw) << 2;
  memory.fill(dw + <usize>(i0 * fw) * pixelStep, 0, <usize>((i1 - i0) * fw) * pixelStep);
  // About 64 pixels of dY at a time, which stay in cache through every pass over them.
  const block = max(1, 64 / ow);
  for (let row = 0; row < n * oh; row += block) {
    const rowEnd = min(n * oh, row + block);
    for (let i = i0; i < i1; i++) {
      for (let jb = 0; jb < fw; jb += 5) {
        const taps = min(5, fw - jb);
        for (let ob = 0; ob < co; ob += 8) {
          const lanes = min(8, co - ob);
          let a0 = f32x4.splat(0);
          let b0 = f32x4.splat(0);
          let a1 = f32x4.splat(0);
          let b1 = f32x4.splat(0);
          let a2 = f32x4.splat(0);
          let b2 = f32x4.splat(0);
          let a3 = f32x4.splat(0);
          let b3 = f32x4.splat(0);
          let a4 = f32x4.splat(0);
          let b4 = f32x4.splat(0);
          for (let r = row; r < rowEnd; r++) {
            const b = r / oh;
            let xp = x + ((<usize>((b * hp + (r - b * oh) * sh + i) * wp + jb)) << 2);
            let dp = dy + ((<usize>(r * ow * co + ob)) << 2);
            for (let k = 0; k < ow; k++) {
              const g0 = v128.load(dp);
              const g1 = v128.load(dp, 16);
              const taps03 = v128.load(xp);
              let s = i32x4.shuffle(taps03, taps03, 0, 0, 0, 0);
              a0 = madd(s, g0, a0);
              b0 = madd(s, g1, b0);
              s = i32x4.shuffle(taps03, taps03, 1, 1, 1, 1);
              a1 = madd(s, g0, a1);
              b1 = madd(s, g1, b1);
              s = i32x4.shuffle(taps03, taps03, 2, 2, 2, 2);
              a2 = madd(s, g0, a2);
              b2 = madd(s, g1, b2);
              s = i32x4.shuffle(taps03, taps03, 3, 3, 3, 3);
              a3 = madd(s, g0, a3);
              b3 = madd(s, g1, b3);
              s = v128.load32_splat(xp, 16);
              a4 = madd(s, g0, a4);
              b4 = madd(s, g1, b4);
              xp += xStep;
              dp += pixelStep;
            }
          }
          const tap = dw + ((<usize>((i * fw + jb) * co + ob)) << 2);
          addEight(tap, a0, b0, lanes);
          if (taps > 1) addEight(tap + pixelStep, a1, b1, lanes);
          if (taps > 2) addEight(tap + 2 * pixelStep, a2, b2, lanes);
          if (taps > 3) addEight(tap + 3 * pixelStep, a3, b3, lanes);
          if (taps > 4) addEight(tap + 4 * pixelStep, a4, b4, lanes);
        }
      }
    }
  }
}

/** Adds the first `lanes` (≤ 8) of (lo, hi) to the floats at q. */
function addEight(q: usize, lo: v128, hi: v128, lanes: i32): void {
  storeLanes(q, f32x4.add(loadLanes(q, lanes), lo), lanes);
  if (lanes > 4) storeLanes(q + 16, f32x4.add(loadLanes(q + 16, lanes - 4), hi), lanes - 4);
}

/** The first `lanes` floats at p as a vector, zero past them (no read beyond them). */
function loadLanes(p: usize, lanes: i32): v128 {
  if (lanes >= 4) return v128.load(p);
  if (lanes == 2) return v128.load64_zero(p);
  if (lanes == 1) return v128.load32_zero(p);
  if (lanes == 3) return f32x4.replace_lane(v128.load64_zero(p), 2, load<f32>(p, 8));
  return f32x4.splat(0);
}

/**
 * dX of a NHWC convolution with filter [fh, fw, Ci, Co] and strides (sh, sw), for the images
 * [b0, b1), by scattering: each dY pixel sends W[i, j] · dY[y, x] to the input pixel
 * (y·sh + i − top, x·sw + j − left) its tap (i, j) read, so no multiply is spent on padding or
 * on the zeros a transposed convolution inserts. `packed` holds W transposed to [fh, fw, Co, Ci]
 * in panels of eight input channels, [⌈Ci/8⌉][fh·fw·Co][8], zero past Ci; `zeros` is Co zero
 * floats, read for the pixels past a row's end. dX must be zero on entry.
 */
export function convInputGrad(
  dy: usize,
  packed: usize,
  dx: usize,
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
  b0: i32,
  b1: i32,
): void {
  const dyPixel = (<usize>co) << 2;
  const dxPixel = (<usize>ci) << 2;
  const panelBytes = (<usize>(fh * fw * co)) << 5;
  for (let b = b0; b < b1; b++) {
    for (let y = 0; y < oh; y++) {
      const dyRow = dy + <usize>(b * oh + y) * <usize>ow * dyPixel;
      for (let i = 0; i < fh; i++) {
        const r = y * sh + i - top;
        if (r < 0 || r >= h) continue;
        const dxRow = dx + <usize>(b * h + r) * <usize>wd * dxPixel;
        for (let c = 0; c < ci; c += 8) {
          const lanes = min(8, ci - c);
          const panel = packed + <usize>(c >> 3) * panelBytes;
          for (let px = 0; px < ow; px += 4) {
            const pixels = min(4, ow - px);
            const p0 = dyRow + <usize>px * dyPixel;
            const p1 = pixels > 1 ? p0 + dyPixel : zeros;
            const p2 = pixels > 2 ? p0 + 2 * dyPixel : zeros;
            const p3 = pixels > 3 ? p0 + 3 * dyPixel : zeros;
            for (let j = 0; j < fw; j++) {
              const col = px * sw + j - left;
              // Every target column left of the row or right of it: nothing to send.
              if (col + (pixels - 1) * sw < 0 || col >= wd) continue;
              let a00 = f32x4.splat(0);
              let a01 = f32x4.splat(0);
              let a10 = f32x4.splat(0);
              let a11 = f32x4.splat(0);
              let a20 = f32x4.splat(0);
              let a21 = f32x4.splat(0);
              let a30 = f32x4.splat(0);
              let a31 = f32x4.splat(0);
              let wp = panel + ((<usize>((i * fw + j) * co)) << 5);
              let q0 = p0;
              let q1 = p1;
              let q2 = p2;
              let q3 = p3;
              for (let o = 0; o < co; o++) {
                const w0 = v128.load(wp);
                const w1 = v128.load(wp, 16);
                const s0 = v128.load32_splat(q0);
                const s1 = v128.load32_splat(q1);
                const s2 = v128.load32_splat(q2);
                const s3 = v128.load32_splat(q3);
                a00 = madd(s0, w0, a00);
                a01 = madd(s0, w1, a01);
                a10 = madd(s1, w0, a10);
                a11 = madd(s1, w1, a11);
                a20 = madd(s2, w0, a20);
                a21 = madd(s2, w1, a21);
                a30 = madd(s3, w0, a30);
                a31 = madd(s3, w1, a31);
                q0 += 4;
                q1 += 4;
                q2 += 4;
                q3 += 4;
                wp += 32;
              }
              const target = dxRow + ((<usize>c) << 2);
              addInto(target, col, wd, dxPixel, a00, a01, lanes);
              if (pixels > 1) addInto(target, col + sw, wd, dxPixel, a10, a11, lanes);
              if (pixels > 2) addInto(target, col + 2 * sw, wd, dxPixel, a20, a21, lanes);
              if (pixels > 3) addInto(target, col + 3 * sw, wd, dxPixel, a30, a31, lanes);
            }
          }
        }
      }
    }
  }
}

/** Adds the first `lanes` of (lo, hi) to the channels at column `col` of a row, if inside it. */
function addInto(
  row: usize,
  col: i32,
  wd: i32,
  pixelBytes: usize,
  lo: v128,
  hi: v128,
  lanes: i32,
): void {
  if (col >= 0 && col < wd) addEight(row + <usize>col * pixelBytes, lo, hi, lanes);
}

/**
 * Y[n, y, x, o] = Σ_{i,j} X[n, y·sh + i, x·sw + j] · W[i, j, 0, o] (+ bias[o], then ReLU, where
 * given: `epilogue`) for the output rows [r0, r1) (row index n·oh + y) of a convolution with one
 * input channel. X is given padded ([n, hp, wp]:
 * every tap of every four-pixel tile inside it, the last tile's spare pixels included), so no
 * tap needs a bounds check — the general kernel's per-tap checks cost more than its multiplies
 * when a tap is a single channel. `packed` holds W as panels of eight output channels,
 * [⌈Co/8⌉][fh·fw][8], zero past Co.
 */
export function convForwardSingleChannel(
  x: usize,
  packed: usize,
  y: usize,
  hp: i32,
  wp: i32,
  oh: i32,
  ow: i32,
  co: i32,
  fh: i32,
  fw: i32,
  sh: i32,
  sw: i32,
  bias: usize,
  relu: i32,
  r0: i32,
  r1: i32,
): void {
  const panelBytes = (<usize>(fh * fw)) << 5;
  const outStep = (<usize>co) << 2;
  const xStep = (<usize>sw) << 2;
  for (let row = r0; row < r1; row++) {
    const b = row / oh;
    const yy = row - b * oh;
    const image = x + ((<usize>(b * hp + yy * sh) * <usize>wp) << 2);
    const outRow = y + ((<usize>row * <usize>ow * <usize>co) << 2);
    for (let o = 0; o < co; o += 8) {
      const panel = packed + <usize>(o >> 3) * panelBytes;
      const lanes = min(8, co - o);
      const b0 = biasVector(bias, o);
      const b1 = biasVector(bias, o + 4);
      for (let px = 0; px < ow; px += 4) {
        let a00 = f32x4.splat(0);
        let a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0);
        let a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0);
        let a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0);
        let a31 = f32x4.splat(0);
        let wq = panel;
        for (let i = 0; i < fh; i++) {
          let p = image + ((<usize>(i * wp + px * sw)) << 2);
          for (let j = 0; j < fw; j++) {
            const w0 = v128.load(wq);
            const w1 = v128.load(wq, 16);
            const s0 = v128.load32_splat(p);
            const s1 = v128.load32_splat(p + xStep);
            const s2 = v128.load32_splat(p + 2 * xStep);
            const s3 = v128.load32_splat(p + 3 * xStep);
            a00 = madd(s0, w0, a00);
            a01 = madd(s0, w1, a01);
            a10 = madd(s1, w0, a10);
            a11 = madd(s1, w1, a11);
            a20 = madd(s2, w0, a20);
            a21 = madd(s2, w1, a21);
            a30 = madd(s3, w0, a30);
            a31 = madd(s3, w1, a31);
            p += 4;
            wq += 32;
          }
        }
        if (bias != 0 || relu != 0) {
          a00 = epilogue(a00, b0, relu);
          a01 = epilogue(a01, b1, relu);
          a10 = epilogue(a10, b0, relu);
          a11 = epilogue(a11, b1, relu);
          a20 = epilogue(a20, b0, relu);
          a21 = epilogue(a21, b1, relu);
          a30 = epilogue(a30, b0, relu);
          a31 = epilogue(a31, b1, relu);
        }
        const q = outRow + ((<usize>(px * co + o)) << 2);
        const pixels = min(4, ow - px);
        storePartial(q, a00, a01, lanes);
        if (pixels > 1) storePartial(q + outStep, a10, a11, lanes);
        if (pixels > 2) storePartial(q + 2 * outStep, a20, a21, lanes);
        if (pixels > 3) storePartial(q + 3 * outStep, a30, a31, lanes);
      }
    }
  }
}
