/**
 * Training kernels for the TF.js WASM backend.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNative backprops or
 * UnsortedSegmentSum (so a conv net cannot train on it at all), and its Conv2DBackpropInput,
 * MaxPoolGrad and AvgPoolGrad are scalar C++ loops that cost more than the forward pass. Each
 * kernel here is a composition of the backend's own fast kernels (XNNPACK convolutions,
 * matmuls, transposes, pads); wasm-fast-paths.ts replaces stock kernels that are slow on the
 * shapes training produces.
 */
import * as tf from '@tensorflow/tfjs';

import {
  kernelConfig,
  replaceKernel,
  size,
  splitRange,
  type Attrs,
  type Info,
  type SpatialPad,
  type TrainingKernelConfig,
  type WasmCalls,
  withFastPath,
} from './wasm-calls';
import {
  crossEntropyLogitsGradient,
  crossEntropyValue,
  SOFTMAX_CROSS_ENTROPY,
  SOFTMAX_CROSS_ENTROPY_GRAD,
} from './cross-entropy';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, CHANNEL_MOMENTS } from './batch-norm';
import { RELU_BACKPROP } from './gradients';
import {
  batchNormTrainingGradKernel,
  batchNormTrainingKernel,
  channelMomentsKernel,
} from './wasm-batch-norm';
import { fastPathKernels, rank1, transposingBatchMatMul } from './wasm-fast-paths';
import { FLOPS_PER_FLOAT_MOVED, simdKernels, type SimdKernels } from './wasm-simd';

function assertChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat === 'NCHW') {
    throw new Error(`${kernel} on wasm supports NHWC only (the wasm forward convolutions do too)`);
  }
}

/**
 * dx of a stride-s convolution = a stride-1 convolution of the zero-inserted dy with the
 * spatially flipped filter, padded so the output lands on the input grid. `depthwise` filters
 * are [fh, fw, C, M]; regular ones [fh, fw, Ci, Co].
 */
function convInputGrad(
  k: WasmCalls,
  dy: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
  depthwise: boolean,
): Info {
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const [n, h, w, c] = info.inShape;
  // A dilated filter is an undilated one with zeros between its taps.
  const taps = k.zeroInsert(k.reshape(filter, [1, fh, fw, -1]), dh, dw);
  const [, efh, efw] = taps.shape;
  const flipped = k.one('Reverse', { x: taps }, { dims: [1, 2] });
  const spread = k.zeroInsert(dy, info.strideHeight, info.strideWidth);
  const top = efh - 1 - info.padInfo.top;
  const left = efw - 1 - info.padInfo.left;
  const pad: SpatialPad = [
    [top, h + efh - 1 - top - spread.shape[1]],
    [left, w + efw - 1 - left - spread.shape[2]],
  ];
  if (!depthwise) {
    const [ci, co] = filter.shape.slice(2);
    const swapped = k.transpose(k.reshape(flipped, [efh, efw, ci, co]), [0, 1, 3, 2]);
    return k.convolve('Conv2D', spread, swapped, pad);
  }
  const m = filter.shape[3];
  const perChannel = k.convolve(
    'DepthwiseConv2dNative',
    spread,
    k.reshape(flipped, [efh, efw, c * m, 1]),
    pad,
  );
  if (m === 1) return perChannel;
  // Channel c of x fed outputs c*m .. c*m+m-1: its gradient sums over them.
  return k.one(
    'Sum',
    { x: k.reshape(perChannel, [n, h, w, c, m]) },
    { axis: [4], keepDims: false },
  );
}

/** The geometry of the forward convolution a gradient kernel differentiates (convs: no dilation). */
function forwardConvInfo(
  inShape: readonly number[],
  filterShape: readonly number[],
  a: Pick<tf.DepthwiseConv2dNativeBackpropInputAttrs, 'strides' | 'pad' | 'dimRoundingMode'> & {
    dilations?: tf.DepthwiseConv2dNativeBackpropInputAttrs['dilations'];
  },
  depthwise = false,
): tf.backend_util.Conv2DInfo {
  type Shape4 = [number, number, number, number];
  return tf.backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    a.strides,
    depthwise ? (a.dilations ?? 1) : 1,
    a.pad,
    a.dimRoundingMode,
    depthwise,
  );
}

/**
 * A convolution with a single output pixel (LeNet's C5: a 5x5 filter over a 5x5 input) is a
 * dense layer over its one window: x fitted to the window (padded or cropped) as [N, fh·fw·Ci]
 * rows, whose order (row, column, channel) is the filter's as [fh·fw·Ci, Co]. Each of its three
 * kernels is then one matmul (batch 64, 5x5, 16 → 120, one thread: forward 0.73 → 0.25 ms and
 * filter gradient 0.61 → 0.28 against the general convolution kernels).
 */
function isWholeWindow(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.outHeight === 1 &&
    info.outWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1
  );
}

/** The padding (negative: cropping) that makes x exactly the single window. */
function windowPad(info: tf.backend_util.Conv2DInfo): SpatialPad {
  const { filterHeight: fh, filterWidth: fw, padInfo } = info;
  const [, h, w] = info.inShape;
  return [
    [padInfo.top, fh - h - padInfo.top],
    [padInfo.left, fw - w - padInfo.left],
  ];
}

function windowRows(k: WasmCalls, x: Info, info: tf.backend_util.Conv2DInfo): Info {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci } = info;
  return k.reshape(k.fitSpatial(x, windowPad(info)), [1, info.batchSize, fh * fw * ci]);
}

const matmul = (k: WasmCalls, a: Info, b: Info, transposeA = false, transposeB = false) =>
  k.one('BatchMatMul', { a, b }, { transposeA, transposeB });

/** Undefined where a fused layer's matmul cannot take its epilogue (the stock kernel runs). */
function wholeWindowConv2D(
  k: WasmCalls,
  x: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
  epilogue: Epilogue,
): Info | undefined {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const [rows, weights] = [windowRows(k, x, info), k.reshape(filter, [1, fh * fw * ci, co])];
  const fused = epilogue.bias !== undefined || epilogue.relu;
  const y = fused ? simdMatMul(k, rows, weights, false, false, epilogue) : matmul(k, rows, weights);
  return y && k.reshape(y, [info.batchSize, 1, 1, co]);
}

function wholeWindowFilterGrad(k: WasmCalls, x: Info, dy: Info, info: tf.backend_util.Conv2DInfo) {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const dw = matmul(k, windowRows(k, x, info), k.reshape(dy, [1, info.batchSize, co]), true);
  return k.reshape(dw, [fh, fw, ci, co]);
}

/** dx = dy·Wᵀ on the window, then fitted back onto the input: rows outside it get zero. */
function wholeWindowInputGrad(
  k: WasmCalls,
  dy: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
): Info {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const n = info.batchSize;
  const rows = matmul(
    k,
    k.reshape(dy, [1, n, co]),
    k.reshape(filter, [1, fh * fw * ci, co]),
    false,
    true,
  );
  const [[top, bottom], [left, right]] = windowPad(info);
  return k.fitSpatial(k.reshape(rows, [n, fh, fw, ci]), [
    [-top, -bottom],
    [-left, -right],
  ]);
}

const conv2DBackpropInput = (
  k: WasmCalls,
  { dy, filter }: Record<string, Info>,
  attrs: Attrs,
): Info => {
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertChannelsLast('Conv2DBackpropInput', a.dataFormat);
  const info = forwardConvInfo(a.inputShape, filter.shape, a);
  if (isWholeWindow(info)) return wholeWindowInputGrad(k, dy, filter, info);
  return simdInputGrad(k, dy, filter, info) ?? convInputGrad(k, dy, filter, info, false);
};

