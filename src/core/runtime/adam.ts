/**
 * Adam with one kernel per variable. tf.AdamOptimizer updates each variable with 14 element-wise
 * ops (and as many kernel launches, tensors and engine bookkeeping): on a small network such as
 * LeNet-5 that is a tenth of a training step on WASM. `AdamUpdate` does the same arithmetic in
 * one pass over the variable, its gradient and its two moments (a SIMD loop, wasm/adam.ts),
 * rounding to float32 after every operation in the stock order, so its results are the stock
 * optimizer's to the bit (the tests check it). WASM and CPU run it; on the GPU backends
 * FusedAdam runs the stock update.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { heapAddress, simdKernels } from './wasm-simd';

/** tf.AdamOptimizer.applyGradients' argument (tfjs-core types not re-exported by tfjs). */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

export const ADAM_UPDATE = 'AdamUpdate';

interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** beta1^t and beta2^t, as the stock optimizer's float32 accumulators hold them. */
  accBeta1: number;
  accBeta2: number;
}

const f = Math.fround;

/** The update's constants as the stock optimizer's float32 scalars hold them (wasm/adam.ts). */
function constants(a: AdamUpdateAttrs): number[] {
  const [b1, b2, c1, c2] = [f(a.beta1), f(a.beta2), f(1 - a.beta1), f(1 - a.beta2)];
  const [a1, a2] = [f(1 - f(a.accBeta1)), f(1 - f(a.accBeta2))];
  return [b1, b2, c1, c2, a1, a2, f(a.epsilon), f(-a.learningRate)];
}

/**
 * One Adam step over plain arrays, into the `out` arrays: wasm/adam.ts's arithmetic in JS (the
 * CPU backend's kernel, and WASM's where the engine lacks SIMD).
 */
function adamUpdate(
  [value, m, v, g]: Float32Array[],
  [newValue, newM, newV]: Float32Array[],
  a: AdamUpdateAttrs,
): void {
  const [b1, b2, c1, c2, a1, a2, eps, step] = constants(a);
  for (let i = 0; i < value.length; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    newValue[i] = f(f(f(f(mi / a1) / f(f(Math.sqrt(f(vi / a2))) + eps)) * step) + value[i]);
    newM[i] = mi;
    newV[i] = vi;
  }
}

type Inputs = { value: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo; gradient: tf.TensorInfo };

function ordered(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  const { value, m, v, gradient } = inputs as unknown as Inputs;
  return [value, m, v, gradient];
}

const wasmAdamUpdate: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const ins = ordered(inputs);
  const outs = [0, 1, 2].map(() => wasm.makeOutput(ins[0].shape, 'float32'));
  const a = attrs as unknown as AdamUpdateAttrs;
  const simd = simdKernels(wasm);
  if (simd !== undefined) {
    const at = (t: tf.TensorInfo) => heapAddress(wasm, t.dataId);
    const n = tf.util.sizeFromShape(ins[0].shape);
    simd.run('adamUpdate', [[...ins.map(at), ...outs.map(at), n, ...constants(a)]]);
  } else {
    // Views only after the allocations, which may grow (and detach) the heap.
    const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
    adamUpdate(ins.map(view), outs.map(view), a);
  }
  return outs;
};

const cpuAdamUpdate: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as tf.KernelBackend & {
    data: { get(id: object): { values: Float32Array } };
    makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
  };
  const ins = ordered(inputs);
  const outs = [0, 1, 2].map(() => new Float32Array(tf.util.sizeFromShape(ins[0].shape)));
  adamUpdate(
    ins.map((t) => cpu.data.get(t.dataId).values),
    outs,
    attrs as unknown as AdamUpdateAttrs,
  );
  return outs.map((values) => cpu.makeTensorInfo(ins[0].shape, 'float32', values));
};

let registered = false;

function registerAdamUpdate(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'wasm', kernelFunc: wasmAdamUpdate });
  tf.registerKernel({ kernelName: ADAM_UPDATE, backendName: 'cpu', kernelFunc: cpuAdamUpdate });
}

/** tf.AdamOptimizer's state, private in its typings, public in its JS (tfjs-core 4.x). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/**
 * tf.AdamOptimizer with its update fused into one kernel per variable where the backend has
 * AdamUpdate. The state (moment slots named `${variable}/m` and `/v`, the β^t accumulators,
 * the iteration count) is the stock optimizer's, so getWeights / setWeights and anything
 * reading the moments work unchanged.
 */
export class FusedAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
    registerAdamUpdate();
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!tf.getKernel(ADAM_UPDATE, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const named = Array.isArray(variableGradients)
      ? variableGradients.map(({ name, tensor }) => [name, tensor] as const)
      : Object.entries(variableGradients);
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      accBeta1: state.accBeta1.dataSync()[0],
      accBeta2: state.accBeta2.dataSync()[0],
    };
    tf.tidy(() => {
      named.forEach(([name, gradient], i) => {
        const value = tf.engine().registeredVariables[name];
        const slot = (suffix: string) => ({
          originalName: `${name}/${suffix}`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        });
        state.accumulatedFirstMoment[i] ??= slot('m');
        state.accumulatedSecondMoment[i] ??= slot('v');
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(
            ADAM_UPDATE,
            { value, m, v, gradient } as unknown as tf.NamedTensorMap,
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
