/**
 * The wasm kernels of batch-norm.ts: training-mode batch norm forward in three passes over x
 * (Σx, Σ(x − μ)², then y = x·s + t), its gradient in two (Σdy and Σdy·(x − μ), then dx = x·a +
 * dy·b + c), each pass one SIMD kernel call (wasm/channels.ts) shared out between threads; the
 * per-channel sums are added up in double precision. Without our SIMD module, loops over the
 * heap do the same.
 */
import * as tf from '@tensorflow/tfjs';

import { batchNormGradientCoefficients } from './batch-norm';
import { size, splitRange, type Info, type WasmCalls } from './wasm-calls';
import { blockPeriod, channelPattern, simdChannelAffine } from './wasm-fast-paths';
import { FLOPS_PER_FLOAT_MOVED, simdKernels } from './wasm-simd';

const heap = (k: WasmCalls, t: Info) => k.backend.typedArrayFromHeap(t) as Float32Array;

/**
 * Per channel of x [..., C], with u = x − shift: Σu and Σu² where `dy` is absent, Σdy and Σdy·u
 * where given.
 */
function deviationSums(
  k: WasmCalls,
  x: Info,
  dy: Info | undefined,
  c: number,
  shift: Float32Array | number,
): [Float64Array, Float64Array] {
  const [first, second] = [new Float64Array(c), new Float64Array(c)];
  const total = size(x);
  const simd = simdKernels(k.backend);
  if (simd === undefined) {
    const [xs, dys] = [heap(k, x), dy && heap(k, dy)];
    const shifts = typeof shift === 'number' ? new Float32Array(c).fill(shift) : shift;
    for (let i = 0; i < total; i++) {
      const ch = i % c;
      const u = xs[i] - shifts[ch];
      const d = dys ? dys[i] : u;
      first[ch] += d;
      second[ch] += d * u;
    }
    return [first, second];
  }
  const period = blockPeriod(c);
  const blocks = Math.ceil(total / period);
  const operands = [k.address(x), dy ? k.address(dy) : 0];
  const shiftPattern = k.address(channelPattern(k, c, period, shift));
  let sums: Float32Array[] = [];
  simd.runSplit(
    'channelDeviationSums',
    [total, period, dy ? 1 : 0],
    2 * FLOPS_PER_FLOAT_MOVED * total,
    (count) => {
      const ranges = splitRange([], blocks, count);
      // Two sums of a period per chunk: each thread adds into its own.
      const acc = k.output([ranges.length, 2, period]);
      const at = k.address(acc);
      sums = ranges.map((_, i) => heap(k, acc).subarray(i * 2 * period, (i + 1) * 2 * period));
      return ranges.map(([b0, b1], i) => [
        ...operands,
        shiftPattern,
        total,
        period,
        at + 8 * period * i,
        b0,
        b1,
      ]);
    },
  );
  for (const chunk of sums) {
    for (let j = 0; j < period; j++) {
      first[j % c] += chunk[j];
      second[j % c] += chunk[period + j];
    }
  }
  return [first, second];
}

/** x·scale + bias (+ z·zScale where `z` is given) per channel of x [..., C]. */
function affine(
  k: WasmCalls,
  x: Info,
  c: number,
  scale: Float32Array,
  bias: Float32Array,
  z?: [Info, Float32Array],
): Info {
  const simd = simdKernels(k.backend);
  if (simd !== undefined) return simdChannelAffine(k, simd, x, c, scale, bias, z);
  const y = k.output(x.shape);
  const [xs, ys] = [heap(k, x), heap(k, y)];
  const [zs, zScale] = z ? [heap(k, z[0]), z[1]] : [undefined, scale];
  for (let i = 0; i < ys.length; i++) {
    const ch = i % c;
    ys[i] = xs[i] * scale[ch] + (zs ? zs[i] * zScale[ch] : 0) + bias[ch];
  }
  return y;
}

const channels = (x: Info) => x.shape[x.shape.length - 1];

/** μ and σ² (biased) per channel of x [..., C], in two passes: Σx, then Σ(x − μ)². */
function moments(k: WasmCalls, x: Info, c: number): [Float32Array, Float32Array] {
  const count = size(x) / c;
  const mean = Float32Array.from(deviationSums(k, x, undefined, c, 0)[0], (s) => s / count);
  const variance = Float32Array.from(deviationSums(k, x, undefined, c, mean)[1], (s) => s / count);
  return [mean, variance];
}

/** CHANNEL_MOMENTS: μ and σ² per channel. */
export function channelMomentsKernel(k: WasmCalls, { x }: Record<string, Info>): Info[] {
  const c = channels(x);
  return moments(k, x, c).map((m) => k.constant([c], m));
}

/** BATCH_NORM_TRAINING: y = x·s + (β − μ·s) with s = γ / √(σ² + ε); outputs y, μ, σ². */
export function batchNormTrainingKernel(
  k: WasmCalls,
  { x, scale, offset }: Record<string, Info>,
  attrs: tf.NamedAttrMap,
): Info[] {
  const epsilon = attrs.varianceEpsilon as number;
  const c = channels(x);
  const [mean, variance] = moments(k, x, c);
  const [gamma, beta] = [heap(k, scale), heap(k, offset)];
  const s = Float32Array.from(
    gamma.subarray(0, c),
    (g, ch) => g / Math.sqrt(variance[ch] + epsilon),
  );
  const t = Float32Array.from(beta.subarray(0, c), (b, ch) => b - mean[ch] * s[ch]);
  return [affine(k, x, c, s, t), k.constant([c], mean), k.constant([c], variance)];
}

/** BATCH_NORM_TRAINING_GRAD: dx, dScale, dOffset (batch-norm.ts has the formulas). */
export function batchNormTrainingGradKernel(
  k: WasmCalls,
  { dy, x, mean, variance, scale, dMean, dVariance }: Record<string, Info>,
  attrs: tf.NamedAttrMap,
): Info[] {
  const c = channels(x);
  const [sumDy, sumDyCentred] = deviationSums(k, x, dy, c, heap(k, mean).slice(0, c));
  const stats = { mean: heap(k, mean), variance: heap(k, variance), scale: heap(k, scale) };
  const {
    a,
    b,
    c: shift,
    dScale,
    dOffset,
  } = batchNormGradientCoefficients(
    { sumDy, sumDyCentred, count: size(x) / c },
    stats,
    heap(k, dMean),
    heap(k, dVariance),
    attrs.varianceEpsilon as number,
  );
  const dx = affine(k, x, c, a, shift, [dy, b]);
  return [dx, k.constant([c], dScale), k.constant([c], dOffset)];
}