/**
 * dx by our SIMD kernels (wasm/conv.ts), or undefined (a transposed convolution runs). At
 * stride 1, dx is dy convolved with the filter turned by 180° and its channels swapped, padded
 * by fh − 1 − top (and so on): `convForward`, which skips the taps that fall wholly in the
 * padding and adds over every tap in registers before one store, where dy's channels are not
 * too few for it (MIN_SIMD_CHANNELS). Batch 64, two threads, in the step: LeNet-5's conv2
 * 1.36–1.43 → 1.05–1.14 ms against the scatter below; BN-VGG's layers 3–12 % faster than the
 * transposed convolution (16 → 16 on 28×28: 3.89 → 3.25 ms); 3×3 ones by Winograd's
 * F(2×2, 3×3) where it fits (`winogradFits`). With one input channel, dx has
 * one channel: the same by `convForwardOneOutput`. Otherwise narrow inputs
 * (Ci < MIN_SIMD_CHANNELS) go to `convInputGrad`, which scatters each dy pixel through the taps
 * and so spends nothing on the zeros a transposed convolution inserts at larger strides (13.4
 * against XNNPACK's 32.1 ms on a generator's 16 → 1-channel output layer); from 16 input
 * channels on the scatter lost (15.5 against 12.0 ms, 3×3, 16 → 32 on 28×28).
 */
function simdInputGrad(
  k: WasmCalls,
  dy: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
): Info | undefined {
  const simd = simdKernels(k.backend);
  if (simd === undefined) return undefined;
  const [n, h, w, ci] = info.inShape;
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: fh, filterWidth: fw } = info;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  if (sh === 1 && sw === 1 && co >= MIN_SIMD_CHANNELS) {
    const { top, left } = info.padInfo;
    if (winogradFits([fh, fw], [sh, sw], [co, ci], n * h * w)) {
      const u = winogradFilter(k, filter, true);
      return winogradConv(k, simd, dy, u, [h, w, ci], [fh - 1 - top, fw - 1 - left], PLAIN);
    }
    const dx = k.output([n, h, w, ci]);
    const geometry = [oh, ow, co, h, w, ci, fh, fw, 1, 1, fh - 1 - top, fw - 1 - left];
    const panels: Panels = [k.address(turnedFilterPanels(k, filter)), 8];
    runConvForward(k, simd, n, [k.address(dy), panels, k.address(dx)], geometry, PLAIN);
    return dx;
  }
  if (sh === 1 && sw === 1 && ci === 1) {
    // One input channel (a grayscale image's gradient: data-free methods, attacks): dy convolved
    // with the turned filter by the one-output kernel, dy's channels zero-padded to a panel of
    // eight (LeNet-5's conv1 at batch 128: 13.6 → 4.7–6.8 ms against the scatter below).
    const channels = Math.ceil(co / 8) * 8;
    const turned = turnedOneOutputFilter(k, filter, channels);
    const { top, left } = info.padInfo;
    const pixels = k.reshape(dy, [n * oh * ow, co]);
    const dyVectors = k.reshape(padToEight(k, pixels, 1), [n, oh, ow, channels]);
    return k.reshape(
      oneOutputConv2D(k, simd, dyVectors, turned, [h, w], [1, 1], [fh - 1 - top, fw - 1 - left]),
      [n, h, w, 1],
    );
  }
  if (ci >= MIN_SIMD_CHANNELS) return undefined;
  const dx = k.zeros([n, h, w, ci]);
  const packed = filterPanels(k, k.transpose(filter, [0, 1, 3, 2]));
  const zeros = k.address(k.zeros([co]));
  const operands = [k.address(dy), k.address(packed), k.address(dx), zeros];
  const shape = [h, w, ci, oh, ow, co, fh, fw, sh, sw, info.padInfo.top, info.padInfo.left];
  const flops = 2 * n * oh * ow * fh * fw * ci * co;
  simd.runSplit('convInputGrad', [n, ...shape], flops, (count) =>
    splitRange([...operands, ...shape], n, count),
  );
  return dx;
}

const depthwiseBackpropInput = (
  k: WasmCalls,
  { dy, filter }: Record<string, Info>,
  attrs: Attrs,
): Info => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = forwardConvInfo(a.inputShape, filter.shape, a, true);
  return convInputGrad(k, dy, filter, info, true);
};

/**
 * x [N, H, W, C] as [C, H, W, N]: a 2D transpose moves the batch last ([H·W·C, N]), then whole
 * batch rows are regrouped by channel. The stock kernel's direct rank-4 transpose is a strided
 * scalar loop, 2.5x slower on a 128x32x32x32 tensor.
 */
function batchLast(k: WasmCalls, x: Info): Info {
  const [n, h, w, c] = x.shape;
  const rows = k.transpose(k.reshape(x, [n, h * w * c]), [1, 0]);
  if (c === 1) return k.reshape(rows, [1, h, w, n]);
  return k.reshape(k.transpose(k.reshape(rows, [h * w, c, n]), [1, 0, 2]), [c, h, w, n]);
}

/**
 * dW[i,j,ci,co] = Σ_{n,y,x} x[n, y·s + i - top, x·s + j - left, ci] · dy[n,y,x,co]. Our SIMD
 * kernel computes it in place (wasm/conv.ts), its (Ci, Co) plane split between threads; where
 * it cannot run, a convolution over the batch axis does: with x as [Ci, H, W, N] images and dy
 * as an [OH, OW, N, Co] filter dilated by the stride, one XNNPACK convolution yields
 * [Ci, fh, fw, Co], 2–3× slower (XNNPACK repacks that filter on every call).
 */
