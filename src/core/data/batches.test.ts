import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, toTensors } from './batches';
import type { Dataset } from './dataset';

// A tiny synthetic dataset: image i is filled with the value i (labels i % 3), so a tensor row
// shows which image it came from.
function synthetic(count: number, side = 28): Dataset {
  const pixels = new Uint8Array(count * side * side);
  for (let i = 0; i < count; i++) pixels.fill(i, i * side * side, (i + 1) * side * side);
  return {
    id: 'mnist',
    split: 'train',
    count,
    height: side,
    width: side,
    channels: 1,
    numClasses: 3,
    classNames: ['a', 'b', 'c'],
    pixels,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 3),
    hash: 'synthetic',
  };
}

function seededRng(seed: number) {
  let s = seed;
  return { next: () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646 };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('toTensors', () => {
  it('scales to [0, 1] and keeps NHWC order and labels', () => {
    const ds = synthetic(5);
    const { x, y } = toTensors(ds, [4, 1]);
    expect(x.shape).toEqual([2, 28, 28, 1]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    expect([...y.dataSync()]).toEqual([1, 1]);
    const v = x.dataSync();
    expect(v[0]).toBeCloseTo(4 / 255, 6);
    expect(v[784]).toBeCloseTo(1 / 255, 6);
    tf.dispose([x, y]);
  });

  it('zero-pads 28 → 32 before normalising', () => {
    const ds = synthetic(3);
    const norm = { mean: 0.1307, std: 0.3081 };
    const pixels = { scale: [1 / 255 / norm.std], offset: [-norm.mean / norm.std] };
    const { x, y } = toTensors(ds, [2], { resize: [32, 32], pixels });
    expect(x.shape).toEqual([1, 32, 32, 1]);
    const v = x.dataSync();
    const background = (0 - norm.mean) / norm.std;
    expect(v[0]).toBeCloseTo(background, 5);
    expect(v[32 * 2 + 1]).toBeCloseTo(background, 5);
    expect(v[32 * 2 + 2]).toBeCloseTo((2 / 255 - norm.mean) / norm.std, 5);
    expect(v[32 * 29 + 29]).toBeCloseTo((2 / 255 - norm.mean) / norm.std, 5);
    expect(v[32 * 30 + 29]).toBeCloseTo(background, 5);
    tf.dispose([x, y]);
  });

  it('resizes bilinearly on request, keeping constant images constant', () => {
    const ds = synthetic(2);
    const { x, y } = toTensors(ds, [1], { resize: [32, 32], resizeMode: 'bilinear' });
    expect(x.shape).toEqual([1, 32, 32, 1]);
    for (const value of x.dataSync()) expect(value).toBeCloseTo(1 / 255, 6);
    tf.dispose([x, y]);
  });

  it('rejects out-of-range indices', () => {
    expect(() => toTensors(synthetic(2), [2])).toThrow(RangeError);
  });
});

describe('batches', () => {
  it('visits every index exactly once per epoch, in a seeded shuffled order', () => {
    const ds = synthetic(23);
    const before = tf.memory().numTensors;
    const epoch = (seed: number) => {
      const order: number[] = [];
      const sizes: number[] = [];
      for (const { x, y, indices } of batches(ds, { batchSize: 5, rng: seededRng(seed) })) {
        // Each row's pixel value is its image index, so this checks x against indices too.
        expect(
          [...x.dataSync()].filter((_, i) => i % 784 === 0).map((v) => Math.round(v * 255)),
        ).toEqual([...indices]);
        expect([...y.dataSync()]).toEqual([...indices].map((i) => i % 3));
        order.push(...indices);
        sizes.push(indices.length);
        tf.dispose([x, y]);
      }
      expect(sizes).toEqual([5, 5, 5, 5, 3]);
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
      return order;
    };
    const a = epoch(1);
    expect(epoch(1)).toEqual(a);
    expect(epoch(2)).not.toEqual(a);
    expect(a).not.toEqual([...a].sort((p, q) => p - q));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the given order without an rng and can drop the last partial batch', () => {
    const ds = synthetic(10);
    const seen: number[][] = [];
    for (const b of batches(ds, {
      batchSize: 4,
      indices: [9, 8, 7, 6, 5, 4, 3],
      dropRemainder: true,
    })) {
      seen.push([...b.indices]);
      tf.dispose([b.x, b.y]);
    }
    expect(seen).toEqual([[9, 8, 7, 6]]);
  });
});
