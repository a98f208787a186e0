/**
 * The project's one random number generator: xoshiro128** (Blackman & Vigna), seeded by hashing
 * (seed, fork path) so that nearby seeds and sibling forks give unrelated streams. Every random choice in a run (data
 * sampling, weight init, augmentation, generator noise) comes from an `Rng` forked off the run's
 * seed, so a run is reproducible from its config alone.
 */

export type Seed = number | string;

/** Serialisable state, for checkpoints: `Rng.fromState(rng.state())` continues the same stream. */
export interface RngState {
  seed: Seed;
  path: string[];
  words: [number, number, number, number];
}

const TWO_POW_32 = 4294967296;

/** FNV-1a over UTF-16 code units: a stable 32-bit hash for seed keys. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The splitmix32 finaliser: a bijective 32-bit mix. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 128 bits of state from a key: each word hashes the key under its own prefix. */
function seedWords(key: string): [number, number, number, number] {
  const words = [0, 1, 2, 3].map((i) => mix32(hash32(`${i}:${key}`)));
  // xoshiro must not start from the all-zero state.
  if (!words.some((w) => w !== 0)) words[0] = 1;
  return words as [number, number, number, number];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * @param seed a number or a string; the same seed always gives the same stream.
   * @param path the fork labels this stream was derived through (see `fork`).
   */
  constructor(
    readonly seed: Seed,
    readonly path: readonly string[] = [],
  ) {
    [this.s0, this.s1, this.s2, this.s3] = seedWords(JSON.stringify([seed, ...path]));
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(state.seed, state.path);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.words;
    return rng;
  }

  state(): RngState {
    return { seed: this.seed, path: [...this.path], words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int(n) needs an integer n in [1, 2^32], got ${n}`);
    }
    // Rejection sampling keeps the result unbiased for any n.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** A standard normal sample (Box–Muller). */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.next(); // (0, 1]: log stays finite
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /**
   * An independent stream named by `label`. It depends only on this stream's seed path and the
   * label, not on how many numbers were drawn so far, so adding a draw in one part of a method
   * does not shift the randomness of another. The same label gives the same stream: use
   * distinct labels (`layer:${i}`) for distinct streams.
   */
  fork(label: string): Rng {
    return new Rng(this.seed, [...this.path, label]);
  }

  /** An integer seed for TF.js random ops: `tf.randomNormal(shape, 0, 1, 'float32', rng.seedForTf())`. */
  seedForTf(): number {
    // TF.js seeds its alea PRNG from the number's decimal string; keep it a safe positive int.
    return this.nextUint32() >>> 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
