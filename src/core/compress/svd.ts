/**
 * Thin singular value decomposition of a dense row-major matrix, in float64 on the CPU (tfjs has
 * no SVD: METHODS.md §7.5).
 *
 * Method: A (m×n, m ≥ n after a transpose) → Gram matrix G = AᵀA → Householder
 * tridiagonalisation → implicit symmetric QR with Wilkinson shifts (Golub & Van Loan, Algorithms
 * 8.3.1 and 8.3.3) → σ_i = √λ_i, V = eigenvectors, U = A·V/σ. O(mn² + n³), where one-sided
 * Jacobi needs several O(mn²) sweeps: 400×600 in ~1.3 s and 800×1200 in ~6–8 s on this
 * machine's (shared) CPU, most of it accumulating the eigenvectors; conv and dense layers of
 * the zoo's CNNs (≤ 120×600) take milliseconds.
 *
 * Precision: the eigenvalues of G carry an absolute error of about ε·σ₁² (ε = 2.2e-16), so σ_i
 * is accurate to about ε·σ₁²/σ_i — better than 1e-9·σ₁ for every σ_i ≥ 1e-6·σ₁, far below the
 * float32 rounding (6e-8) of the weights being factorised. Below that threshold σ_i is set to
 * 0 (it is noise of the size of the float32 weights' rounding) and its column of U is completed
 * by Gram–Schmidt instead of A·v/σ (which would amplify the noise), so U stays orthonormal.
 */

export interface Svd {
  /** rows × k, row-major; orthonormal columns. */
  u: Float64Array;
  /** k singular values, descending. */
  s: Float64Array;
  /** cols × k, row-major; orthonormal columns. */
  v: Float64Array;
  rows: number;
  cols: number;
  /** min(rows, cols). */
  k: number;
}

/** σ_i below this fraction of σ₁ are numerically zero for the Gram route (see above). */
const RELIABLE = 1e-6;
/** Below this fraction of σ₁, A·v/σ is orthogonal only to about ε/1e-6 ≈ 2e-10: polish it. */
const REORTHOGONALISE = 1e-3;

/** The thin SVD A = U·diag(s)·Vᵀ of the rows×cols row-major matrix `a`. */
export function svd(a: ArrayLike<number>, rows: number, cols: number): Svd {
  if (a.length !== rows * cols) {
    throw new RangeError(`svd: ${a.length} values for a ${rows}×${cols} matrix`);
  }
  if (rows < cols) {
    const t = svd(transpose(a, rows, cols), cols, rows);
    return { u: t.v, s: t.s, v: t.u, rows, cols, k: t.k };
  }
  const m = rows;
  const n = cols;
  const { values, vectors } = symmetricEigen(gram(a, m, n), n);
  // Descending eigenvalues; vectors[i] (a row) is the eigenvector of values[i].
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[j] - values[i]);
  const s = new Float64Array(n);
  const v = new Float64Array(n * n);
  order.forEach((src, dst) => {
    s[dst] = Math.sqrt(Math.max(values[src], 0));
    for (let r = 0; r < n; r++) v[r * n + dst] = vectors[src * n + r];
  });
  // U = A·V/σ, as a product with contiguous inner loops; then column by column.
  const av = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const arc = a[row + c];
      if (arc === 0) continue;
      const vc = c * n;
      for (let j = 0; j < n; j++) av[row + j] += arc * v[vc + j];
    }
  }
  // Columns of U, contiguous while they are built (transposed into place at the end).
  const ut = new Float64Array(n * m);
  for (let j = 0; j < n; j++) {
    const col = ut.subarray(j * m, (j + 1) * m);
    if (s[j] > RELIABLE * s[0]) {
      for (let r = 0; r < m; r++) col[r] = av[r * n + j] / s[j];
      // A·v/σ loses orthogonality as ε·σ₁²/σ_j²: re-orthogonalise the small ones.
      if (s[j] < REORTHOGONALISE * s[0]) orthogonalise(col, ut, m, j);
    } else {
      // √(ε·σ₁²)-sized: indistinguishable from 0 on this route, and 0 keeps A = UΣVᵀ exact.
      s[j] = 0;
      // Any unit vector orthogonal to the previous columns: try the axes in turn.
      for (let axis = 0; axis < m && normalised(orthogonalise(col, ut, m, j)) < 0.5; axis++) {
        col.fill(0);
        col[(j + axis) % m] = 1;
      }
    }
    normalised(col);
  }
  const u = transpose(ut, n, m);
  return { u, s, v, rows, cols, k: n };
}