const conv2DBackpropFilter = (
  k: WasmCalls,
  { x, dy }: Record<string, Info>,
  attrs: Attrs,
): Info => {
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertChannelsLast('Conv2DBackpropFilter', a.dataFormat);
  const info = forwardConvInfo(x.shape, a.filterShape, a);
  if (isWholeWindow(info)) return wholeWindowFilterGrad(k, x, dy, info);
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const simd = simdKernels(k.backend);
  const flops = 2 * n * oh * ow * fh * fw * ci * co;
  const fits = winogradFits([fh, fw], [sh, sw], [ci, co], n * oh * ow, 'filterGrad');
  if (simd !== undefined && co % 4 === 0 && fits) {
    return winogradFilterGrad(k, simd, x, dy, [padInfo.top, padInfo.left], flops);
  }
  // One input channel (the first layer of a grayscale net): a kernel of its own, faster than the
  // general one (batch 64, one thread: 1 → 6 5×5 on 32×32 0.50 against 3.0 ms; 1 → 16 3×3 on
  // 28×28 0.69 against 0.72; 1 → 20 5×5 1.31 against 2.26). Its loads of a partial block of
  // channels read up to 7 floats past dy.
  if (simd !== undefined && ci === 1 && k.followedBy(dy, 32)) {
    // Padded to every tap, and to the spare columns of the kernel's last block of five taps.
    const rows = (oh - 1) * sh + fh;
    const cols = (ow - 1) * sw + 5 * Math.ceil(fw / 5);
    const padded = padToGrid(k, x, rows, cols, padInfo);
    const geometry = [rows, cols, oh, ow, co, fh, fw, sh, sw, 0, fh];
    return batchGroupFilterGrad(k, simd, 'convFilterGradSingleChannel', [fh, fw, 1, co], flops, {
      x: padded,
      dy,
      xImage: rows * cols,
      geometry: (images) => [images, ...geometry],
    });
  }
  if (simd !== undefined && co === 1 && ci % 4 === 0) {
    // One output channel (a generator's image layer): vectors over the input channels (64 → 1
    // 3×3 on 128×32×32: 34.5 → 3.9 ms on two threads, 51 → 7.1 on one).
    const geometry = [h, w, ci, oh, ow, fh, fw, sh, sw, padInfo.top, padInfo.left];
    return batchGroupFilterGrad(k, simd, 'convFilterGradOneOutput', [fh, fw, ci, 1], flops, {
      x,
      dy,
      xImage: h * w * ci,
      geometry: (images) => [images, ...geometry],
    });
  }
  if (simd !== undefined && Math.ceil(ci / 4) * Math.ceil(co / 8) < BATCH_GROUPS) {
    // A plane of few blocks (LeNet's conv2, 6 → 16: four): split by images instead.
    const rest = [h, w, ci, oh, ow, co, fh, fw, sh, sw, padInfo.top, padInfo.left, 0, ci, 0, co];
    return batchGroupFilterGrad(k, simd, 'convFilterGrad', [fh, fw, ci, co], flops, {
      x,
      dy,
      xImage: h * w * ci,
      geometry: (images) => [images, ...rest],
    });
  }
  if (simd !== undefined) {
    const dw = k.output([fh, fw, ci, co]);
    const geometry = [n, h, w, ci, oh, ow, co, fh, fw, sh, sw, padInfo.top, padInfo.left];
    const operands = [k.address(x), k.address(dy), k.address(dw), ...geometry];
    simd.runSplit('convFilterGrad', geometry, flops, (count) =>
      splitPlane(ci, co, count).map((part) => [...operands, ...part]),
    );
    return dw;
  }
  const taps = k.transpose(dy, [1, 2, 0, 3]);
  // Rows the forward pass never reached (a valid conv whose stride leaves a remainder) give
  // negative bottom/right padding: cropped away.
  const pad: SpatialPad = [
    [padInfo.top, fh + (oh - 1) * sh - h - padInfo.top],
    [padInfo.left, fw + (ow - 1) * sw - w - padInfo.left],
  ];
  const grad = k.convolve('Conv2D', batchLast(k, x), taps, pad, [sh, sw]);
  return k.transpose(grad, [1, 2, 0, 3]);
};

/**
 * A convolution with a single output pixel as one matmul; 3×3 ones at stride 1 where
 * `winogradFits` by Winograd's F(2×2, 3×3); otherwise by our SIMD kernel (wasm/conv.ts), its
 * output rows split between threads; undefined (the stock XNNPACK kernel
 * runs) where neither applies: NCHW, dilation, no SIMD kernels, or narrow layers
 * (MIN_SIMD_CHANNELS) where XNNPACK is faster — fewer outputs, or fewer inputs on one thread
 * or fewer than 4 inputs on several — except a single input channel, which has a kernel of
 * its own. On two threads, batch 64, narrow inputs split (XNNPACK's one thread → ours): 6 → 16
 * 5×5 on 14×14 1.20 → 0.77 ms, 8 → 16 3×3 on 16×16 1.84 → 1.14, 4 → 16 3×3 on 32×32
 * 4.96 → 3.77; but 3 → 32 3×3 on 32×32 5.61 → 7.33.
 */
const fastConv2D = (
  k: WasmCalls,
  { x, filter }: Record<string, Info>,
  attrs: Attrs,
  epilogue: Epilogue = PLAIN,
) => {
  const a = attrs as unknown as tf.Conv2DAttrs;
  const dilated = [a.dilations ?? 1].flat().some((d) => d !== 1);
  if (a.dataFormat === 'NCHW' || dilated) return undefined;
  const [n, h, w, ci] = x.shape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  if (isWholeWindow(info)) return wholeWindowConv2D(k, x, filter, info, epilogue);
  const simd = simdKernels(k.backend);
  if (simd === undefined) return undefined;
  if (ci === 1) return singleChannelConv2D(k, simd, x, filter, info, epilogue);
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: fh, filterWidth: fw } = info;
  const [stride, pad]: [number, number][] = [
    [info.strideHeight, info.strideWidth],
    [info.padInfo.top, info.padInfo.left],
  ];
  if (co === 1 && ci % 4 === 0) {
    return oneOutputConv2D(k, simd, x, filter, [oh, ow], stride, pad, epilogue);
  }
  // Narrow inputs: XNNPACK's one thread against our kernel on several.
  const narrow = ci < MIN_SIMD_CHANNELS && (simd.threads === 1 || ci < 4);
  if (narrow || co < MIN_SIMD_CHANNELS) return undefined;
  if (winogradFits([fh, fw], stride, [ci, co], n * oh * ow)) {
    return winogradConv(k, simd, x, winogradFilter(k, filter, false), [oh, ow, co], pad, epilogue);
  }
  const y = k.output([n, oh, ow, co]);
  const shape = [h, w, ci, oh, ow, co, fh, fw, ...stride, ...pad];
  const panels: Panels = [k.address(filterPanels(k, filter)), 8];
  runConvForward(k, simd, n, [k.address(x), panels, k.address(y)], shape, epilogue);
  return y;
};

/** Tiles per block in wasm/winograd.ts (its BLOCK): each chunk's scratch holds one block. */
const WINOGRAD_BLOCK = 32;

/**
 * Output pixels (dy's, for a filter gradient) below which the Winograd transforms cost more than
 * the multiplies they save: the filter gradient transforms dy as well and adds its threads' sums.
 */
const MIN_WINOGRAD_PIXELS = { forward: 1024, filterGrad: 16384 };

/**
 * Whether a convolution's pass goes to Winograd's F(2×2, 3×3) (wasm/winograd.ts; F(3×3, 2×2)
 * for the filter gradient): 3×3 at stride 1, input channels in whole vectors, and enough
 * channels and pixels that the transforms cost less than the multiplies they save. Two
 * threads, one call, direct → Winograd: DAFL's 128 → 64 on 128×32×32 forward 199 → 133 ms,
 * filter gradient 217 → 133; 128 → 128 on 16×16 102 → 76 and 108 → 65; input gradients as the
 * forward pass. BN-VGG's 16 → 16 on 64×28×28 3.8 → 3.0–3.2 and 3.5 → 2.9; its 32 → 32 on
 * 14×14 filter gradient 2.65 → 2.71, 32 → 64 on 7×7 1.88 → 1.84 forward but 2.09 → 2.35 filter
 * gradient; 3×7×9 pixels, 16 → 16, 0.05 → 0.11.
 */
function winogradFits(
  [fh, fw]: number[],
  stride: number[],
  [ci, co]: [number, number],
  pixels: number,
  pass: keyof typeof MIN_WINOGRAD_PIXELS = 'forward',
): boolean {
  const unit = stride.every((s) => s === 1);
  const wide = ci % 4 === 0 && ci >= MIN_SIMD_CHANNELS && co >= MIN_SIMD_CHANNELS;
  return fh === 3 && fw === 3 && unit && wide && pixels >= MIN_WINOGRAD_PIXELS[pass];
}

