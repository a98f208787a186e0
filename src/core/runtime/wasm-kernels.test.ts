/**
 * Every kernel of wasm-kernels.ts against the CPU backend (the reference implementation), on
 * random shapes, strides, paddings, dilations and batch sizes; then whole-network gradients.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  compareKernel,
  expectClose,
  onBoth,
  random,
  type Input,
  type Pad,
  type Shape4,
} from './backend-comparison';
import { Rng } from './rng';
import { RELU_BACKPROP, registerTrainingGradients } from './gradients';
import { WasmCalls } from './wasm-calls';
import { registerWasmTrainingKernels, wasmTrainingKernels } from './wasm-kernels';
import { backendMemory } from './wasm-simd';

const rng = new Rng('wasm-kernels.test');

/** The filter of a dilated convolution as an undilated one: zeros between the taps. */
function dilated(filter: Input, [dh, dw]: number[]): Input {
  const [fh, fw, c, m] = filter.shape;
  const shape = [(fh - 1) * dh + 1, (fw - 1) * dw + 1, c, m];
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const from = (i * fw + j) * c * m;
      values.set(filter.values.subarray(from, from + c * m), (i * dh * shape[1] + j * dw) * c * m);
    }
  }
  return { shape, values };
}

const explicitPad: Pad = [
  [0, 0],
  [1, 2],
  [2, 0],
  [0, 0],
];

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: [number, number];
  pad: Pad;
  dilations?: [number, number];
}

