/**
 * Faster paths for stock wasm kernels on the shapes training produces. The stock kernels stay
 * for every other call. Measured on a 2-core machine (batch 64):
 * - per-channel broadcasts ([..., C] with [C]: bias adds, batch-norm arithmetic): the stock
 *   binary kernels broadcast the inner axis 3-10x slower than a 1x1 depthwise convolution, and
 *   that in turn 2x slower than our SIMD kernel (wasm/channels.ts) where it runs;
 * - reductions over the leading axes (batch statistics, bias gradients): the stock Sum and
 *   Mean first transpose the reduced axes inward, 26 ms for a 64x32x32x64 tensor against 1 ms
 *   as one average pooling, and our SIMD kernel (wasm/channels.ts) is faster again;
 * - Tile of a per-channel vector (FusedBatchNorm's gradient): a scalar loop, 180 ms per BN-VGG
 *   step;
 * - BatchMatMul with a transpose flag (every matmul gradient): a scalar loop, 10x slower than
 *   transposing first;
 * - Identity and same-type Cast (every ReLU gradient casts its input): copies, where the CPU
 *   backend shares the buffer (tensors are immutable; a variable's assign swaps buffers);
 * - windows of an image batch's rows and columns (Slice, SplitV) and zero padding of them
 *   (PadV2): a copy per pixel, 1–4 ms for a 100×28×28×1 batch;
 * - ResizeNearestNeighbor by integer factors (every generator's upsample) and its gradient:
 *   scalar loops, 17 ms for a 128x16x16x128 input (our bulk copies: see resizeNearest) and 51
 *   ms for a 128x32x32x32 dy (5 ms as one strided depthwise convolution).
 */
import * as tf from '@tensorflow/tfjs';

import {
  size,
  splitRange,
  withFastPath,
  type Body,
  type Info,
  type TrainingKernelConfig,
  type WasmCalls,
} from './wasm-calls';
import { FLOPS_PER_FLOAT_MOVED, simdKernels, type SimdKernels } from './wasm-simd';

type FastPath = Body<Info | Info[] | undefined>;

/** Below this many elements the stock kernels' lower overhead wins. */
const MIN_FAST_SIZE = 8192;
/** A few long rows (a [taps, windows] layout) broadcast fast in the stock kernels already. */
const MIN_PIXELS = 64;

/**
 * The channel count C if `vector` holds one float per channel of `x` ([C] or [1, …, 1, C]
 * against [..., C]) and `x` has enough elements and pixels to be worth it; 0 otherwise.
 */
function channelsOf(x: Info, vector: Info): number {
  const c = x.shape[x.shape.length - 1];
  const fits =
    x.dtype === 'float32' &&
    vector.dtype === 'float32' &&
    x.shape.length >= 2 &&
    c > 1 &&
    size(x) >= MIN_FAST_SIZE &&
    size(x) / c >= MIN_PIXELS &&
    vector.shape[vector.shape.length - 1] === c &&
    size(vector) === c;
  return fits ? c : 0;
}

/**
 * x·scale + bias per channel: by our SIMD kernel (wasm/channels.ts, 0.16 → 0.08 ms for a bias
 * add over 64×28×28×6), else as one 1x1 depthwise convolution over all pixels.
 */
