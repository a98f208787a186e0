/** Any uniform random source in [0, 1), e.g. the project's Rng (src/core/runtime/rng.ts). */
export interface RandomSource {
  next(): number;
}

/** Fisher-Yates shuffle in place, driven only by `rng`, so a seeded rng gives a fixed order. */
export function shuffleInPlace(a: Int32Array, rng: RandomSource): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