const convCases: ConvCase[] = [
  { x: [3, 12, 12, 1], filter: [5, 5, 1, 6], strides: [1, 1], pad: 'valid' }, // LeNet conv1
  { x: [2, 8, 8, 6], filter: [5, 5, 6, 16], strides: [1, 1], pad: 'valid' }, // LeNet conv2
  { x: [2, 9, 7, 4], filter: [3, 3, 4, 8], strides: [1, 1], pad: 'same' }, // VGG block
  { x: [1, 9, 8, 3], filter: [3, 3, 3, 5], strides: [2, 2], pad: 'same' },
  { x: [2, 10, 9, 2], filter: [3, 2, 2, 3], strides: [2, 3], pad: 'valid' }, // remainder rows
  { x: [2, 7, 8, 3], filter: [2, 3, 3, 2], strides: [1, 2], pad: explicitPad },
  { x: [4, 6, 6, 5], filter: [1, 1, 5, 7], strides: [1, 1], pad: 'valid' }, // pointwise
  { x: [1, 11, 11, 2], filter: [4, 4, 2, 3], strides: [3, 3], pad: 'same' },
  { x: [2, 6, 5, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 1 as unknown as Pad }, // numeric pad
  { x: [2, 7, 6, 5], filter: [4, 2, 5, 3], strides: [1, 1], pad: 'same' }, // even filter: uneven padding
  { x: [3, 5, 5, 16], filter: [5, 5, 16, 12], strides: [1, 1], pad: 'valid' }, // LeNet C5: 1x1 output
  { x: [2, 4, 4, 3], filter: [3, 3, 3, 5], strides: [2, 2], pad: 'valid' }, // 1x1 output, unused rows
  { x: [2, 1, 2, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same' }, // 1x1 output, padded
  // Fewer output than input channels: the filter gradient transposes dy, not x.
  { x: [2, 9, 9, 6], filter: [3, 3, 6, 2], strides: [2, 2], pad: 'same' },
  { x: [1, 11, 10, 8], filter: [4, 4, 8, 1], strides: [3, 3], pad: 'same' },
  { x: [2, 8, 8, 4], filter: [3, 3, 4, 1], strides: [1, 1], pad: 'same' }, // a generator's last conv
  // One output channel, vectors over Ci (wasm/conv-one-output.ts): the forward pass's pairs of
  // vectors with one left, the filter gradient's blocks of four with one left, a row's last
  // pixels in a tile of four.
  { x: [2, 9, 11, 12], filter: [3, 3, 12, 1], strides: [1, 1], pad: explicitPad },
  { x: [2, 6, 7, 20], filter: [2, 3, 20, 1], strides: [2, 1], pad: 'valid' },
  { x: [2, 5, 1, 4], filter: [3, 3, 4, 1], strides: [2, 2], pad: 'same' }, // taps past a 1-pixel row
  // Wide enough for the SIMD forward kernel, with its tails: Co past a panel of 8, a row's last
  // pixels, Ci past a vector of 4 (the filter gradient's).
  { x: [2, 11, 10, 16], filter: [3, 2, 16, 19], strides: [2, 1], pad: explicitPad },
  { x: [3, 7, 9, 17], filter: [3, 3, 17, 23], strides: [1, 1], pad: 'same' },
  // Every window of a row's inner tiles inside it at stride 2: one run of taps per filter row.
  { x: [2, 12, 13, 16], filter: [3, 3, 16, 9], strides: [2, 2], pad: 'valid' },
  // 3×3 at stride 1 from 1024 output pixels: Winograd's F(2×2, 3×3) (wasm/winograd.ts) forward
  // and, where dy has whole vectors of channels, for the input gradient; odd sides (tiles past
  // the output), Co past a panel and not in whole vectors, padding on one side only.
  { x: [5, 15, 15, 16], filter: [3, 3, 16, 19], strides: [1, 1], pad: 'same' },
  { x: [5, 18, 17, 20], filter: [3, 3, 20, 16], strides: [1, 1], pad: 'valid' },
  { x: [4, 16, 17, 24], filter: [3, 3, 24, 20], strides: [1, 1], pad: explicitPad },
  // The filter gradient's F(3×3, 2×2) from 16384 dy pixels: odd sides (dy's blocks past them),
  // Co past a panel.
  { x: [19, 33, 31, 16], filter: [3, 3, 16, 20], strides: [1, 1], pad: 'valid' },
  // One input channel (the single-channel filter gradient): vectors of 8 output channels with
  // 1-7 lanes left over, blocks of five taps with spares, padding and strides.
  { x: [2, 9, 9, 1], filter: [3, 3, 1, 16], strides: [1, 1], pad: 'same' }, // BN-VGG conv1
  { x: [2, 13, 12, 1], filter: [7, 7, 1, 13], strides: [2, 2], pad: 'same' },
  { x: [1, 8, 10, 1], filter: [2, 6, 1, 3], strides: [1, 2], pad: explicitPad },
  { x: [3, 6, 6, 1], filter: [5, 5, 1, 1], strides: [1, 1], pad: 'valid' },
  { x: [2, 7, 5, 1], filter: [3, 4, 1, 2], strides: [3, 1], pad: 'valid' },
  // Its input gradient at stride 1: dy's five channels padded to two vectors.
  { x: [2, 7, 9, 1], filter: [3, 3, 1, 5], strides: [1, 1], pad: 'same' },
];

function dyFor(c: ConvCase, depthwise: boolean): Input {
  const info = tf.backend_util.computeConv2DInfo(
    c.x,
    c.filter,
    c.strides,
    c.dilations ?? 1,
    c.pad,
    undefined,
    depthwise,
  );
  return random(info.outShape);
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});

describe('wasm training kernels match the CPU backend', () => {
  it('registers every kernel on wasm', () => {
    for (const { kernelName } of wasmTrainingKernels()) {
      expect(tf.getKernel(kernelName, 'wasm'), kernelName).toBeDefined();
    }
  });

  it('Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput', async () => {
    for (const c of convCases) {
      const label = JSON.stringify(c);
      const dy = dyFor(c, false);
      const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
      await compareKernel(
        'Conv2D',
        { x: random(c.x), filter: random(c.filter) },
        { ...common, dilations: [1, 1] },
        label,
      );
      await compareKernel(
        'Conv2DBackpropFilter',
        { x: random(c.x), dy },
        { ...common, filterShape: c.filter },
        label,
      );
      await compareKernel(
        'Conv2DBackpropInput',
        { dy, filter: random(c.filter) },
        { ...common, inputShape: c.x },
        label,
      );
    }
  });

  it('DepthwiseConv2dNative backprops, with channel multipliers and dilations', async () => {
    const cases: ConvCase[] = [
      { x: [2, 9, 9, 4], filter: [3, 3, 4, 1], strides: [1, 1], pad: 'same' },
      { x: [2, 10, 9, 3], filter: [3, 3, 3, 2], strides: [2, 2], pad: 'same' },
      { x: [1, 9, 10, 2], filter: [3, 2, 2, 3], strides: [2, 1], pad: 'valid' },
      { x: [2, 9, 9, 3], filter: [3, 3, 3, 1], strides: [1, 1], pad: 'valid', dilations: [2, 2] },
      { x: [1, 10, 8, 2], filter: [2, 3, 2, 2], strides: [1, 1], pad: 'same', dilations: [2, 3] },
      { x: [3, 7, 7, 2], filter: [3, 3, 2, 1], strides: [1, 2], pad: explicitPad },
    ];
    for (const c of cases) {
      const label = JSON.stringify(c);
      const dy = dyFor(c, true);
      const x = random(c.x);
      const filter = random(c.filter);
      const dilations = c.dilations ?? [1, 1];
      // The CPU kernels ignore dilations (TF.js gradients never pass any), so the reference
      // runs the equivalent undilated convolution whose filter has zeros between the taps.
      const effective = dilated(filter, dilations);
      const { cpu, wasm } = await onBoth(
        [x, dy, filter, effective],
        ([x, dy, filter, effective], backend) => {
          const cpuRef = backend === 'cpu';
          const attrs = { strides: c.strides, pad: c.pad, dilations: cpuRef ? [1, 1] : dilations };
          const dw = tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x, dy },
              { ...attrs, filterShape: cpuRef ? effective.shape : c.filter },
            ) as tf.Tensor4D;
          const dx = tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy, filter: cpuRef ? effective : filter },
              { ...attrs, inputShape: c.x },
            ) as tf.Tensor;
          return [
            cpuRef ? tf.stridedSlice(dw, [0, 0, 0, 0], dw.shape, [...dilations, 1, 1]) : dw,
            dx,
          ];
        },
      );
      expectClose(wasm[0], cpu[0], `DepthwiseConv2dNativeBackpropFilter ${label}`);
      expectClose(wasm[1], cpu[1], `DepthwiseConv2dNativeBackpropInput ${label}`);
    }
  });

  const poolCases: {
    x: Shape4;
    filterSize: [number, number];
    strides: [number, number];
    pad: Pad;
  }[] = [
    { x: [3, 12, 12, 6], filterSize: [2, 2], strides: [2, 2], pad: 'valid' }, // LeNet
    { x: [2, 9, 6, 9], filterSize: [3, 2], strides: [3, 2], pad: 'valid' }, // tiling, 9 channels
    { x: [1, 4, 4, 4], filterSize: [2, 2], strides: [2, 2], pad: 'same' },
    { x: [2, 9, 9, 3], filterSize: [2, 2], strides: [2, 2], pad: 'valid' }, // odd side: last row unused
    { x: [2, 9, 8, 3], filterSize: [2, 2], strides: [2, 2], pad: 'same' },
    { x: [2, 9, 9, 2], filterSize: [3, 3], strides: [2, 2], pad: 'same' }, // overlapping windows
    { x: [1, 7, 6, 4], filterSize: [3, 2], strides: [1, 1], pad: 'valid' },
    { x: [2, 8, 7, 2], filterSize: [2, 3], strides: [1, 2], pad: explicitPad },
    { x: [2, 8, 8, 3], filterSize: [2, 2], strides: [3, 3], pad: 'valid' }, // gaps between windows
  ];

  it('MaxPoolGrad gives each window’s gradient to its first maximum, ties included', async () => {
    for (const c of poolCases) {
      for (const levels of [undefined, 3]) {
        const label = `${JSON.stringify(c)} levels=${levels}`;
        const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad };
        const x = random(c.x, levels);
        const pooled = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
        const { cpu, wasm } = await onBoth([x, random(pooled.outShape)], ([input, dy]) => {
          const output = tf.engine().runKernel('MaxPool', { x: input }, attrs) as tf.Tensor;
          return tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs) as tf.Tensor;
        });
        expectClose(wasm[0], cpu[0], `MaxPoolGrad ${label}`);
      }
    }
  });

  it('AvgPoolGrad', async () => {
    for (const c of poolCases) {
      const pooled = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
      const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad };
      await compareKernel(
        'AvgPoolGrad',
        { dy: random(pooled.outShape), input: random(c.x) },
        attrs,
        JSON.stringify(c),
      );
    }
  });

  it('UnsortedSegmentSum, the gradient of gather', async () => {
    const ids = Int32Array.from({ length: 12 }, () => rng.int(5));
    const segmentIds: Input = { shape: [12], values: ids, dtype: 'int32' };
    await compareKernel(
      'UnsortedSegmentSum',
      { x: random([12, 3, 2]), segmentIds },
      { numSegments: 5 },
      '12 rows',
    );
  });

  it('BatchMatMul with every transpose combination and batch broadcasting', async () => {
    for (const [transposeA, transposeB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const a = random(transposeA ? [2, 7, 5] : [2, 5, 7]);
      const b = random(transposeB ? [1, 3, 7] : [1, 7, 3]);
      await compareKernel(
        'BatchMatMul',
        { a, b },
        { transposeA, transposeB },
        `tA=${transposeA} tB=${transposeB}`,
      );
    }
  });

  it('BatchMatMul of one batch by our convolution kernels: rows of four pixels or one row', async () => {
    // 37 rows cannot be cut into rows of four; 100 columns leave a part-filled panel of 8.
    for (const [m, depth, n] of [
      [36, 70, 100],
      [37, 70, 100],
    ]) {
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
      ]) {
        const a = random(transposeA ? [depth, m] : [m, depth]);
        const b = random(transposeB ? [1, n, depth] : [1, depth, n]);
        await compareKernel(
          'BatchMatMul',
          { a, b },
          { transposeA, transposeB },
          `${m}×${depth}×${n}, tA=${transposeA} tB=${transposeB}`,
        );
      }
    }
  });

  it("FusedConv2D: bias and ReLU in our kernels' epilogue", async () => {
    const conv = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
    for (const [x, filter, activation, withBias] of [
      [[3, 12, 12, 1], [5, 5, 1, 6], 'relu', true], // LeNet conv1: the single-channel kernel
      [[2, 9, 9, 16], [3, 3, 16, 19], 'relu', true], // the general kernel, a part-filled panel
      [[2, 9, 9, 16], [3, 3, 16, 19], 'relu', false],
      [[2, 9, 9, 16], [3, 3, 16, 19], 'linear', true],
      [[64, 5, 5, 16], [5, 5, 16, 12], 'relu', true], // LeNet C5: one window, a matmul
      [[2, 8, 8, 6], [5, 5, 6, 16], 'relu', true], // narrow, one thread: XNNPACK's fused kernel
      [[2, 9, 9, 8], [3, 3, 8, 1], 'relu', true], // one output channel: its own kernel
      [[4, 16, 16, 16], [3, 3, 16, 19], 'relu', true], // Winograd's
      [[2, 9, 9, 16], [3, 3, 16, 19], 'elu', true], // an activation of its own: the stock kernel
    ] as [Shape4, Shape4, string, boolean][]) {
      const inputs = { x: random(x), filter: random(filter) };
      const bias: Record<string, Input> = withBias ? { bias: random([filter[3]]) } : {};
      await compareKernel(
        'FusedConv2D',
        { ...inputs, ...bias },
        { ...conv, activation },
        `${x} * ${filter} ${activation}${withBias ? ' + bias' : ''}`,
      );
    }
  });

  it("ReLU's and LeakyReLU's gradients in one kernel, with the bits of Step then Multiply", async () => {
    registerTrainingGradients();
    // 105 values (not whole vectors): NaN, ±0, negatives and positives.
    const values = random([3, 7, 5]).values.map((v, i) => (i % 9 === 0 ? 0 : v));
    values[1] = NaN;
    values[2] = -0;
    const [x, dy] = [tf.tensor(values, [3, 7, 5]), tf.tensor(random([3, 7, 5]).values, [3, 7, 5])];
    for (const alpha of [0, 0.2]) {
      const activation = (t: tf.Tensor) => (alpha ? tf.leakyRelu(t, alpha) : tf.relu(t));
      const loss = (t: tf.Tensor) => tf.sum(tf.mul(activation(t), dy));
      const { kernels } = await tf.profile(() => tf.grad(loss)(x));
      expect(kernels.map((kernel) => kernel.name)).toContain(RELU_BACKPROP);
      expect(kernels.map((kernel) => kernel.name)).not.toContain('Step');
      const grad = tf.grad(loss)(x);
      const stock = tf.mul(dy, tf.step(x, alpha));
      expect(Array.from(await grad.data())).toEqual(Array.from(await stock.data()));
      // Second order: the gradient of the gradient with respect to x is zero (NaN at the NaN).
      const second = tf.grad((t: tf.Tensor) => tf.sum(tf.grad(loss)(t)))(x);
      const finite = Array.from(await second.data()).filter((_, i) => i !== 1);
      expect(finite.every((v) => v === 0)).toBe(true);
      tf.dispose([grad, stock, second]);
    }
    tf.dispose([x, dy]);
  });

  it('LeakyReLU as the CPU backend computes it', async () => {
    // A DAFL generator's block (split between threads where there are some), and a tail.
    for (const shape of [
      [8, 32, 32, 64],
      [3, 7, 5],
    ]) {
      await compareKernel('LeakyRelu', { x: random(shape) }, { alpha: 0.2 }, `${shape}`);
    }
  });

  it('leaves no intermediate buffers behind', async () => {
    const backend = tf.backend() as tf.KernelBackend & { numDataIds(): number };
    const c = convCases[3];
    const before = backend.numDataIds();
    tf.tidy(() => {
      const x = tf.tensor(random(c.x).values, c.x);
      const dy = tf.tensor(
        dyFor(c, false).values,
        tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad).outShape,
      );
      const filter = tf.tensor(random(c.filter).values, c.filter);
      const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { ...common, filterShape: c.filter },
      );
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: c.x });
      const y = tf.maxPool(x as tf.Tensor4D, 3, 2, 'same');
      tf.engine().runKernel(
        'MaxPoolGrad',
        { dy: y, input: x, output: y },
        { filterSize: 3, strides: 2, pad: 'same' },
      );
      tf.matMul(x.reshape([-1, c.x[3]]), x.reshape([-1, c.x[3]]), true, false);
    });
    expect(backend.numDataIds()).toBe(before);
  });

  it('tells a kernel whether the bytes it would read past a tensor are memory', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const t = tf.zeros([5]);
    const k = new WasmCalls(backend);
    const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
    // The single-channel filter gradient reads up to 28 bytes past dY where they exist.
    expect(k.followedBy(info, 32)).toBe(true);
    expect(k.followedBy(info, backendMemory(backend)!.buffer.byteLength)).toBe(false);
    t.dispose();
  });
});