/**
 * G g Gᵀ for each (input, output) channel pair of a 3×3 filter, as convWinograd reads it:
 * [16][Ci][Co8], Co8 the output channels rounded up to a panel of eight, zero past them.
 * `turned`: of the filter turned by 180° with its channel axes swapped (dx = dy ⋆ that).
 */
function winogradFilter(k: WasmCalls, filter: Info, turned: boolean): Info {
  const [, , fci, fco] = filter.shape;
  const [ci, co] = turned ? [fco, fci] : [fci, fco];
  const co8 = Math.ceil(co / 8) * 8;
  const out = k.zeros([16, ci, co8]);
  const u = k.backend.typedArrayFromHeap(out) as Float32Array;
  const w = k.backend.typedArrayFromHeap(filter) as Float32Array;
  const g = new Float64Array(9);
  const gg = new Float64Array(12);
  for (let c = 0; c < ci; c++) {
    for (let o = 0; o < co; o++) {
      for (let tap = 0; tap < 9; tap++) {
        g[tap] = turned ? w[(8 - tap) * fci * fco + o * fco + c] : w[tap * fci * fco + c * fco + o];
      }
      // G g: rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2; then the same on each row's columns.
      for (let j = 0; j < 3; j++) {
        gg[j] = g[j];
        gg[3 + j] = (g[j] + g[3 + j] + g[6 + j]) / 2;
        gg[6 + j] = (g[j] - g[3 + j] + g[6 + j]) / 2;
        gg[9 + j] = g[6 + j];
      }
      for (let r = 0; r < 4; r++) {
        const at = (4 * r * ci + c) * co8 + o;
        const a = gg[3 * r];
        const b = gg[3 * r + 1];
        const d = gg[3 * r + 2];
        u[at] = a;
        u[at + ci * co8] = (a + b + d) / 2;
        u[at + 2 * ci * co8] = (a - b + d) / 2;
        u[at + 3 * ci * co8] = d;
      }
    }
  }
  return out;
}

/**
 * A 3×3 stride-1 convolution of x by the transformed filter `u` (winogradFilter) into [n, oh,
 * ow, co], with `top` rows and `left` columns of zeros before x: tiles of 2×2 output pixels
 * split between threads, each chunk with scratch of its own.
 */
function winogradConv(
  k: WasmCalls,
  simd: SimdKernels,
  x: Info,
  u: Info,
  [oh, ow, co]: [number, number, number],
  [top, left]: [number, number],
  epilogue: Epilogue,
): Info {
  const [n, h, w, ci] = x.shape;
  const y = k.output([n, oh, ow, co]);
  const tiles = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  const scratchFloats = 16 * WINOGRAD_BLOCK * (ci + u.shape[2]);
  const geometry = [h, w, ci, oh, ow, co, top, left, ...epilogueArgs(k, epilogue, co)];
  const flops = 2 * n * oh * ow * 9 * ci * co;
  simd.runSplit('convWinograd', [n, ...geometry], flops, (count) => {
    const ranges = splitRange([], tiles, count);
    const scratch = k.address(k.output([ranges.length, scratchFloats]));
    return ranges.map(([t0, t1], i) => [
      k.address(x),
      k.address(u),
      k.address(y),
      scratch + 4 * scratchFloats * i,
      ...geometry,
      t0,
      t1,
    ]);
  });
  return y;
}

/**
 * dW of a 3×3 stride-1 convolution by Winograd's F(3×3, 2×2) (wasm/winograd.ts): the tiles of
 * 2×2 dy pixels cut into BATCH_GROUPS fixed groups (so the bits do not depend on the threads),
 * each group's 16 sums [Ci × Co] computed on its own, then added in group order and turned into
 * the 3×3 taps here: dW[i][j] = (A′ᵀ M A′)[i][j].
 */
function winogradFilterGrad(
  k: WasmCalls,
  simd: SimdKernels,
  x: Info,
  dy: Info,
  [top, left]: [number, number],
  flops: number,
): Info {
  const [n, h, w, ci] = x.shape;
  const [, oh, ow, co] = dy.shape;
  const co8 = Math.ceil(co / 8) * 8;
  const groups = splitRange([], n * Math.ceil(oh / 2) * Math.ceil(ow / 2), BATCH_GROUPS);
  const sums = 16 * ci * co8;
  const scratchFloats = 16 * WINOGRAD_BLOCK * (ci + co8);
  const partials = k.output([groups.length, sums]);
  const scratch = k.address(k.output([groups.length, scratchFloats]));
  const geometry = [h, w, ci, oh, ow, co, top, left];
  const lists = groups.map(([t0, t1], g) => [
    k.address(x),
    k.address(dy),
    k.address(partials) + 4 * sums * g,
    scratch + 4 * scratchFloats * g,
    ...geometry,
    t0,
    t1,
  ]);
  simd.runSplit('convFilterGradWinograd', [n, ...geometry], flops, () => lists);
  const dw = k.output([3, 3, ci, co]);
  // Views only after the last allocation, which may grow (and detach) the heap.
  const m = k.backend.typedArrayFromHeap(partials) as Float32Array;
  const out = k.backend.typedArrayFromHeap(dw) as Float32Array;
  const s = new Float64Array(16);
  const t = new Float64Array(12);
  for (let c = 0; c < ci; c++) {
    for (let o = 0; o < co; o++) {
      s.fill(0);
      // Group g's sum for position p at g·sums + (p·Ci + c)·Co8 + o: the groups added in order.
      for (let g = 0, at = c * co8 + o; g < groups.length; g++) {
        for (let p = 0; p < 16; p++, at += ci * co8) s[p] += m[at];
      }
      // A′ᵀ M: rows m0 + m1 + m2, m1 − m2, m1 + m2 + m3; then the same on each row's columns.
      for (let j = 0; j < 4; j++) {
        t[j] = s[j] + s[4 + j] + s[8 + j];
        t[4 + j] = s[4 + j] - s[8 + j];
        t[8 + j] = s[4 + j] + s[8 + j] + s[12 + j];
      }
      for (let i = 0; i < 3; i++) {
        const at = (i * 3 * ci + c) * co + o;
        out[at] = t[4 * i] + t[4 * i + 1] + t[4 * i + 2];
        out[at + ci * co] = t[4 * i + 1] - t[4 * i + 2];
        out[at + 2 * ci * co] = t[4 * i + 1] + t[4 * i + 2] + t[4 * i + 3];
      }
    }
  }
  return dw;
}

/** A filter as convForward reads it: the address of its panels and the floats between their rows. */
type Panels = [address: number, rowFloats: number];

/**
 * convForward from x into y (addresses) by `panels`, for n images of `geometry` (h, w, Ci, oh,
 * ow, Co, fh, fw, sh, sw, top, left), its tile rows split between threads. Tiles are two rows
 * of two pixels where they leave fewer spare pixels than rows of four.
 */
function runConvForward(
  k: WasmCalls,
  simd: SimdKernels,
  n: number,
  [x, panels, y]: [number, Panels, number],
  geometry: number[],
  epilogue: Epilogue,
): void {
  const [, , ci, oh, ow, co, fh, fw] = geometry;
  const wide = oh * Math.ceil(ow / 4) * 4;
  const tall = Math.ceil(oh / 2) * Math.ceil(ow / 2) * 4 < wide ? 1 : 0;
  const tileRows = n * Math.ceil(oh / (tall + 1));
  const zeros = k.address(k.zeros([fw * ci]));
  const args = [x, ...panels, y, zeros, ...geometry, ...epilogueArgs(k, epilogue, co), tall];
  const flops = 2 * n * oh * ow * fh * fw * ci * co;
  simd.runSplit('convForward', [n, ...geometry], flops, (count) =>
    splitRange(args, tileRows, count),
  );
}

