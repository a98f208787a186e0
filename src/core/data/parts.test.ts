// The page's way of loading a split: its gzipped parts, fetched as runs ask for images. Read
// here from the prepared files as the worker fetches them.
import { beforeAll, describe, expect, it } from 'vitest';
import { openAssetFolder } from '../assets';
import { disposeGraph } from '../graph';
import { methodById } from '../methods/registry';
import { executeRun } from '../methods/runner';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { loadTeacher } from '../zoo';
import { toTensors } from './batches';
import { loadDataset, type Dataset } from './dataset';
import { openParts, type PartsEntry } from './parts';

let backend: BackendInfo;
let whole: Dataset;

beforeAll(async () => {
  backend = await initBackend('wasm');
  whole = await loadDataset('mnist', 'train');
});

/** MNIST's split in parts (one object per split, loads are cached: parts stay fetched). */
const inParts = (split: 'train' | 'test') => loadDataset('mnist', split, { inParts: true });

/** How many of the split's 100-image parts are present. */
const partsPresent = (ds: Dataset) =>
  Array.from({ length: Math.ceil(ds.count / 100) }, (_, k) => ds.has!(100 * k)).filter(Boolean)
    .length;

describe('a split fetched in parts', () => {
  it('has every label at once and an image once its part is fetched, the same bytes as the whole file', async () => {
    const ds = await inParts('train');
    expect(ds.count).toBe(60_000);
    expect(ds.labels).toEqual(whole.labels);
    expect(ds.has!(12_345)).toBe(false);
    expect(() => toTensors(ds, [12_345])).toThrow(
      'mnist train image 12345 was read before it was fetched',
    );
    await ds.ensure!([12_345, 12_399, 5]);
    // Two parts: images 0–99 and 12300–12399.
    expect(partsPresent(ds)).toBe(2);
    const size = 28 * 28;
    for (const k of [5, 12_345, 12_399]) {
      expect(ds.pixels.subarray(k * size, (k + 1) * size)).toEqual(
        whole.pixels.subarray(k * size, (k + 1) * size),
      );
    }
    expect(ds.has!(12_400)).toBe(false);
  });

  it('fetches most of a split as its one whole file, a few images as their parts', async () => {
    const data = await openAssetFolder('data');
    const manifest = JSON.parse(new TextDecoder().decode((await data.read('manifest.json'))!)) as {
      datasets: { mnist: { splits: { test: { count: number; parts: PartsEntry } } } };
    };
    const entry = { ...manifest.datasets.mnist.splits.test, height: 28, width: 28, channels: 1 };
    const read: string[] = [];
    const counting = { ...data, read: (file: string) => (read.push(file), data.read(file)) };
    const test = await openParts(counting, entry.parts, entry, (where) => new Error(where));
    await test.ensure([0, 150]);
    expect(read).toEqual(['mnist-test/labels.gz', 'mnist-test/0000.gz', 'mnist-test/0001.gz']);
    // 2 of 100 parts present: the other 98 come as all.gz, in one read.
    await test.ensure();
    expect(read.slice(3)).toEqual(['mnist-test/all.gz']);
    expect(test.has(9_999)).toBe(true);
    // Byte for byte (toEqual would compare 7.8 million elements one by one, for a minute).
    const file = (await loadDataset('mnist', 'test')).pixels;
    expect(Buffer.compare(test.pixels, file)).toBe(0);
  });

  it('a few-shot run fetches its shots and the test images it evaluates on; a data-free run no training image', async () => {
    const teacher = await loadTeacher('lenet5-mnist');
    const [train, test] = await Promise.all([inParts('train'), inParts('test')]);
    /** The parts each split fetched during a run. */
    const run = async (method: string, params: Record<string, unknown>) => {
      const before = { train: partsPresent(train), test: partsPresent(test) };
      const { student } = await executeRun(
        {
          method: methodById(method)!,
          params,
          teacher,
          train,
          test,
          seed: 1,
          steps: 4,
          testExamples: 300,
          backend,
        },
        () => {},
      );
      disposeGraph(student);
      return { train: partsPresent(train) - before.train, test: partsPresent(test) - before.test };
    };
    // 2 shots of each of 10 classes: at most 20 of the 600 training parts; the first 300 test
    // images (3 parts) for every measurement.
    const fewShot = await run('cross-distillation', {
      shotsPerClass: 2,
      itersPerLayer: 2,
      fineTuneSteps: 0,
      heldOutExamples: 50,
    });
    expect(fewShot.train).toBeGreaterThan(0);
    expect(fewShot.train).toBeLessThanOrEqual(20);
    expect(fewShot.test).toBe(3);
    expect(partsPresent(test)).toBe(3);
    // DAFL fetches nothing more: no training image, the same test images.
    const dataFree = await run('dafl', { generatorWidth: 4, latentDim: 8, batchSize: 16 });
    expect(dataFree).toEqual({ train: 0, test: 0 });
    disposeGraph(teacher);
  });
});