describe('whole-network gradients match the CPU backend', () => {
  it('a small conv net with batch norm, depthwise, pooling and gather', async () => {
    // Large enough (8x16x16x6 activations) for the per-channel and reduction fast paths.
    const shapes = {
      x: [8, 16, 16, 2],
      conv: [3, 3, 2, 6],
      gamma: [6],
      conv2: [3, 3, 6, 6],
      beta: [6],
      depthwise: [3, 3, 6, 2],
      pointwise: [1, 1, 12, 8],
      embedding: [10, 8],
      dense: [8, 5],
    };
    const tokens: Input = {
      shape: [8],
      values: Int32Array.from([1, 3, 3, 7, 0, 9, 9, 2]),
      dtype: 'int32',
    };
    const inputs = [...Object.values(shapes).map((s) => random(s)), tokens];
    const { cpu, wasm } = await onBoth(inputs, (ts) => {
      const ids = ts.pop()!;
      const loss = (
        ...[x, conv, gamma, conv2, beta, depthwise, pointwise, embedding, dense]: tf.Tensor[]
      ) => {
        // Batch norm from plain ops, then as the graph IR does it (moments + tf.batchNorm).
        let h = tf.conv2d(x as tf.Tensor4D, conv as tf.Tensor4D, 1, 'same');
        const first = tf.moments(h, [0, 1, 2]);
        h = tf.relu(
          tf.mul<tf.Tensor4D>(
            tf.mul(tf.sub(h, first.mean), tf.rsqrt(tf.add(first.variance, 1e-5))),
            gamma,
          ),
        );
        h = tf.conv2d(h, conv2 as tf.Tensor4D, 1, 'same');
        const second = tf.moments(h, [0, 1, 2]);
        h = tf.relu(
          tf.batchNorm<tf.Rank.R4>(
            h,
            second.mean as tf.Tensor1D,
            second.variance as tf.Tensor1D,
            beta as tf.Tensor1D,
            gamma as tf.Tensor1D,
            1e-3,
          ),
        );
        h = tf.maxPool(h, 2, 2, 'valid');
        h = tf.depthwiseConv2d(h, depthwise as tf.Tensor4D, 2, 'same');
        h = tf.conv2d(tf.avgPool(h, 2, 1, 'same'), pointwise as tf.Tensor4D, 1, 'valid');
        const features = tf.add(tf.mean(h, [1, 2]), tf.gather(embedding, ids));
        return tf.sum(tf.square(tf.matMul(features as tf.Tensor2D, dense as tf.Tensor2D)));
      };
      return tf.grads(loss)(ts);
    });
    Object.keys(shapes).forEach((name, i) => expectClose(wasm[i], cpu[i], `d loss / d ${name}`));
  });
});
