/**
 * The machinery under our wasm kernels: direct calls of the backend's registered kernels (no
 * tensors, no tape entries) with the intermediates disposed when the kernel returns, spatial
 * helpers shared by the convolution and pooling gradients, and wrapping of stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
// Importing the package registers the 'wasm' backend and its stock kernels.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { backendMemory, heapAddress, simdKernels } from './wasm-simd';

export type Info = tf.TensorInfo;
export type Attrs = tf.NamedAttrMap;
/** How many elements a tensor has. */
export const size = (t: { shape: number[] }) => tf.util.sizeFromShape(t.shape);

/**
 * `args` followed by [start, end) of each of up to `count` near-equal parts of [0, total): no
 * more parts than units, so no part is an empty range.
 */
export function splitRange(args: number[], total: number, count: number): number[][] {
  const parts = Math.max(1, Math.min(total, count));
  return Array.from({ length: parts }, (_, t) => [
    ...args,
    Math.round((total * t) / parts),
    Math.round((total * (t + 1)) / parts),
  ]);
}

export /** Spatial padding [[top, bottom], [left, right]]; negative entries crop. */
type SpatialPad = [[number, number], [number, number]];

/** Direct calls of registered wasm kernels that remember their outputs for disposal. */
export class WasmCalls {
  private readonly made: Info[] = [];

  constructor(readonly backend: BackendWasm) {}

  call(name: string, inputs: tf.NamedTensorInfoMap, attrs: Attrs = {}): Info[] {
    return this.run(tf.getKernel(name, 'wasm').kernelFunc, inputs, attrs);
  }

  /** Runs a kernel function, e.g. a stock kernel that a registered one replaced. */
  run(kernelFunc: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, attrs: Attrs = {}): Info[] {
    const out = kernelFunc({ inputs, backend: this.backend, attrs });
    const outs = Array.isArray(out) ? out : [out];
    this.made.push(...outs);
    return outs;
  }

  /** Disposes every intermediate except the kernel's outputs, `keep`. */
  release(keep?: Info | Info[]): void {
    const kept = Array.isArray(keep) ? keep : [keep];
    for (const t of this.made) if (!kept.includes(t)) this.backend.disposeData(t.dataId);
  }

  one(name: string, inputs: tf.NamedTensorInfoMap, attrs?: Attrs): Info {
    return this.call(name, inputs, attrs)[0];
  }

  reshape(x: Info, shape: number[]): Info {
    return this.one('Reshape', { x }, { shape });
  }

  transpose(x: Info, perm: number[]): Info {
    return this.one('Transpose', { x }, { perm });
  }

  /** A copy of x's values in a new buffer of `shape`. */
  copy(x: Info, shape: number[]): Info {
    const out = this.backend.makeOutput(shape, x.dtype);
    this.made.push(out);
    // Views only after the allocation, which may grow (and detach) the heap.
    this.backend.typedArrayFromHeap(out).set(this.backend.typedArrayFromHeap(x));
    return out;
  }

  /** A new float32 tensor whose values the caller writes (e.g. a SIMD kernel). */
  output(shape: number[]): Info {
    const out = this.backend.makeOutput(shape, 'float32');
    this.made.push(out);
    return out;
  }

  /** x's byte offset in the backend's memory. */
  address(x: Info): number {
    return heapAddress(this.backend, x.dataId);
  }

  /** Whether `bytes` of the backend's memory follow x's values, for a kernel that may read them. */
  followedBy(x: Info, bytes: number): boolean {
    const memoryBytes = backendMemory(this.backend)?.buffer.byteLength ?? 0;
    return this.address(x) + 4 * size(x) + bytes <= memoryBytes;
  }

  zeros(shape: number[]): Info {
    const out = this.output(shape);
    this.backend.typedArrayFromHeap(out).fill(0);
    return out;
  }

  /** A new float32 tensor holding `values`. */
  constant(shape: number[], values: Float32Array): Info {
    const out = this.backend.makeOutput(shape, 'float32', undefined, values);
    this.made.push(out);
    return out;
  }