/** What a fused layer adds after its convolution or matmul: a bias per output channel, ReLU. */
interface Epilogue {
  bias?: Info;
  relu: boolean;
}

const PLAIN: Epilogue = { relu: false };

/**
 * The forward kernels' last arguments for `epilogue`: the bias's address, copied padded to
 * whole panels of eight (the kernels load eight channels at a time), or 0; ReLU or not.
 */
function epilogueArgs(k: WasmCalls, { bias, relu }: Epilogue, co: number): [number, number] {
  if (bias === undefined) return [0, relu ? 1 : 0];
  const padded = k.zeros([Math.ceil(co / 8) * 8]);
  k.backend.typedArrayFromHeap(padded).set(k.backend.typedArrayFromHeap(bias));
  return [k.address(padded), relu ? 1 : 0];
}

/**
 * FusedConv2D (tf.fused.conv2d; the graph's conv → ReLU pairs, graph/ops.ts) by fastConv2D with
 * the bias add and ReLU in the kernel's epilogue, where its bias is one per output channel and
 * its activation linear or ReLU; else the stock kernel (XNNPACK's fused convolution).
 */
const fusedConv2D = (k: WasmCalls, inputs: Record<string, Info>, attrs: Attrs) => {
  const { activation } = attrs as unknown as tf.FusedConv2DAttrs;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const co = filter.shape[3];
  const perChannel = bias === undefined || (bias.dtype === 'float32' && size(bias) === co);
  if ((activation !== 'linear' && activation !== 'relu') || preluActivationWeights || !perChannel) {
    return undefined;
  }
  const ours = fastConv2D(k, { x, filter }, attrs, { bias, relu: activation === 'relu' });
  return ours ?? stockWithRank1Bias(k, 'FusedConv2D', inputs, attrs, co);
};

/**
 * The stock fused kernels check the shape a bias buffer was made with, not the view they get
 * (a reshaped [1, 1, 1, C] bias fails): they run again on a rank-1 copy; undefined (the stock
 * kernel runs as called) where the buffer is rank-1 already.
 */
function stockWithRank1Bias(
  k: WasmCalls,
  name: string,
  inputs: Record<string, Info>,
  attrs: Attrs,
  channels: number,
): Info | undefined {
  const { bias } = inputs;
  if (bias === undefined || k.backend.dataIdMap.get(bias.dataId).shape.length === 1) {
    return undefined;
  }
  return k.one(name, { ...inputs, bias: rank1(k, bias, channels) }, attrs);
}

/**
 * A convolution of one input channel by our SIMD kernel, on x padded so that every tap of
 * every four-pixel tile lies inside it; output rows split between threads.
 */
function singleChannelConv2D(
  k: WasmCalls,
  simd: SimdKernels,
  x: Info,
  filter: Info,
  info: tf.backend_util.Conv2DInfo,
  epilogue: Epilogue,
): Info {
  const n = x.shape[0];
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: fh, filterWidth: fw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const rows = (oh - 1) * sh + fh;
  const cols = (Math.ceil(ow / 4) * 4 - 1) * sw + fw;
  const padded = padToGrid(k, x, rows, cols, padInfo);
  const y = k.output([n, oh, ow, co]);
  const operands = [k.address(padded), k.address(filterPanels(k, filter)), k.address(y)];
  const geometry = [rows, cols, oh, ow, co, fh, fw, sh, sw];
  const flops = 2 * n * oh * ow * fh * fw * co;
  const tail = epilogueArgs(k, epilogue, co);
  simd.runSplit('convForwardSingleChannel', [n, ...geometry], flops, (count) =>
    splitRange([...operands, ...geometry, ...tail], n * oh, count),
  );
  return y;
}

/**
 * A convolution with one output channel by our kernel whose vectors run over the input channels
 * (wasm/conv-one-output.ts; Ci a multiple of 4), output rows split between threads: a
 * generator's image layer, 64 → 1 3×3 on 128×32×32, two threads, XNNPACK's 39–42 ms → 5.1–6.3
 * (one thread 42 → 9.8). `filter` is [fh, fw, Ci, 1], `out` the output's height and width,
 * `pad` the rows above and columns left of the input.
 */
function oneOutputConv2D(
  k: WasmCalls,
  simd: SimdKernels,
  x: Info,
  filter: Info,
  [oh, ow]: [number, number],
  [sh, sw]: [number, number],
  [top, left]: [number, number],
  epilogue: Epilogue = PLAIN,
): Info {
  const [n, h, w, ci] = x.shape;
  const [fh, fw] = filter.shape;
  const y = k.output([n, oh, ow, 1]);
  const zeros = k.address(k.zeros([ci]));
  const operands = [k.address(x), k.address(filter), k.address(y), zeros];
  const shape = [h, w, ci, oh, ow, fh, fw, sh, sw, top, left];
  const tail = epilogueArgs(k, epilogue, 1);
  simd.runSplit('convForwardOneOutput', [n, ...shape], 2 * n * oh * ow * fh * fw * ci, (count) =>
    splitRange([...operands, ...shape, ...tail], n * oh, count),
  );
  return y;
}

/**
 * W [fh, fw, 1, Co] turned by 180° with its channel axes swapped, [fh, fw, channels, 1], zero
 * past Co: the filter of dx = dy ⋆ W as one-output convolution.
 */
function turnedOneOutputFilter(k: WasmCalls, filter: Info, channels: number): Info {
  const [fh, fw, , co] = filter.shape;
  const out = k.zeros([fh, fw, channels, 1]);
  const turned = k.backend.typedArrayFromHeap(out) as Float32Array;
  const w = k.backend.typedArrayFromHeap(filter) as Float32Array;
  for (let tap = 0; tap < fh * fw; tap++) {
    turned.set(w.subarray((fh * fw - 1 - tap) * co, (fh * fw - tap) * co), tap * channels);
  }
  return out;
}

/** x [n, h, w, c] on a `rows` × `cols` grid with `top` rows and `left` columns before it. */
function padToGrid(
  k: WasmCalls,
  x: Info,
  rows: number,
  cols: number,
  { top, left }: { top: number; left: number },
): Info {
  const [, h, w] = x.shape;
  return k.fitSpatial(x, [
    [top, rows - h - top],
    [left, cols - w - left],
  ]);
}

/**
 * Below this many channels XNNPACK's forward convolution on one thread beats our general
 * kernel on one (0.98 against 1.2 ms on LeNet-5's 6 → 16 layer); from this many input channels
 * on its transposed convolution beats our scattering input gradient (simdInputGrad).
 */
const MIN_SIMD_CHANNELS = 16;

/**
 * A matmul of one batch (every dense layer's forward pass and gradients, and LeNet's C5 as
 * isWholeWindow makes it) by our convolution kernels' 1×1 case, its rows or its (M, N) plane
 * split between threads where XNNPACK's runs on one: for 64 rows, 5·5·16 → 120, forward
 * 0.45 → 0.12 ms on one thread. Aᵀ·B is a filter gradient: the shared axis is the pixels.
 * Undefined (the stock kernel runs) for batches, both operands transposed (or Aᵀ with an
 * epilogue), below MIN_SIMD_MATMUL_FLOPS, or without SIMD kernels.
 */
