import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { rankForEnergy, reconstruct, svd, type Svd } from './svd';

function random(rows: number, cols: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: rows * cols }, () => rng.normal());
}

function frobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sq = 0;
  for (let i = 0; i < a.length; i++) sq += (a[i] - b[i]) ** 2;
  return Math.sqrt(sq);
}

/** max |FᵀF − I| over the k columns of the rows×k row-major F. */
function orthonormalityError(f: Float64Array, rows: number, k: number): number {
  let worst = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += f[r * k + i] * f[r * k + j];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

describe('svd', () => {
  for (const [rows, cols] of [
    [40, 25],
    [25, 40],
    [1, 7],
    [30, 30],
  ]) {
    it(`reproduces a random ${rows}×${cols} matrix at full rank with orthonormal factors`, () => {
      const a = random(rows, cols, rows * 100 + cols);
      const d = svd(a, rows, cols);
      expect(d.k).toBe(Math.min(rows, cols));
      expect(frobenius(reconstruct(d, d.k), a)).toBeLessThan(
        1e-10 * frobenius(a, new Float64Array(a.length)),
      );
      expect(orthonormalityError(d.u, rows, d.k)).toBeLessThan(1e-10);
      expect(orthonormalityError(d.v, cols, d.k)).toBeLessThan(1e-10);
      for (let i = 1; i < d.k; i++) expect(d.s[i]).toBeLessThanOrEqual(d.s[i - 1]);
    });
  }

  it('truncation error is sqrt(Σ discarded σ²) (Eckart–Young)', () => {
    const a = random(50, 35, 7);
    const d = svd(a, 50, 35);
    for (const k of [1, 5, 20, 34]) {
      let discarded = 0;
      for (let i = k; i < d.k; i++) discarded += d.s[i] ** 2;
      expect(frobenius(reconstruct(d, k), a)).toBeCloseTo(Math.sqrt(discarded), 9);
    }
  });

  it('finds the singular values of a constructed matrix, including repeated and zero ones', () => {
    // A = Q₁·diag(σ)·Q₂ᵀ with orthonormal Q's from a random SVD: σ = 5, 3, 3, 1e-3, 0, 0.
    const sigma = [5, 3, 3, 1e-3, 0, 0];
    const q1 = svd(random(9, 6, 1), 9, 6).u;
    const q2 = svd(random(6, 6, 2), 6, 6).u;
    const a = new Float64Array(9 * 6);
    for (let r = 0; r < 9; r++)
      for (let c = 0; c < 6; c++)
        for (let i = 0; i < 6; i++) a[r * 6 + c] += q1[r * 6 + i] * sigma[i] * q2[c * 6 + i];
    const d: Svd = svd(a, 9, 6);
    sigma.forEach((s, i) => expect(d.s[i]).toBeCloseTo(s, 7));
    expect(orthonormalityError(d.u, 9, 6)).toBeLessThan(1e-10);
    expect(frobenius(reconstruct(d, 6), a)).toBeLessThan(1e-9);
  });

  it('diagonal and rank-one matrices', () => {
    const diag = Float64Array.from([2, 0, 0, 0, -7, 0, 0, 0, 1]);
    expect(Array.from(svd(diag, 3, 3).s)).toEqual([7, 2, 1].map((v) => expect.closeTo(v, 12)));
    const x = [1, 2, 3];
    const y = [4, 5];
    const outer = Float64Array.from(x.flatMap((xi) => y.map((yj) => xi * yj)));
    const d = svd(outer, 3, 2);
    expect(d.s[0]).toBeCloseTo(Math.hypot(...x) * Math.hypot(...y), 12);
    expect(d.s[1]).toBeCloseTo(0, 12);
    expect(frobenius(reconstruct(d, 1), outer)).toBeLessThan(1e-12);
  });

  it('picks the rank by retained energy', () => {
    const s = [3, 2, 1, 0]; // energies 9, 4, 1 of 14
    expect(rankForEnergy(s, 0.5)).toBe(1);
    expect(rankForEnergy(s, 0.9)).toBe(2);
    expect(rankForEnergy(s, 0.95)).toBe(3);
    expect(rankForEnergy(s, 1)).toBe(3);
  });

  it('a 400×600 matrix in about a second on an idle core (800×1200: ~8× that)', () => {
    const a = random(400, 600, 3);
    const t0 = performance.now();
    const d = svd(a, 400, 600);
    const ms = performance.now() - t0;
    console.info(`svd 400×600: ${ms.toFixed(0)} ms`);
    // Generous: the CPU is shared; an O(n⁴) slip (e.g. Jacobi sweeps without end) still fails.
    expect(ms).toBeLessThan(20_000);
    expect(frobenius(reconstruct(d, d.k), a)).toBeLessThan(
      1e-8 * frobenius(a, new Float64Array(a.length)),
    );
  }, 30_000);
});