/** The rank-k reconstruction U_k·diag(s_k)·V_kᵀ (rows×cols, row-major). */
export function reconstruct(d: Svd, rank: number): Float64Array {
  const { rows, cols, k } = d;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < rank; i++) {
      const f = d.u[r * k + i] * d.s[i];
      if (f === 0) continue;
      for (let c = 0; c < cols; c++) out[r * cols + c] += f * d.v[c * k + i];
    }
  }
  return out;
}

/**
 * The smallest rank whose retained energy Σ_{i≤k} σ_i² / Σ σ_i² reaches `energy` (at least 1).
 */
export function rankForEnergy(s: ArrayLike<number>, energy: number): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i] * s[i];
  let kept = 0;
  for (let i = 0; i < s.length; i++) {
    kept += s[i] * s[i];
    // A hair of tolerance so energy = 1 means "all of it" despite rounding.
    if (kept >= energy * total * (1 - 1e-12)) return i + 1;
  }
  return Math.max(1, s.length);
}

function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** AᵀA (n×n) of the m×n row-major A, accumulated row by row (contiguous reads). */
function gram(a: ArrayLike<number>, m: number, n: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let r = 0; r < m; r++) {
    const row = r * n;
    for (let i = 0; i < n; i++) {
      const ai = a[row + i];
      if (ai === 0) continue;
      const gi = i * n;
      for (let j = i; j < n; j++) g[gi + j] += ai * a[row + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
  return g;
}

/** col −= Σ_{i<upto} (u_iᵀcol)·u_i over the first `upto` columns u_i (rows of ut, length m). */
function orthogonalise(col: Float64Array, ut: Float64Array, m: number, upto: number): Float64Array {
  for (let i = 0; i < upto; i++) {
    const ui = i * m;
    let dot = 0;
    for (let r = 0; r < m; r++) dot += ut[ui + r] * col[r];
    for (let r = 0; r < m; r++) col[r] -= dot * ut[ui + r];
  }
  return col;
}

/** Scales col to unit length in place; returns its norm before (0 leaves it untouched). */
function normalised(col: Float64Array): number {
  let sq = 0;
  for (let r = 0; r < col.length; r++) sq += col[r] * col[r];
  const norm = Math.sqrt(sq);
  if (norm > 0) for (let r = 0; r < col.length; r++) col[r] /= norm;
  return norm;
}

/**
 * Eigen-decomposition of the symmetric n×n `a` (overwritten): eigenvalues, and the
 * eigenvectors as the rows of `vectors` (rows, so that every rotation updates contiguous memory).
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  // z accumulates Qᵀ: the rows of Qᵀ are the columns of Q, the eigenvectors at the end.
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(n - 1, 0));
  tridiagonalise(a, n, z, d, e);
  tridiagonalQr(d, e, z, n);
  return { values: d, vectors: z };
}

/**
 * Householder reduction QᵀAQ = T (GVL Algorithm 8.3.1): diagonal d, off-diagonal e; z ← Qᵀ.
 * Reflector k zeroes column k below the subdiagonal: H = I − β·v·vᵀ on rows/cols k+1..n−1.
 */
function tridiagonalise(
  a: Float64Array,
  n: number,
  z: Float64Array,
  d: Float64Array,
  e: Float64Array,
) {
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // v = x − α·e₁ with α = −sign(x₀)‖x‖ (no cancellation), x = A[k+1:, k].
    let sq = 0;
    for (let i = k + 1; i < n; i++) sq += a[i * n + k] * a[i * n + k];
    const norm = Math.sqrt(sq);
    const x0 = a[(k + 1) * n + k];
    if (norm === 0 || sq - x0 * x0 === 0) {
      d[k] = a[k * n + k];
      e[k] = x0;
      continue;
    }
    const alpha = x0 > 0 ? -norm : norm;
    for (let i = k + 1; i < n; i++) v[i] = a[i * n + k];
    v[k + 1] -= alpha;
    let vv = 0;
    for (let i = k + 1; i < n; i++) vv += v[i] * v[i];
    const beta = 2 / vv;
    // p = β·A'v, w = p − (β·pᵀv/2)·v, A' ← A' − v·wᵀ − w·vᵀ (A' = A[k+1:, k+1:]).
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let sum = 0;
      const row = i * n;
      for (let j = k + 1; j < n; j++) sum += a[row + j] * v[j];
      p[i] = beta * sum;
      pv += p[i] * v[i];
    }
    const half = (beta * pv) / 2;
    for (let i = k + 1; i < n; i++) p[i] -= half * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      for (let j = k + 1; j < n; j++) a[row + j] -= v[i] * p[j] + p[i] * v[j];
    }
    d[k] = a[k * n + k];
    e[k] = alpha;
    // Qᵀ ← H·Qᵀ: rows k+1.. of z.
    for (let j = 0; j < n; j++) p[j] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) p[j] += v[i] * z[row + j];
    }
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const f = beta * v[i];
      for (let j = 0; j < n; j++) z[row + j] -= f * p[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2];
    e[n - 2] = a[(n - 1) * n + n - 2];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1];
}