function simdMatMul(
  k: WasmCalls,
  a: Info,
  b: Info,
  transposeA: boolean,
  transposeB: boolean,
  epilogue: Epilogue = PLAIN,
): Info | undefined {
  const simd = simdKernels(k.backend);
  const single = (t: Info) => t.dtype === 'float32' && t.shape.slice(0, -2).every((d) => d === 1);
  const [rowsA, colsA] = a.shape.slice(-2);
  const [rowsB, colsB] = b.shape.slice(-2);
  const small = 2 * rowsA * colsA * (transposeB ? rowsB : colsB) < MIN_SIMD_MATMUL_FLOPS;
  const fused = epilogue.bias !== undefined || epilogue.relu;
  // Aᵀ·B has no epilogue (it runs as a filter gradient); Aᵀ·Bᵀ none of ours.
  const supported = !transposeA || (!transposeB && !fused);
  if (simd === undefined || !supported || !single(a) || !single(b) || small) return undefined;
  // All-ones batch axes, as many as the longer operand has (as broadcasting gives).
  const batch = (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2);
  const outShape = [...batch, transposeA ? colsA : rowsA, transposeB ? rowsB : colsB];
  if (transposeA) {
    // out [M, N] = Σ_p A[p, m] · B[p, n]: dW of a 1×1 convolution over the P pixels.
    const { rows, cols } = pixelGrid(rowsA);
    const out = k.output(outShape);
    const geometry = [1, rows, cols, colsA, rows, cols, colsB, 1, 1, 1, 1, 0, 0];
    const operands = [k.address(a), k.address(b), k.address(out), ...geometry];
    simd.runSplit('convFilterGrad', geometry, 2 * rowsA * colsA * colsB, (count) =>
      splitPlane(colsA, colsB, count).map((part) => [...operands, ...part]),
    );
    return out;
  }
  const [depth, n] = transposeB ? [colsB, rowsB] : [rowsB, colsB];
  const panels: Panels = transposeB
    ? [k.address(transposedPanels(k, k.reshape(b, [n, depth]))), 8]
    : matmulPanels(k, b);
  const { rows, cols } = pixelGrid(rowsA);
  const out = k.output(outShape);
  const geometry = [rows, cols, depth, rows, cols, n, 1, 1, 1, 1, 0, 0];
  runConvForward(k, simd, 1, [k.address(a), panels, k.address(out)], geometry, epilogue);
  return out;
}

/**
 * Below this many flops XNNPACK's matmul is as fast (LeNet-5's last layer, 84 → 10 on 64 rows:
 * 0.025 against 0.033 ms).
 */
const MIN_SIMD_MATMUL_FLOPS = 5e5;

/** P pixels as the image our kernels take: rows of four where P allows, so rows can split. */
function pixelGrid(pixels: number): { rows: number; cols: number } {
  return pixels % 4 === 0 ? { rows: pixels / 4, cols: 4 } : { rows: 1, cols: pixels };
}

/** The panels of Wᵀ (see filterPanels) for W [N, K]: [⌈N/8⌉, K, 8], zero-padded. */
function transposedPanels(k: WasmCalls, w: Info): Info {
  const padded = padToEight(k, w, 0);
  const depth = w.shape[1];
  return k.transpose(k.reshape(padded, [padded.shape[0] / 8, 8, depth]), [0, 2, 1]);
}

/**
 * B [K, N] of a matmul as `convForward` reads it: the address of its panels of eight columns and
 * the floats between a panel's rows. B itself where N is a multiple of eight, else a packed copy
 * (filterPanels). With a batch of rows to multiply, packing took as long as a third of the
 * multiply (LeNet-5's C5 as a matmul, 400 × 120: 0.1 ms a step); convolutions, with many more
 * output pixels to the filter's floats, keep the packed copy, which streams in order.
 */
function matmulPanels(k: WasmCalls, b: Info): Panels {
  const [depth, n] = b.shape.slice(-2);
  if (n % 8 === 0) return [k.address(b), n];
  return [k.address(filterPanels(k, k.reshape(b, [1, 1, depth, n]))), 8];
}

/** W [fh, fw, Ci, Co] as panels of eight output channels, [⌈Co/8⌉, fh·fw·Ci, 8], zero-padded. */
function filterPanels(k: WasmCalls, filter: Info): Info {
  const [fh, fw, ci, co] = filter.shape;
  const padded = padToEight(k, k.reshape(filter, [fh * fw * ci, co]), 1);
  return k.transpose(k.reshape(padded, [fh * fw * ci, padded.shape[1] / 8, 8]), [1, 0, 2]);
}

/**
 * W [fh, fw, Ci, Co] turned by 180° with its channel axes swapped, [fh, fw, Co, Ci], as panels
 * of eight of its Ci (see filterPanels): [⌈Ci/8⌉, fh·fw·Co, 8], zero-padded. Written here in one
 * pass: TF.js's Reverse took 87 µs on LeNet-5's 5×5×6×16 filter, the whole packing 112.
 */
function turnedFilterPanels(k: WasmCalls, filter: Info): Info {
  const [fh, fw, ci, co] = filter.shape;
  const taps = fh * fw * co;
  const out = k.zeros([Math.ceil(ci / 8), taps, 8]);
  const panels = k.backend.typedArrayFromHeap(out) as Float32Array;
  const w = k.backend.typedArrayFromHeap(filter) as Float32Array;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const from = ((fh - 1 - i) * fw + (fw - 1 - j)) * ci * co;
      for (let o = 0; o < co; o++) {
        const row = (i * fw + j) * co + o;
        for (let c = 0; c < ci; c++)
          panels[((c >> 3) * taps + row) * 8 + (c & 7)] = w[from + c * co + o];
      }
    }
  }
  return out;
}

/** A matrix with `axis` zero-padded to a multiple of eight (whole panels). */
function padToEight(k: WasmCalls, m: Info, axis: 0 | 1): Info {
  const missing = (8 - (m.shape[axis] % 8)) % 8;
  if (missing === 0) return m;
  const paddings = [
    [0, 0],
    [0, 0],
  ];
  paddings[axis][1] = missing;
  return k.one('PadV2', { x: m }, { paddings, constantValue: 0 });
}

/**
 * Groups of images a filter gradient is cut into where its (Ci, Co) plane has fewer blocks than
 * this: each group's partial dW is computed on its own (the threads take groups as chunks),
 * then the partials are added in group order. The groups depend on the batch only — not on the
 * thread count, nor on whether a call splits — so neither do the bits.
 */
const BATCH_GROUPS = 8;

/**
 * dW = Σ over groups of images of the kernel's dW on that group (BATCH_GROUPS): `geometry(m)` is
 * the kernel's arguments after (x, dy, dW) for m images; x and dy advance by whole images.
 */
function batchGroupFilterGrad(
  k: WasmCalls,
  simd: SimdKernels,
  name: 'convFilterGrad' | 'convFilterGradSingleChannel' | 'convFilterGradOneOutput',
  dwShape: number[],
  flops: number,
  operands: { x: Info; dy: Info; xImage: number; geometry: (images: number) => number[] },
): Info {
  const { x, dy, xImage, geometry } = operands;
  const [n, oh, ow, co] = dy.shape;
  const groups = splitRange([], n, BATCH_GROUPS);
  const partials = groups.map(() => k.output(dwShape));
  const lists = groups.map(([n0, n1], g) => [
    k.address(x) + 4 * n0 * xImage,
    k.address(dy) + 4 * n0 * oh * ow * co,
    k.address(partials[g]),
    ...geometry(n1 - n0),
  ]);
  simd.runSplit(name, [n, ...geometry(n)], flops, () => lists);
  return partials.length === 1
    ? partials[0]
    : k.one('AddN', partials as unknown as tf.NamedTensorInfoMap);
}