  /**
   * Zero insertion between the spatial elements of an NHWC tensor, so a strided (or dilated)
   * access pattern becomes a dense one: [N,H,W,C] → [N,(H-1)sh+1,(W-1)sw+1,C].
   */
  zeroInsert(x: Info, sh: number, sw: number): Info {
    if (sh === 1 && sw === 1) return x;
    const [n, h, w, c] = x.shape;
    const spread = this.one(
      'PadV2',
      { x: this.reshape(x, [n, h, 1, w, 1, c]) },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const flat = this.reshape(spread, [n, h * sh, w * sw, c]);
    return this.one(
      'Slice',
      { x: flat },
      { begin: [0, 0, 0, 0], size: [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c] },
    );
  }

  /** Applies the negative parts of `pad` as a crop; returns the input and the padding left to do. */
  cropNegative(x: Info, [[top, bottom], [left, right]]: SpatialPad): [Info, SpatialPad] {
    const rest: SpatialPad = [
      [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)],
    ];
    if (Math.min(top, bottom, left, right) >= 0) return [x, rest];
    const [n, h, w, c] = x.shape;
    const cropTop = Math.max(-top, 0);
    const cropLeft = Math.max(-left, 0);
    const size = [n, h - cropTop - Math.max(-bottom, 0), w - cropLeft - Math.max(-right, 0), c];
    return [this.one('Slice', { x }, { begin: [0, cropTop, cropLeft, 0], size }), rest];
  }

  /**
   * Pads (positive entries, with zeros) and crops (negative entries) the spatial axes: by bulk
   * copies in our SIMD module where it is loaded (the stock PadV2 took 0.7 ms for a batch of 64
   * MNIST images, as long as the convolution that read it), else by the stock Slice and PadV2.
   */
  fitSpatial(x: Info, pad: SpatialPad): Info {
    const [[top, bottom], [left, right]] = pad;
    if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
    const simd = x.dtype === 'float32' ? simdKernels(this.backend) : undefined;
    if (simd !== undefined) {
      const [n, h, w, c] = x.shape;
      const rows = h + top + bottom;
      const cols = w + left + right;
      const out = this.output([n, rows, cols, c]);
      const geometry = [n, h, w, c, top, left, rows, cols];
      simd.run('padSpatial', [[this.address(x), this.address(out), ...geometry]]);
      return out;
    }
    const [cropped, [vertical, horizontal]] = this.cropNegative(x, pad);
    if (Math.max(...vertical, ...horizontal) === 0) return cropped;
    return this.one(
      'PadV2',
      { x: cropped },
      { paddings: [[0, 0], vertical, horizontal, [0, 0]], constantValue: 0 },
    );
  }

  /** A stride-1 convolution (regular or depthwise) with signed explicit padding. */
  convolve(
    kernel: 'Conv2D' | 'DepthwiseConv2dNative',
    x: Info,
    filter: Info,
    pad: SpatialPad,
    dilations: [number, number] = [1, 1],
  ): Info {
    const [input, [vertical, horizontal]] = this.cropNegative(x, pad);
    return this.one(
      kernel,
      { x: input, filter },
      {
        strides: [1, 1],
        dilations,
        pad: [[0, 0], vertical, horizontal, [0, 0]],
        dataFormat: 'NHWC',
      },
    );
  }
}

/** A kernel body; returning undefined (where allowed) hands the call to the stock kernel. */
export type Body<R = Info> = (k: WasmCalls, inputs: Record<string, Info>, attrs: Attrs) => R;

/** Marks our configs with the stock kernel they replace; Symbol.for survives module reloads. */
const STOCK = Symbol.for('compression-lab.wasm-stock-kernel');
export type TrainingKernelConfig = tf.KernelConfig & { [STOCK]?: tf.KernelConfig };

export function kernelConfig(kernelName: string, body: Body<Info | Info[]>): TrainingKernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const k = new WasmCalls(backend as BackendWasm);
      let result: Info | Info[] | undefined;
      try {
        result = body(k, inputs as Record<string, Info>, attrs ?? {});
        return result;
      } finally {
        k.release(result);
      }
    },
  };
}

/** The stock wasm kernel `name`, even after we replaced it. */
function stockKernel(name: string): tf.KernelConfig {
  const current = tf.getKernel(name, 'wasm') as TrainingKernelConfig | undefined;
  if (current === undefined) throw new Error(`The wasm backend has no ${name} kernel to wrap`);
  return current[STOCK] ?? current;
}

/**
 * Replaces stock kernel `name` with `fast` where `fast` applies (it returns undefined
 * elsewhere), keeping the stock kernel for the other calls.
 */
export function withFastPath(
  name: string,
  fast: Body<Info | Info[] | undefined>,
): TrainingKernelConfig {
  const stock = stockKernel(name);
  const config = kernelConfig(name, (k, inputs, attrs) => {
    const out = fast(k, inputs, attrs) ?? k.run(stock.kernelFunc, inputs, attrs);
    return Array.isArray(out) && out.length === 1 ? out[0] : out;
  });
  // The stock setup binds its C++ function; the backend runs it at initialisation.
  return { ...config, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc, [STOCK]: stock };
}

/** Registers `config`, replacing any kernel of that name already registered for its backend. */
export function replaceKernel(config: tf.KernelConfig): void {
  // Unregister first, or TF.js warns about the duplicate.
  if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}
