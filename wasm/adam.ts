// One Adam step over a variable, in one pass (src/core/runtime/adam.ts): the stock optimizer's
// fourteen element-wise ops, in its order, each rounded to f32 as its kernels round them
// (WASM SIMD's add, mul, div and sqrt are IEEE single precision, so the results are the same).

/**
 * newM = m·b1 + g·c1; newV = v·b2 + (g·g)·c2;
 * newValue = (newM/a1) / (sqrt(newV/a2) + eps) · step + value, with c = 1 − b, a = 1 − b^t and
 * step = −learning rate. All arrays hold n f32 values; pointers are byte offsets.
 */
export function adamUpdate(
  value: usize,
  m: usize,
  v: usize,
  g: usize,
  newValue: usize,
  newM: usize,
  newV: usize,
  n: i32,
  b1: f32,
  b2: f32,
  c1: f32,
  c2: f32,
  a1: f32,
  a2: f32,
  eps: f32,
  step: f32,
): void {
  const B1 = f32x4.splat(b1);
  const B2 = f32x4.splat(b2);
  const C1 = f32x4.splat(c1);
  const C2 = f32x4.splat(c2);
  const A1 = f32x4.splat(a1);
  const A2 = f32x4.splat(a2);
  const EPS = f32x4.splat(eps);
  const STEP = f32x4.splat(step);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = (<usize>i) << 2;
    const gi = v128.load(g + at);
    const mi = f32x4.add(f32x4.mul(v128.load(m + at), B1), f32x4.mul(gi, C1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + at), B2), f32x4.mul(f32x4.mul(gi, gi), C2));
    const denominator = f32x4.add(f32x4.sqrt(f32x4.div(vi, A2)), EPS);
    const update = f32x4.mul(f32x4.div(f32x4.div(mi, A1), denominator), STEP);
    v128.store(newValue + at, f32x4.add(update, v128.load(value + at)));
    v128.store(newM + at, mi);
    v128.store(newV + at, vi);
  }
  for (; i < n; i++) {
    const at = (<usize>i) << 2;
    const gi = load<f32>(g + at);
    const mi = load<f32>(m + at) * b1 + gi * c1;
    const vi = load<f32>(v + at) * b2 + gi * gi * c2;
    const update = (mi / a1 / (Mathf.sqrt(vi / a2) + eps)) * step;
    store<f32>(newValue + at, update + load<f32>(value + at));
    store<f32>(newM + at, mi);
    store<f32>(newV + at, vi);
  }
}