/**
 * Up to `count` blocks [c0, c1, o0, o1) of a (Ci, Co) plane: Ci cut at multiples of 4 (the
 * kernel's vector of input channels) into as many parts as it has, up to `count`, then Co at
 * multiples of 8 (its panel of outputs) into as many as the rest allows.
 */
function splitPlane(ci: number, co: number, count: number): number[][] {
  const ciParts = Math.min(count, Math.ceil(ci / 4));
  const coParts = Math.min(Math.floor(count / ciParts), Math.ceil(co / 8));
  const cut = (size: number, unit: number, parts: number) =>
    Array.from({ length: parts + 1 }, (_, t) =>
      Math.min(size, unit * Math.round((Math.ceil(size / unit) * t) / parts)),
    );
  const [c, o] = [cut(ci, 4, ciParts), cut(co, 8, coParts)];
  return c.slice(1).flatMap((cEnd, i) => o.slice(1).map((oEnd, j) => [c[i], cEnd, o[j], oEnd]));
}

/**
 * Depthwise dW[i,j,c,m] = Σ_{n,y,x} xpad[n, y·s + i·d, x·s + j·d, c] · dy[n,y,x,c·M+m]. Stacking
 * the batch vertically (a free reshape) turns the sum over n into part of one depthwise
 * convolution: the padded images, one above the other, convolved with the zero-inserted dy
 * images stacked the same way, at stride d; the channel multiplier layout already matches.
 */
const depthwiseBackpropFilter = (
  k: WasmCalls,
  { x, dy }: Record<string, Info>,
  attrs: Attrs,
): Info => {
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = forwardConvInfo(x.shape, a.filterShape, a, true);
  const {
    filterHeight: fh,
    filterWidth: fw,
    dilationHeight: dh,
    dilationWidth: dw,
    padInfo,
  } = info;
  const [n, h, w, c] = x.shape;
  const m = a.filterShape[3];
  const taps = k.zeroInsert(dy, info.strideHeight, info.strideWidth);
  const [, tapRows, tapCols] = taps.shape;
  // Each image padded (or cropped) to exactly the pixels the forward pass read.
  const rows = tapRows + (fh - 1) * dh;
  const cols = tapCols + (fw - 1) * dw;
  const images = k.fitSpatial(x, [
    [padInfo.top, rows - h - padInfo.top],
    [padInfo.left, cols - w - padInfo.left],
  ]);
  // The last image's filter taps reach (fh - 1)·d rows below the stack.
  const stacked = k.fitSpatial(k.reshape(images, [1, n * rows, cols, c]), [
    [0, (fh - 1) * dh],
    [0, 0],
  ]);
  const filter = k.reshape(
    k.fitSpatial(taps, [
      [0, rows - tapRows],
      [0, 0],
    ]),
    [n * rows, tapCols, c, m],
  );
  const grad = k.one(
    'DepthwiseConv2dNative',
    { x: stacked, filter },
    { strides: [dh, dw], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC' },
  );
  return k.reshape(grad, [fh, fw, c, m]);
};

function poolInfo(
  inputShape: number[],
  attrs: tf.MaxPoolGradAttrs | tf.AvgPoolGradAttrs,
): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad } = attrs;
  const rounding = 'dimRoundingMode' in attrs ? attrs.dimRoundingMode : undefined;
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    rounding,
  );
}

/**
 * Pooling windows as taps. Tap (i, j) of window (y, x) is pixel (y·sh + i, x·sw + j) of the
 * input padded to `rows` × `cols`; a pooling gradient is one value per (tap, window), laid out
 * tap-major as [taps, windows] with windows in dy's order, so per-window values broadcast along
 * the cheap leading axis.
 */
class PoolTaps {
  readonly info: tf.backend_util.Conv2DInfo;
  readonly taps: number;
  readonly windows: number;
  readonly rows: number;
  readonly cols: number;
  /** Windows tile the input (the usual 2x2, stride 2): regrouping is two rank-3 transposes. */
  readonly tiled: boolean;

  constructor(
    private readonly k: WasmCalls,
    private readonly inputShape: number[],
    attrs: tf.MaxPoolGradAttrs | tf.AvgPoolGradAttrs,
  ) {
    this.info = poolInfo(inputShape, attrs);
    const {
      filterHeight: fh,
      filterWidth: fw,
      strideHeight: sh,
      strideWidth: sw,
      outHeight: oh,
      outWidth: ow,
    } = this.info;
    this.taps = fh * fw;
    this.windows = tf.util.sizeFromShape(this.info.outShape);
    this.rows = (oh - 1) * sh + fh;
    this.cols = (ow - 1) * sw + fw;
    this.tiled = fh === sh && fw === sw;
  }

  /** The padding (negative: cropping) from the input to the `rows` × `cols` grid. */
  private grid(): SpatialPad {
    const [, h, w] = this.inputShape;
    const { top, left } = this.info.padInfo;
    return [
      [top, this.rows - h - top],
      [left, this.cols - w - left],
    ];
  }

  /** dx: each tap's gradient [taps, windows] added onto the input pixel it read. */
  scatter(grads: Info): Info {
    const { k, info } = this;
    const [n, , , c] = this.inputShape;
    const {
      filterHeight: fh,
      filterWidth: fw,
      strideHeight: sh,
      strideWidth: sw,
      outHeight: oh,
      outWidth: ow,
    } = info;
    const [[top, bottom], [left, right]] = this.grid();
    const crop: SpatialPad = [
      [-top, -bottom],
      [-left, -right],
    ];
    if (this.tiled) {
      const byColumnTap = k.transpose(k.reshape(grads, [fh, fw * n * oh, ow * c]), [1, 0, 2]);
      const pixels = k.transpose(k.reshape(byColumnTap, [fw, n * oh * fh * ow, c]), [1, 0, 2]);
      return k.fitSpatial(k.reshape(pixels, [n, this.rows, this.cols, c]), crop);
    }
    // Overlapping (or gapped) windows: spread each tap onto the grid and add them up.
    const perTap = k.call(
      'Unpack',
      { value: k.reshape(grads, [this.taps, n, oh, ow, c]) },
      { axis: 0 },
    );
    const spread = perTap.map((g, t) => {
      const [i, j] = [Math.floor(t / fw), t % fw];
      return k.fitSpatial(k.zeroInsert(g, sh, sw), [
        [i, fh - 1 - i],
        [j, fw - 1 - j],
      ]);
    });
    return k.fitSpatial(k.one('AddN', spread as unknown as tf.NamedTensorInfoMap), crop);
  }
}

/**
 * dx of max pooling in one pass over the windows (wasm/pool.ts). Like the CPU backend, each
 * window's gradient goes to its first maximum in row-major tap order, which matters for ties
 * (all-zero windows after a ReLU). Without SIMD the stock kernel runs (a scalar C++ loop, 2-3×
 * slower); the stock MaxPoolWithArgmax is wrong for windows whose maximum is ≤ 0 (it starts
 * from 0), so it is not used.
 */