function channelAffine(k: WasmCalls, x: Info, c: number, scale: Info | number, bias?: Info): Info {
  const simd = simdKernels(k.backend);
  if (simd !== undefined) return simdChannelAffine(k, simd, x, c, scale, bias ?? 0);
  const filter =
    typeof scale === 'number'
      ? k.constant([1, 1, c, 1], new Float32Array(c).fill(scale))
      : k.reshape(scale, [1, 1, c, 1]);
  const pixels = k.reshape(x, [size(x) / c, 1, 1, c]);
  const attrs = { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' };
  return bias === undefined
    ? k.one('DepthwiseConv2dNative', { x: pixels, filter }, attrs)
    : k.one(
        'FusedDepthwiseConv2D',
        { x: pixels, filter, bias: rank1(k, bias, c) },
        { ...attrs, activation: 'linear' },
      );
}

/**
 * The floats in a block of our per-channel kernels (wasm/channels.ts): a multiple of C and of 4
 * (a vector), so that every block of a flat [..., C] tensor lines up with C-channel patterns;
 * 256 or more, so that each block is a long run (12 floats for C = 6 took twice as long).
 */
export function blockPeriod(c: number): number {
  const aligned = c % 4 === 0 ? c : c % 2 === 0 ? 2 * c : 4 * c;
  return aligned * Math.ceil(256 / aligned);
}

/** Per-channel values: a tensor of C floats, C numbers, or one number for every channel. */
export type ChannelValues = Info | Float32Array | number;

/** `values` repeated over one block of `period` floats (blockPeriod), as the kernels take them. */
export function channelPattern(
  k: WasmCalls,
  c: number,
  period: number,
  values: ChannelValues,
): Info {
  const pattern = new Float32Array(period);
  if (typeof values === 'number') pattern.fill(values);
  else {
    const channels = values instanceof Float32Array ? values : k.backend.typedArrayFromHeap(values);
    for (let at = 0; at < period; at += c) pattern.set(channels.subarray(0, c), at);
  }
  return k.constant([period], pattern);
}

/**
 * x·scale + bias per channel by our SIMD kernel (wasm/channels.ts), plus z·zScale where `z`
 * is given ([z, zScale], z shaped as x).
 */
export function simdChannelAffine(
  k: WasmCalls,
  simd: SimdKernels,
  x: Info,
  c: number,
  scale: ChannelValues,
  bias: ChannelValues,
  z?: [Info, ChannelValues],
): Info {
  const period = blockPeriod(c);
  const [scales, biases] = [
    channelPattern(k, c, period, scale),
    channelPattern(k, c, period, bias),
  ];
  const zOperands = z ? [k.address(z[0]), k.address(channelPattern(k, c, period, z[1]))] : [0, 0];
  const y = k.output(x.shape);
  const total = size(x);
  const operands = [k.address(x), k.address(scales), ...zOperands, k.address(biases), k.address(y)];
  const flops = (z ? 3 : 2) * FLOPS_PER_FLOAT_MOVED * total;
  simd.runSplit('channelAffine', [total, period, z ? 1 : 0], flops, (count) =>
    splitRange([...operands, total, period], Math.ceil(total / period), count),
  );
  return y;
}

/**
 * The wasm fused kernels check the shape their bias buffer was made with, not the view they
 * get: a [1, 1, 1, C] buffer needs a rank-1 copy.
 */
export function rank1(k: WasmCalls, vector: Info, c: number): Info {
  return k.backend.dataIdMap.get(vector.dataId).shape.length === 1
    ? k.reshape(vector, [c])
    : k.copy(vector, [c]);
}

type Binary = (k: WasmCalls, x: Info, c: number, vector: Info, vectorFirst: boolean) => Info;

/** A binary kernel's per-channel broadcasts (either operand the vector) as `affine`. */
function perChannel(affine: Binary): FastPath {
  return (k, { a, b }) => {
    const [x, vector, vectorFirst] = channelsOf(a, b) ? [a, b, false] : [b, a, true];
    const c = channelsOf(x, vector);
    if (!c) return undefined;
    return k.reshape(
      affine(k, x, c, vector, vectorFirst),
      tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape),
    );
  };
}

const subtract: Binary = (k, x, c, vector, vectorFirst) =>
  vectorFirst
    ? channelAffine(k, x, c, -1, vector)
    : channelAffine(k, x, c, 1, k.one('Neg', { x: vector }));

/**
 * Sum or Mean over a contiguous run of axes before the last, the tensor viewed as [outer,
 * reduced, inner]: by our SIMD kernel, else (from MIN_FAST_SIZE) as one average pooling of it
 * as [outer, reduced, 1, inner] with a [reduced, 1] window.
 */
function leadingReduction(kind: 'Sum' | 'Mean'): FastPath {
  return (k, { x }, attrs) => {
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const [first, last] = [axes[0], axes[axes.length - 1]];
    const contiguous =
      axes.length > 0 && last - first + 1 === axes.length && last < x.shape.length - 1;
    if (x.dtype !== 'float32' || !contiguous) return undefined;
    const extent = (from: number, to: number) => tf.util.sizeFromShape(x.shape.slice(from, to));
    const reduced = extent(first, last + 1);
    const outShape = keepDims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    const [outer, inner] = [extent(0, first), extent(last + 1, x.shape.length)];
    const simd = simdKernels(k.backend);
    if (simd !== undefined && reduced >= 2) {
      // One pass in blocks (wasm/channels.ts): 0.07 → 0.05 ms for a bias gradient over
      // 64×28×28×6, and no transposing path for small ones (0.08 ms for 64×84).
      const period = blockPeriod(inner);
      const y = k.output(outShape);
      const operands = [k.address(x), k.address(k.output([period])), k.address(y)];
      // One thread: a float argument (the divisor) cannot go through KernelThreads' Int32 slots.
      const divisor = kind === 'Mean' ? reduced : 1;
      simd.run('channelSums', [[...operands, reduced, inner, period, divisor, 0, outer]], false);
      return y;
    }
    if (size(x) < MIN_FAST_SIZE || reduced < 2) return undefined;
    const view = k.reshape(x, [outer, reduced, 1, inner]);
    const mean = k.one(
      'AvgPool',
      { x: view },
      { filterSize: [reduced, 1], strides: [reduced, 1], pad: 'valid' },
    );
    const result =
      kind === 'Mean'
        ? mean
        : k.one('Multiply', { a: mean, b: k.constant([], new Float32Array([reduced])) });
    return k.reshape(result, outShape);
  };
}

