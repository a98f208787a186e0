import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataMissingError, loadDataset, spreadExamples, type Dataset } from './dataset';

const manifest = JSON.parse(
  readFileSync(new URL('../../../public/data/manifest.json', import.meta.url), 'utf8'),
) as { datasets: Record<string, { splits: Record<string, { sha256: string }> }> };

function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.numClasses).fill(0);
  for (const l of ds.labels) counts[l]++;
  return counts;
}

function pixelRange(ds: Dataset): [number, number] {
  let min = 255;
  let max = 0;
  const { pixels } = ds;
  for (let i = 0; i < pixels.length; i++) {
    if (pixels[i] < min) min = pixels[i];
    if (pixels[i] > max) max = pixels[i];
  }
  return [min, max];
}

describe('loadDataset (Node)', () => {
  it('loads MNIST with the official 60000/10000 split', async () => {
    const train = await loadDataset('mnist', 'train');
    const test = await loadDataset('mnist', 'test');
    for (const [ds, count] of [
      [train, 60000],
      [test, 10000],
    ] as const) {
      expect(ds).toMatchObject({ count, height: 28, width: 28, channels: 1, numClasses: 10 });
      expect(ds.pixels.length).toBe(count * 784);
      expect(ds.labels.length).toBe(count);
      expect(pixelRange(ds)).toEqual([0, 255]);
      for (const n of classCounts(ds)) expect(n).toBeGreaterThan(count / 10 - count / 60);
    }
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(train.labels[0]).toBe(5);
    expect(test.labels[0]).toBe(7);
    expect(classCounts(train)).toEqual([
      5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949,
    ]);
    expect(train.hash).toBe(manifest.datasets.mnist.splits.train.sha256);
  });

  it('loads Fashion-MNIST with exactly 6000/1000 images per class, interleaved', async () => {
    const train = await loadDataset('fashion', 'train');
    const test = await loadDataset('fashion', 'test');
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(classCounts(train)).toEqual(new Array(10).fill(6000));
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    expect([...test.labels.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(train.classNames[0]).toBe('T-shirt/top');
    expect(train.classNames[9]).toBe('Ankle boot');
    expect(pixelRange(train)).toEqual([0, 255]);
  });

  it('verifies the SHA-256 on request and caches loads', async () => {
    const ds = await loadDataset('fashion', 'test', { verify: true });
    expect(ds.hash).toBe(manifest.datasets.fashion.splits.test.sha256);
    expect(await loadDataset('fashion', 'test', { verify: true })).toBe(ds);
  });

  it('says how to fix a missing data folder', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'clab-data-'));
    const load = loadDataset('mnist', 'test', { dataDir: empty });
    await expect(load).rejects.toBeInstanceOf(DataMissingError);
    await expect(load).rejects.toThrow(/manifest\.json not found.*npm install/);
    rmSync(empty, { recursive: true });
  });
});

describe('spreadExamples', () => {
  it('takes examples from every class of a set stored class by class, with their pixels', () => {
    // 3 classes × 4 images of 2 pixels, each pixel its image's index.
    const ds = {
      id: 'uploaded',
      count: 12,
      height: 1,
      width: 2,
      channels: 1,
      numClasses: 3,
      pixels: Uint8Array.from({ length: 24 }, (_, p) => p >> 1),
      labels: Uint8Array.from({ length: 12 }, (_, i) => i >> 2),
    } as Dataset;
    const some = spreadExamples(ds, 6);
    expect(Array.from(some.labels)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(some.pixels)).toEqual([0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10]);
    expect(classCounts(some)).toEqual([2, 2, 2]);
    expect(spreadExamples(ds, 20)).toBe(ds);
  });
});