const simdMaxPoolGrad = (k: WasmCalls, { dy, input }: Record<string, Info>, attrs: Attrs) => {
  const simd = simdKernels(k.backend);
  if (simd === undefined) return undefined;
  const info = poolInfo(input.shape, attrs as unknown as tf.MaxPoolGradAttrs);
  const [n, h, w, c] = input.shape;
  const { outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } =
    info;
  const tiled =
    filterHeight === strideHeight &&
    filterWidth === strideWidth &&
    outHeight * filterHeight === h &&
    outWidth * filterWidth === w &&
    c >= 4;
  if (tiled) {
    // Every pixel is written once (LeNet's 2x2 pools: 0.7 against 0.2 ms, batch 64, 28x28x6).
    const dx = k.output(input.shape);
    const operands = [k.address(input), k.address(dy), k.address(dx)];
    const geometry = [h, w, c, filterHeight, filterWidth];
    const moved = 2 * size(input) + size(dy);
    simd.runSplit('maxPoolGradTiled', [n, ...geometry], FLOPS_PER_FLOAT_MOVED * moved, (count) =>
      splitRange([...operands, ...geometry], n * outHeight, count),
    );
    return dx;
  }
  const dx = k.zeros(input.shape);
  const operands = [k.address(input), k.address(dy), k.address(dx)];
  const window = [filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left];
  simd.run('maxPoolGrad', [[...operands, n, h, w, c, outHeight, outWidth, ...window]]);
  return dx;
};

/**
 * dx of average pooling: dy/(fh·fw) to every tap. Like the CPU backend, every window divides
 * by its full size, padding included.
 */
const avgPoolGrad = (k: WasmCalls, { dy, input }: Record<string, Info>, attrs: Attrs): Info => {
  const pool = new PoolTaps(k, input.shape, attrs as unknown as tf.AvgPoolGradAttrs);
  const share = k.one('Multiply', {
    a: k.reshape(dy, [1, pool.windows]),
    b: k.constant([], new Float32Array([1 / pool.taps])),
  });
  const shares = new Array<Info>(pool.taps).fill(share);
  return pool.scatter(k.one('Concat', shares as unknown as tf.NamedTensorInfoMap, { axis: 0 }));
};

/** The gradient of gather: rows of x added into their segments (ScatterNd sums duplicates). */
const unsortedSegmentSum = (
  k: WasmCalls,
  { x, segmentIds }: Record<string, Info>,
  attrs: Attrs,
): Info => {
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const ids = k.backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < ids.length; i++) {
    // TF drops out-of-range ids; the wasm scatter would write out of bounds instead.
    if (ids[i] < 0 || ids[i] >= numSegments) {
      throw new Error(`UnsortedSegmentSum: segment id ${ids[i]} is outside [0, ${numSegments})`);
    }
  }
  const rows = ids.length;
  const rowShape = x.shape.slice(segmentIds.shape.length);
  return k.one(
    'ScatterNd',
    { indices: k.reshape(segmentIds, [rows, 1]), updates: k.reshape(x, [rows, ...rowShape]) },
    { shape: [numSegments, ...rowShape] },
  );
};

/** A float as the integer with its f32 bits, for a kernel argument through the helper threads. */
function f32Bits(value: number): number {
  return new Int32Array(Float32Array.of(value).buffer)[0];
}

/**
 * LeakyReLU forward (no `dy`) or ReLU's / LeakyReLU's gradient dy · step(x, alpha), in one pass
 * (wasm/channels.ts); undefined without our SIMD kernels.
 */
function simdLeakyRelu(
  k: WasmCalls,
  x: Info,
  dy: Info | undefined,
  alpha: number,
): Info | undefined {
  const simd = simdKernels(k.backend);
  if (simd === undefined || x.dtype !== 'float32') return undefined;
  const out = k.output(x.shape);
  const total = size(x);
  const operands = [k.address(x), dy ? k.address(dy) : 0, k.address(out), f32Bits(alpha), total];
  const flops = (dy ? 3 : 2) * FLOPS_PER_FLOAT_MOVED * total;
  simd.runSplit('leakyRelu', [total, dy ? 1 : 0], flops, (count) =>
    splitRange(operands, Math.ceil(total / 4), count),
  );
  return out;
}

/** RELU_BACKPROP (gradients.ts): by our kernel, else Step then Multiply. */
const reluBackprop = (k: WasmCalls, { dy, x }: Record<string, Info>, attrs: Attrs): Info => {
  const alpha = (attrs.alpha as number | undefined) ?? 0;
  return (
    simdLeakyRelu(k, x, dy, alpha) ??
    k.one('Multiply', { a: dy, b: k.one('Step', { x }, { alpha }) })
  );
};

/** The fused loss of cross-entropy.ts by a loop over the heap (N·C is small: a batch's logits). */
const softmaxCrossEntropy = (k: WasmCalls, { labels, logits }: Record<string, Info>): Info => {
  const [n, c] = logits.shape;
  const loss = k.output([]);
  const heap = (t: Info) => k.backend.typedArrayFromHeap(t);
  heap(loss)[0] = crossEntropyValue(heap(logits), heap(labels), n, c);
  return loss;
};

const softmaxCrossEntropyGrad = (
  k: WasmCalls,
  { dy, labels, logits }: Record<string, Info>,
): Info => {
  const [n, c] = logits.shape;
  const dLogits = k.output([n, c]);
  const heap = (t: Info) => k.backend.typedArrayFromHeap(t);
  const out = heap(dLogits) as Float32Array;
  crossEntropyLogitsGradient(heap(logits), heap(labels), heap(dy)[0], n, c, out);
  return dLogits;
};

/** The kernels `registerWasmTrainingKernels` adds to, or replaces in, the wasm backend. */
export function wasmTrainingKernels(): TrainingKernelConfig[] {
  return [
    kernelConfig('Conv2DBackpropFilter', conv2DBackpropFilter),
    kernelConfig('Conv2DBackpropInput', conv2DBackpropInput),
    kernelConfig('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter),
    kernelConfig('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput),
    withFastPath('MaxPoolGrad', simdMaxPoolGrad),
    kernelConfig('AvgPoolGrad', avgPoolGrad),
    kernelConfig('UnsortedSegmentSum', unsortedSegmentSum),
    kernelConfig(RELU_BACKPROP, reluBackprop),
    // The stock LeakyRelu is a scalar loop: 43 ms for a DAFL generator's 128×32×32×64.
    withFastPath('LeakyRelu', (k, { x }, attrs) =>
      simdLeakyRelu(k, x, undefined, attrs.alpha as number),
    ),
    withFastPath('Conv2D', fastConv2D),
    withFastPath('BatchMatMul', (k, inputs, attrs) => {
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const simd = simdMatMul(k, inputs.a, inputs.b, transposeA, transposeB);
      return simd ?? transposingBatchMatMul(k, inputs, attrs);
    }),
    withFastPath('FusedConv2D', fusedConv2D),
    kernelConfig(SOFTMAX_CROSS_ENTROPY, softmaxCrossEntropy),
    kernelConfig(SOFTMAX_CROSS_ENTROPY_GRAD, softmaxCrossEntropyGrad),
    kernelConfig(BATCH_NORM_TRAINING, batchNormTrainingKernel),
    kernelConfig(BATCH_NORM_TRAINING_GRAD, batchNormTrainingGradKernel),
    kernelConfig(CHANNEL_MOMENTS, channelMomentsKernel),
    ...fastPathKernels(),
  ];
}

let registered = false;

/**
 * Registers the training kernels for the 'wasm' backend, replacing the stock slow ones.
 * Idempotent; call before or after the backend initialises.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  wasmTrainingKernels().forEach(replaceKernel);
  registered = true;
}