/** Tiling a per-channel vector over all pixels is a broadcast: zeros plus the vector as bias. */
const tile: FastPath = (k, { x }, attrs) => {
  const { reps } = attrs as unknown as tf.TileAttrs;
  const c = x.shape[x.shape.length - 1];
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const isVector = size(x) === c && reps[reps.length - 1] === 1;
  if (x.dtype !== 'float32' || !isVector || c < 2 || size({ shape: outShape }) < MIN_FAST_SIZE) {
    return undefined;
  }
  return k.reshape(channelAffine(k, k.zeros(outShape), c, 1, x), outShape);
};

/** Batch norm y = x·s + (offset - mean·s) with s = scale / √(variance + ε), per channel. */
const fusedBatchNorm: FastPath = (k, { x, mean, variance, offset, scale }, attrs) => {
  const c = channelsOf(x, mean);
  const perChannelParams = [variance, offset, scale].every(
    (p) => p === undefined || channelsOf(x, p) === c,
  );
  if (!c || !perChannelParams) return undefined;
  const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
  const epsilon = k.constant([], new Float32Array([varianceEpsilon]));
  const invStd = k.one('Rsqrt', { x: k.one('Add', { a: variance, b: epsilon }) });
  const s = scale === undefined ? invStd : k.one('Multiply', { a: invStd, b: scale });
  const shifted = k.one('Neg', { x: k.one('Multiply', { a: mean, b: s }) });
  const shift = offset === undefined ? shifted : k.one('Add', { a: offset, b: shifted });
  return k.reshape(channelAffine(k, x, c, s, shift), x.shape);
};

/** Transposes explicitly, then runs the (fast) untransposed stock matmul. */
export const transposingBatchMatMul: FastPath = (k, { a, b }, attrs) => {
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (!transposeA && !transposeB) return undefined;
  const swapLast = (x: Info) => {
    const perm = x.shape.map((_, i) => i);
    perm.splice(-2, 2, perm.length - 1, perm.length - 2);
    return k.transpose(x, perm);
  };
  return k.one(
    'BatchMatMul',
    { a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b },
    { transposeA: false, transposeB: false },
  );
};

/**
 * Nearest-neighbour upsampling by integer factors (every generator's ×2), without aligned
 * corners (with or without half-pixel centres, the same pixels then): by our bulk copies
 * (wasm/pad.ts), input rows split between threads.
 */
const resizeNearest: FastPath = (k, { images }, attrs) => {
  const { alignCorners, size: outSize } = attrs as unknown as tf.ResizeNearestNeighborAttrs;
  const [n, h, w, c] = images.shape;
  const [fy, fx] = [outSize[0] / h, outSize[1] / w];
  const simd = simdKernels(k.backend);
  if (simd === undefined || alignCorners || images.dtype !== 'float32') return undefined;
  if (!Number.isInteger(fy) || !Number.isInteger(fx)) return undefined;
  const out = k.output([n, outSize[0], outSize[1], c]);
  const moved = size(images) * (1 + fy * fx);
  simd.runSplit('upsampleNearest', [n, h, w, c, fy, fx], FLOPS_PER_FLOAT_MOVED * moved, (count) =>
    splitRange([k.address(images), k.address(out), w, c, fy, fx], n * h, count),
  );
  return out;
};

/**
 * Nearest-neighbour upsampling by integer factors (fy, fx) copies input pixel (y, x) to the
 * block of rows y·fy .. y·fy+fy-1 and columns x·fx .. x·fx+fx-1, with or without half-pixel
 * centres, so its gradient sums each block of dy: a depthwise convolution with an all-ones
 * fy × fx filter at stride (fy, fx).
 */