/**
 * Diagonalises the symmetric tridiagonal (d, e) by implicit QR steps with the Wilkinson shift
 * (GVL Algorithm 8.3.2/8.3.3), chasing the bulge with Givens rotations; z ← Gᵀ·z.
 */
function tridiagonalQr(d: Float64Array, e: Float64Array, z: Float64Array, n: number) {
  const eps = Number.EPSILON;
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(d[i]), Math.abs(e[i] ?? 0));
  const negligible = (i: number) =>
    Math.abs(e[i]) <= eps * (Math.abs(d[i]) + Math.abs(d[i + 1])) ||
    Math.abs(e[i]) <= eps * eps * scale;
  let iterations = 0;
  for (let hi = n - 1; hi > 0;) {
    if (negligible(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    if (++iterations > 50 * n) throw new Error('svd: the QR iteration did not converge');
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    const delta = (d[hi - 1] - d[hi]) / 2;
    const b2 = e[hi - 1] * e[hi - 1];
    const mu = d[hi] - b2 / (delta + (delta >= 0 ? 1 : -1) * Math.hypot(delta, e[hi - 1]));
    let x = d[lo] - mu;
    let y = e[lo];
    for (let k = lo; k < hi; k++) {
      // G = [[c, s], [−s, c]] on rows/cols k, k+1 with Gᵀ·[x; y] = [r; 0].
      const r = Math.hypot(x, y);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -y / r;
      if (k > lo) e[k - 1] = r;
      const a = d[k];
      const b = e[k];
      const cc = d[k + 1];
      d[k] = c * c * a - 2 * c * s * b + s * s * cc;
      d[k + 1] = s * s * a + 2 * c * s * b + c * c * cc;
      e[k] = c * s * (a - cc) + (c * c - s * s) * b;
      if (k < hi - 1) {
        // The bulge at (k, k+2), chased down by the next rotation.
        y = -s * e[k + 1];
        e[k + 1] = c * e[k + 1];
        x = e[k];
      }
      const rk = k * n;
      const rk1 = rk + n;
      for (let j = 0; j < n; j++) {
        const zk = z[rk + j];
        const zk1 = z[rk1 + j];
        z[rk + j] = c * zk - s * zk1;
        z[rk1 + j] = s * zk + c * zk1;
      }
    }
  }
}
