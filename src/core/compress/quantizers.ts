// Weight quantizers of the classic methods (METHODS.md §7.2, §7.3): k-bit affine (uniform
// asymmetric) quantization per tensor or per output channel, Gupta et al.'s fixed point with
// round-to-nearest or stochastic rounding, Courbariaux et al.'s BinaryConnect binarisation, the
// straight-through wrapper that trains through them, and the bit packing that measures what the
// quantized weights really take. Pure functions; the caller tidies.
import * as tf from '@tensorflow/tfjs';
import { isLayer, WEIGHT_NAMES, type Graph, type NodeId } from '../graph';

export type Granularity = 'per-tensor' | 'per-channel';

function checkBits(bits: number, max: number, what: string): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > max) {
    throw new RangeError(`${what}: bits must be an integer in [1, ${max}], got ${bits}`);
  }
}

/**
 * The forward value f(x) with the identity as gradient (straight-through estimator, Bengio et al.
 * 2013): the optimiser moves a full-precision weight while the loss sees its quantization.
 */
export function straightThrough<T extends tf.Tensor>(w: T, f: (x: tf.Tensor) => tf.Tensor): T {
  const ste = tf.customGrad((x) => ({
    value: f(x as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => dy,
  }));
  return ste(w) as T;
}

/**
 * Integer codes q ∈ [0, 2^k − 1] and the affine map w ≈ q·scale + min of k-bit asymmetric
 * quantization. The range [lo, hi] is the tensor's (per-tensor) or each output channel's — the
 * kernel's last axis — (per-channel) min and max, widened to contain 0; scale = (hi − lo)/(2^k − 1)
 * and the zero point z = round(−lo/scale) is an integer, so 0 is exactly representable (padding,
 * pruned weights) and min = −z·scale. `scale` and `min` have shape [1] or [channels].
 */
export function affineCodes(
  w: tf.Tensor,
  bits: number,
  granularity: Granularity,
): { codes: tf.Tensor; scale: tf.Tensor1D; min: tf.Tensor1D } {
  checkBits(bits, 16, 'affineCodes');
  return tf.tidy(() => {
    const channels = granularity === 'per-channel' ? w.shape[w.rank - 1]! : 1;
    const rows = tf.reshape(w, [-1, channels]);
    const lo = tf.minimum(tf.min(rows, 0), 0);
    const hi = tf.maximum(tf.max(rows, 0), 0);
    const levels = 2 ** bits - 1;
    const raw = tf.div(tf.sub(hi, lo), levels);
    // An all-zero channel has range 0: any positive scale codes it exactly (z = 0).
    const scale = tf.where(tf.greater(raw, 0), raw, tf.onesLike(raw)) as tf.Tensor1D;
    const zero = tf.round(tf.div(tf.neg(lo), scale));
    const q = tf.clipByValue(tf.add(tf.round(tf.div(rows, scale)), zero), 0, levels);
    return {
      codes: tf.reshape(q, w.shape),
      scale,
      min: tf.neg(tf.mul(zero, scale)) as tf.Tensor1D,
    };
  });
}

/** Affine k-bit quantization (codes·scale + min), the value a quantized tensor computes with. */
export function quantizeAffine<T extends tf.Tensor>(
  w: T,
  bits: number,
  granularity: Granularity,
): T {
  return tf.tidy(() => {
    const { codes, scale, min } = affineCodes(w, bits, granularity);
    const rows = tf.reshape(codes, [-1, scale.size]);
    return tf.reshape(tf.add(tf.mul(rows, scale), min), w.shape) as T;
  });
}

/** An affine-quantized tensor as stored: its codes, and per tensor or channel its scale and min. */
export interface AffineEncoding {
  bits: number;
  codes: Uint32Array;
  scale: Float32Array;
  min: Float32Array;
  /** The weights decoded as TF.js's io.decodeWeights does: float32(q·scale + min). */
  values: Float32Array;
}

/** Encodes a tensor (affineCodes read back) and decodes it exactly as a TF.js loader would. */
export async function encodeAffine(
  w: tf.Tensor,
  bits: number,
  granularity: Granularity,
): Promise<AffineEncoding> {
  const { codes, scale, min } = affineCodes(w, bits, granularity);
  try {
    const [q, s, m] = await Promise.all([codes.data(), scale.data(), min.data()]);
    const c = s.length;
    const values = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) values[i] = q[i] * s[i % c] + m[i % c];
    return {
      bits,
      codes: Uint32Array.from(q),
      scale: s as Float32Array,
      min: m as Float32Array,
      values,
    };
  } finally {
    tf.dispose([codes, scale, min]);
  }
}