const resizeNearestGrad: FastPath = (k, { images, dy }, attrs) => {
  const { alignCorners } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
  const [, h, w, c] = images.shape;
  const [, outH, outW] = dy.shape;
  const [fy, fx] = [outH / h, outW / w];
  if (alignCorners || !Number.isInteger(fy) || !Number.isInteger(fx) || dy.dtype !== 'float32') {
    return undefined;
  }
  const ones = k.constant([fy, fx, c, 1], new Float32Array(fy * fx * c).fill(1));
  return k.one(
    'DepthwiseConv2dNative',
    { x: dy, filter: ones },
    { strides: [fy, fx], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC' },
  );
};

/**
 * A window of an NHWC float32 tensor's rows and columns, whole batch and channels: a crop by
 * WasmCalls.fitSpatial's bulk row copies. The stock kernel copies one pixel at a time through a
 * new typed-array view each: 3.7 ms for a 100×28×28×1 batch's window, which DeepInversion's
 * jitter and total-variation prior take 8 of a step. Undefined where the window is one
 * contiguous run (the stock kernel copies that at once) or not of this form.
 */
function spatialWindow(k: WasmCalls, x: Info, begin: number[], extent: number[]): Info | undefined {
  const [n, h, w, c] = x.shape;
  const fits =
    // fitSpatial falls back on Slice itself without our SIMD module.
    simdKernels(k.backend) !== undefined &&
    x.dtype === 'float32' &&
    x.shape.length === 4 &&
    begin[0] === 0 &&
    extent[0] === n &&
    begin[3] === 0 &&
    extent[3] === c &&
    !tf.slice_util.isSliceContinous(x.shape, begin, extent);
  if (!fits) return undefined;
  return k.fitSpatial(x, [
    [-begin[1], begin[1] + extent[1] - h],
    [-begin[2], begin[2] + extent[2] - w],
  ]);
}

const slice: FastPath = (k, { x }, attrs) => {
  const { begin, size: extent } = attrs as unknown as tf.SliceAttrs;
  const [from, to] = tf.slice_util.parseSliceParams(x, begin, extent);
  return spatialWindow(k, x, from, to);
};

/** Splitting along rows or columns (DeepInversion's circular shift) is a window per part. */
const splitV: FastPath = (k, { x }, attrs) => {
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  const [along] = tf.util.parseAxisParam(axis, x.shape);
  const parts = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, along);
  const begin = x.shape.map(() => 0);
  const windows = parts.map((part) => {
    const extent = x.shape.map((d, i) => (i === along ? part : d));
    const window = spatialWindow(k, x, [...begin], extent);
    begin[along] += part;
    return window;
  });
  return windows.every((w) => w !== undefined) ? windows : undefined;
};

/**
 * Zero padding of the rows and columns of an NHWC float32 tensor (a window's gradient) by the
 * bulk copies of WasmCalls.fitSpatial; the stock kernel took 1.2 ms for a 100×27×27×1 batch.
 */
const padV2: FastPath = (k, { x }, attrs) => {
  const { paddings, constantValue } = attrs as unknown as tf.PadV2Attrs;
  const spatialOnly =
    x.shape.length === 4 &&
    paddings[0].every((p) => p === 0) &&
    paddings[3].every((p) => p === 0) &&
    paddings.flat().every((p) => p >= 0) &&
    paddings.flat().some((p) => p > 0);
  // fitSpatial falls back on PadV2 itself without our SIMD module: the stock kernel here.
  if (simdKernels(k.backend) === undefined || x.dtype !== 'float32' || constantValue !== 0) {
    return undefined;
  }
  return spatialOnly ? k.fitSpatial(x, [paddings[1], paddings[2]]) : undefined;
};

/** The input's buffer under a new reference, as the Reshape kernel does. */
const alias = (k: WasmCalls, x: Info): Info => {
  k.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Built on call: each wraps whichever stock kernel is registered at that moment. */
export function fastPathKernels(): TrainingKernelConfig[] {
  const paths: Record<string, FastPath> = {
    Add: perChannel((k, x, c, vector) => channelAffine(k, x, c, 1, vector)),
    Sub: perChannel(subtract),
    Multiply: perChannel((k, x, c, vector) => channelAffine(k, x, c, vector)),
    SquaredDifference: perChannel((k, x, c, vector, first) =>
      k.one('Square', { x: subtract(k, x, c, vector, first) }),
    ),
    Sum: leadingReduction('Sum'),
    Mean: leadingReduction('Mean'),
    Tile: tile,
    FusedBatchNorm: fusedBatchNorm,
    Slice: slice,
    SplitV: splitV,
    PadV2: padV2,
    ResizeNearestNeighbor: resizeNearest,
    ResizeNearestNeighborGrad: resizeNearestGrad,
    Identity: (k, { x }) => alias(k, x),
    Cast: (k, { x }, attrs) =>
      (attrs as unknown as tf.CastAttrs).dtype === x.dtype ? alias(k, x) : undefined,
  };
  return Object.entries(paths).map(([name, fast]) => withFastPath(name, fast));
}
