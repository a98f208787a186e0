// K-shot subsets for few-shot compression (Cross Distillation). The subset for a given (dataset,
// K, seed) is part of an experiment's definition, so it uses its own fixed PRNG (mulberry32)
// rather than the project Rng, whose algorithm may change.
import type { Dataset } from './dataset';
import { shuffleInPlace, type RandomSource } from './shuffle';

/**
 * K images per class, as dataset indices in ascending order. Like Cross Distillation's reference
 * code, it walks the dataset and keeps the first K images of each class it meets: in file order
 * for seed 0, in a seeded random order otherwise. Same (dataset, K, seed) → same subset.
 */
export function sampleKShot(
  ds: Pick<Dataset, 'labels' | 'numClasses' | 'classNames'>,
  k: number,
  seed: number,
): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`K must be a positive integer, got ${k}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const { labels, numClasses } = ds;
  const available = new Int32Array(numClasses);
  for (const l of labels) available[l]++;
  for (let c = 0; c < numClasses; c++) {
    if (available[c] < k) {
      throw new RangeError(
        `class ${c} (${ds.classNames[c]}) has only ${available[c]} images, fewer than K = ${k}`,
      );
    }
  }

  const order = Int32Array.from({ length: labels.length }, (_, i) => i);
  if (seed !== 0) shuffleInPlace(order, mulberry32(seed));
  const taken = new Int32Array(numClasses);
  const picked = new Int32Array(k * numClasses);
  let n = 0;
  for (let i = 0; i < order.length && n < picked.length; i++) {
    const c = labels[order[i]];
    if (taken[c] < k) {
      taken[c]++;
      picked[n++] = order[i];
    }
  }
  return picked.sort();
}

function mulberry32(seed: number): RandomSource {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
