/** The fast paths of wasm-fast-paths.ts against the CPU backend, and their fallbacks. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

import { expectClose, onBoth, random, type Input } from './backend-comparison';
import { registerWasmTrainingKernels } from './wasm-kernels';

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

/** Compares `fn` of each input list on both backends, output by output. */
async function compare(
  cases: Record<string, Input[]>,
  fn: (ts: tf.Tensor[], backend: 'cpu' | 'wasm') => tf.Tensor | tf.Tensor[],
) {
  for (const [label, inputs] of Object.entries(cases)) {
    const { cpu, wasm } = await onBoth(inputs, fn);
    cpu.forEach((expected, i) => expectClose(wasm[i], expected, `${label} output ${i}`));
  }
}

// 16384 elements: above the fast paths' size threshold; [4, 5] is below it.
const x = random([8, 16, 16, 8]);
const rows = random([2048, 8]);
const vector = random([8]);
const vector4 = random([1, 1, 1, 8]);

describe('per-channel broadcasts', () => {
  const cases = {
    'x with [C]': [x, vector],
    'x with [1,1,1,C]': [x, vector4],
    'rows with [C]': [rows, vector],
    'rows with a higher-rank vector': [rows, random([1, 1, 8])],
    // C = 6 and C = 5: patterns of 12 and 20 floats repeated; neither size fills the last block.
    'C = 6': [random([4, 30, 30, 6]), random([6])],
    'C = 5': [random([3000, 5]), random([5])],
    'small, stock path': [random([4, 5]), random([5])],
    'same shape, stock path': [x, random([8, 16, 16, 8])],
  };

  it('Add, Sub, Multiply and SquaredDifference, with the vector on either side', async () => {
    await compare(cases, ([a, b]) => [
      tf.add(a, b),
      tf.add(b, a),
      tf.sub(a, b),
      tf.sub(b, a),
      tf.mul(a, b),
      tf.mul(b, a),
      tf.squaredDifference(a, b),
      tf.squaredDifference(b, a),
    ]);
  });

  it('Tile of a per-channel vector, and other tilings', async () => {
    await compare({ vector: [vector4], matrix: [random([2, 3])] }, ([v]) =>
      v.rank === 4 ? tf.tile(v, [8, 16, 16, 1]) : tf.tile(v, [3, 2]),
    );
  });

  it('FusedBatchNorm with and without offset and scale', async () => {
    const variance = { shape: [8], values: random([8]).values.map((v) => v * v + 0.1) };
    await compare(
      { 'batch norm': [x, vector, variance, random([8]), random([8])] },
      ([x, mean, variance, offset, scale]) => [
        tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
        tf.batchNorm(x, mean, variance, undefined, undefined, 1e-3),
      ],
    );
  });
});

describe('reductions', () => {
  it('Sum and Mean over leading axes, keeping dims or not; other axes via the stock kernels', async () => {
    const axesCases: number[][] = [[0, 1, 2], [1, 2], [0], [0, 1], [2], [0, 2], [3], [0, 1, 2, 3]];
    for (const keepDims of [false, true]) {
      await compare({ [`keepDims=${keepDims}`]: [x] }, ([t]) =>
        axesCases.flatMap((axes) => [tf.sum(t, axes, keepDims), tf.mean(t, axes, keepDims)]),
      );
    }
    await compare({ rows: [rows] }, ([t]) => [tf.sum(t, 0), tf.mean(t, 0)]);
    // C = 6 and C = 5: blocks of 264 and 260 floats with rows left over; small tensors too (a
    // dense layer's bias gradient).
    await compare({ 'C = 6': [random([4, 30, 30, 6])] }, ([t]) =>
      [[0, 1, 2], [1, 2], [0]].flatMap((axes) => [tf.sum(t, axes), tf.mean(t, axes)]),
    );
    await compare({ 'C = 5, small': [random([3, 7, 5])] }, ([t]) => [
      tf.sum(t, [0, 1]),
      tf.mean(t, [0, 1]),
      tf.sum(t, 0),
    ]);
  });
});