/** Packs unsigned `bits`-bit codes into a little-endian bit stream: ⌈n·bits/8⌉ bytes. */
export function packBits(codes: ArrayLike<number>, bits: number): Uint8Array {
  checkBits(bits, 32, 'packBits');
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  let bit = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (!Number.isInteger(code) || code < 0 || code >= 2 ** bits) {
      throw new RangeError(`packBits: code ${code} at ${i} does not fit in ${bits} bits`);
    }
    for (let b = 0; b < bits; b++, bit++) {
      if (Math.floor(code / 2 ** b) % 2 === 1) out[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return out;
}

/** The codes packBits wrote (its inverse, for tests and readers of the stream). */
export function unpackBits(packed: Uint8Array, bits: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++) {
    let code = 0;
    for (let b = 0; b < bits; b++, bit++) {
      if ((packed[bit >> 3] >> (bit & 7)) & 1) code += 2 ** b;
    }
    out[i] = code;
  }
  return out;
}

/** Gupta et al.'s ⟨IL, FL⟩ fixed-point format: IL integer bits (sign included), FL fractional. */
export interface FixedPointFormat {
  integerBits: number;
  fractionalBits: number;
}

export type Rounding = 'nearest' | 'stochastic';

/** Resolution ε = 2^−FL and the saturation range [−2^(IL−1), 2^(IL−1) − ε]. */
export function fixedPointRange(f: FixedPointFormat): { eps: number; lo: number; hi: number } {
  const eps = 2 ** -f.fractionalBits;
  return { eps, lo: -(2 ** (f.integerBits - 1)), hi: 2 ** (f.integerBits - 1) - eps };
}

/**
 * Convert(x, ⟨IL, FL⟩) of Gupta et al. 2015 (§7.3): saturate to the range, otherwise R(x) from
 * ⌊x⌋ (the largest multiple of ε not above x). Round-to-nearest takes ⌊x⌋ + ε only above the
 * midpoint; stochastic rounding takes it with probability (x − ⌊x⌋)/ε, so E[R(x)] = x. `seed`
 * draws the uniform numbers (required for stochastic rounding: runs are reproducible).
 */
export function toFixedPoint<T extends tf.Tensor>(
  x: T,
  format: FixedPointFormat,
  rounding: Rounding,
  seed?: number,
): T {
  const { integerBits: il, fractionalBits: fl } = format;
  if (!Number.isInteger(il) || !Number.isInteger(fl) || il < 1 || fl < 0 || il + fl > 32) {
    throw new RangeError(
      `toFixedPoint: need integer IL ≥ 1, FL ≥ 0, IL + FL ≤ 32; got ⟨${il}, ${fl}⟩`,
    );
  }
  if (rounding === 'stochastic' && seed === undefined) {
    throw new RangeError('toFixedPoint: stochastic rounding needs a seed');
  }
  const { eps, lo, hi } = fixedPointRange(format);
  return tf.tidy(() => {
    const units = tf.div(x, eps);
    const floor = tf.floor(units);
    const frac = tf.sub(units, floor);
    const up =
      rounding === 'nearest'
        ? tf.greater(frac, 0.5)
        : tf.less(tf.randomUniform(x.shape, 0, 1, 'float32', seed), frac);
    const rounded = tf.mul(tf.add(floor, tf.cast(up, 'float32')), eps);
    return tf.clipByValue(rounded, lo, hi) as T;
  });
}

/**
 * BinaryConnect's binarisation (Courbariaux et al. 2015): deterministic w_b = +1 if w ≥ 0 else −1;
 * stochastic w_b = +1 with probability hσ(w) = clip((w + 1)/2, 0, 1), drawn with `seed`.
 */
export function binarize<T extends tf.Tensor>(w: T, stochastic: boolean, seed?: number): T {
  if (stochastic && seed === undefined) {
    throw new RangeError('binarize: stochastic binarisation needs a seed');
  }
  return tf.tidy(() => {
    const plus = stochastic
      ? tf.less(tf.randomUniform(w.shape, 0, 1, 'float32', seed), hardSigmoid(w))
      : tf.greaterEqual(w, 0);
    return tf.where(plus, tf.onesLike(w), tf.fill(w.shape, -1)) as T;
  });
}

/** hσ(x) = clip((x + 1)/2, 0, 1): P(w_b = +1) of stochastic BinaryConnect. */
export function hardSigmoid<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1) as T);
}

/** The kernel of every conv, depthwise and dense layer: the tensors the classic quantizers code. */
export function layerKernels(g: Graph): { id: NodeId; name: string; kernel: tf.Variable }[] {
  return g.nodes.filter(isLayer).map((n) => {
    const name = WEIGHT_NAMES[n.op][0];
    return { id: n.id, name, kernel: n.weights[name] };
  });
}

/**
 * Bytes of the whole network stored with the given tensors encoded (their real encoded byte
 * counts) and every other weight (biases, BatchNorm) as float32.
 */
export function storedBytes(g: Graph, encoded: ReadonlyMap<tf.Variable, number>): number {
  return g.nodes
    .flatMap((n) => Object.values(n.weights))
    .reduce((sum, v) => sum + (encoded.get(v) ?? v.size * 4), 0);
}
