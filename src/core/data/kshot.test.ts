import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from './dataset';
import { sampleKShot } from './kshot';

let mnist: Dataset;
beforeAll(async () => {
  mnist = await loadDataset('mnist', 'train');
});

function perClass(ds: Dataset, indices: Int32Array): number[] {
  const counts = new Array<number>(ds.numClasses).fill(0);
  for (const i of indices) counts[ds.labels[i]]++;
  return counts;
}

describe('sampleKShot', () => {
  it.each([1, 10, 100])('returns K = %i distinct indices per class, ascending', (k) => {
    const picked = sampleKShot(mnist, k, 7);
    expect(perClass(mnist, picked)).toEqual(new Array(10).fill(k));
    expect(new Set(picked).size).toBe(picked.length);
    for (let i = 1; i < picked.length; i++) expect(picked[i]).toBeGreaterThan(picked[i - 1]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    expect(sampleKShot(mnist, 5, 1)).toEqual(sampleKShot(mnist, 5, 1));
    expect(sampleKShot(mnist, 5, 1)).not.toEqual(sampleKShot(mnist, 5, 2));
    expect(sampleKShot(mnist, 5, 2)).not.toEqual(sampleKShot(mnist, 5, 0));
  });

  it('takes the first K images of each class in file order for seed 0', () => {
    const k = 3;
    const expected: number[] = [];
    const seen = new Array<number>(10).fill(0);
    mnist.labels.forEach((l, i) => {
      if (seen[l]++ < k) expected.push(i);
    });
    expect([...sampleKShot(mnist, k, 0)]).toEqual(expected);
  });

  it('rejects K above the smallest class and invalid arguments', () => {
    expect(() => sampleKShot(mnist, 5422, 0)).toThrow(/class 5 \(5\) has only 5421 images/);
    expect(sampleKShot(mnist, 5421, 0).length).toBe(54210);
    expect(() => sampleKShot(mnist, 0, 0)).toThrow(RangeError);
    expect(() => sampleKShot(mnist, 1, -1)).toThrow(RangeError);
  });
});