describe('upsampling', () => {
  const images = random([2, 5, 4, 3]);
  const cases: [[number, number], boolean, boolean][] = [
    [[10, 8], false, false], // ×2, a generator's upsample
    [[10, 8], false, true], // half-pixel centres
    [[15, 8], false, false], // ×3 by ×2
    [[7, 6], false, false], // not integer: stock
    [[10, 8], true, false], // align corners: stock
  ];

  it('ResizeNearestNeighbor for integer factors; others via the stock kernel', async () => {
    for (const [size, alignCorners, halfPixel] of cases) {
      await compare({ [JSON.stringify([size, alignCorners, halfPixel])]: [images] }, ([t]) =>
        tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixel),
      );
    }
    // A generator's upsample, its input rows split between threads where there are some.
    await compare({ 'generator ×2': [random([8, 16, 16, 32])] }, ([t]) =>
      tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [32, 32]),
    );
  });

  it('ResizeNearestNeighborGrad for integer factors; others via the stock kernel', async () => {
    for (const [size, alignCorners, halfPixel] of cases) {
      const dy = random([2, ...size, 3]);
      const grad = tf.grad((t) =>
        tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size, alignCorners, halfPixel),
      );
      // The CPU backend's kernel misplaces every image after the first (tfjs 4.22): the
      // reference runs it one image at a time.
      await compare(
        { [JSON.stringify([size, alignCorners, halfPixel])]: [images, dy] },
        ([x, d], backend) =>
          backend === 'wasm'
            ? grad(x, d)
            : tf.concat([0, 1].map((i) => grad(x.slice(i, 1), d.slice(i, 1)))),
      );
    }
  });
});

describe('windows of rows and columns, and their zero padding', () => {
  const batch = random([3, 7, 5, 2]);

  it('Slice and SplitV of rows and columns; other axes via the stock kernels', async () => {
    await compare({ batch: [batch] }, ([t]) => [
      tf.slice(t, [0, 2, 1, 0], [-1, 4, 3, -1]),
      tf.slice(t, [1, 2, 1, 0], [2, 4, 3, -1]), // a run of the batch too: stock
      tf.slice(t, [0, 0, 1, 0], [-1, -1, 4, -1]),
      tf.slice(t, [0, 3, 0, 0], [-1, 4, -1, -1]),
      tf.slice(t, [0, 0, 0, 1], [-1, -1, -1, 1]), // a channel: stock
      tf.slice(t, [1, 0, 0, 0], [1, -1, -1, -1]), // contiguous: stock
      ...tf.split(t, [3, 4], 1),
      ...tf.split(t, [1, 2, 2], 2),
      ...tf.split(t, 2, 3), // channels: stock
    ]);
  });

  it('PadV2 of rows and columns with zeros; other paddings via the stock kernel', async () => {
    await compare({ batch: [batch] }, ([t]) => [
      tf.pad(t, [
        [0, 0],
        [1, 2],
        [0, 3],
        [0, 0],
      ]),
      tf.pad(t, [
        [0, 0],
        [0, 0],
        [2, 0],
        [0, 0],
      ]),
      tf.pad(
        t,
        [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
        0.5,
      ), // another value: stock
      tf.pad(t, [
        [1, 0],
        [0, 0],
        [0, 0],
        [0, 1],
      ]), // batch and channels: stock
    ]);
  });

  it('the gradient of a circular shift and a total-variation-like sum of neighbour differences', async () => {
    const grad = tf.grad((t) => {
      const [head, tail] = tf.split(t, [5, 2], 1);
      const shifted = tf.concat([tail, head], 1);
      const across = tf.sub(
        tf.slice(shifted, [0, 0, 0, 0], [-1, -1, 4, -1]),
        tf.slice(shifted, [0, 0, 1, 0], [-1, -1, 4, -1]),
      );
      return tf.sum(tf.square(across));
    });
    await compare({ batch: [batch] }, ([t]) => grad(t));
  });
});

describe('buffers', () => {
  it('leaves no intermediate buffers behind', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as tf.KernelBackend & { numDataIds(): number };
    const before = backend.numDataIds();
    tf.tidy(() => {
      const t = tf.tensor(x.values, x.shape);
      const v = tf.tensor(vector4.values, vector4.shape);
      tf.sub(v, t);
      tf.squaredDifference(t, v);
      tf.batchNorm(t, v, tf.square(v), v, v);
      tf.tile(v, [8, 16, 16, 1]);
      tf.sum(t, [0, 1, 2]);
      tf.split(tf.slice(t, [0, 1, 1, 0], [-1, 8, 8, -1]), 2, 1);
      tf.pad(t, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
    });
    expect(backend.numDataIds()).toBe(before);
  });

  it('Identity and same-type Cast share the buffer and outlive their input', () => {
    const source = tf.tensor([1, 2, 3]);
    const clone = tf.clone(source);
    const cast = tf.cast(source, 'float32');
    const toInt = tf.cast(source, 'int32');
    source.dispose();
    expect(Array.from(clone.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(cast.dataSync())).toEqual([1, 2, 3]);
    expect(toInt.dtype).toBe('int32');
    tf.dispose([clone, cast, toInt]);
  });
});
