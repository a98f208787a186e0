import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import { forward, predict, trainableVariables, type Graph } from '../graph';
import { FusedAdam } from '../runtime/adam';
import { timeRepeated, type StepTiming, type WarmUp } from '../runtime/timing';

/**
 * Wall time of one supervised training step (forward, backward, Adam update) of `g` on random
 * data, waiting for the backend to finish each step. The first `warmup` steps (kernel
 * compilation, optimiser slots) are not timed.
 */
export async function timeTrainingStep(
  g: Graph,
  opts: Partial<WarmUp> & { batchSize?: number; steps?: number; seed?: number } = {},
): Promise<StepTiming> {
  const { batchSize = 64, steps = 20, warmup = 3, warmupMs = 0, seed = 1 } = opts;
  const x = tf.randomNormal([batchSize, ...g.inputShape], 0, 1, 'float32', seed);
  const classes = forward(g, tf.zeros([1, ...g.inputShape])).output;
  const numClasses = classes.shape[1]!;
  tf.dispose(classes);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', seed + 1), numClasses);
  const optimizer = new FusedAdam(1e-3);
  const vars = trainableVariables(g);
  try {
    return await timeRepeated(
      async () => {
        const loss = optimizer.minimize(
          () => softmaxCrossEntropy(y, forward(g, x, { training: true }).output) as tf.Scalar,
          true,
          vars,
        )!;
        await loss.data();
        loss.dispose();
      },
      { steps, warmup, warmupMs },
    );
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
  }
}

/** Wall time of one inference pass: the median and how far the timed passes spread. */
export interface InferenceTiming extends StepTiming {
  /** Slowest minus fastest timed sample, ms: how much to trust the median. */
  spread: number;
  /** Passes averaged in each sample (more than one for passes shorter than the clock's tick). */
  group: number;
}

/**
 * Shortest sample worth timing, ms: browsers coarsen performance.now() to 100 µs without
 * cross-origin isolation, and a small network's batch-1 pass takes about that long.
 */
const MIN_SAMPLE_MS = 5;

/**
 * Wall time of one inference forward pass (training: false) of `g` on a random batch, waiting
 * for the backend to finish each pass. The first `warmup` passes (kernel compilation, weight
 * uploads) are not timed; passes too short for the clock are timed in groups, each sample the
 * group's mean, so the median is of `repeats` samples either way.
 */
export async function timeInference(
  g: Graph,
  opts: Partial<WarmUp> & { batchSize?: number; repeats?: number; seed?: number } = {},
): Promise<InferenceTiming> {
  const { batchSize = 1, repeats = 20, warmup = 3, warmupMs = 0, seed = 1 } = opts;
  const x = tf.randomNormal([batchSize, ...g.inputShape], 0, 1, 'float32', seed);
  const pass = async () => {
    const logits = predict(g, x);
    await logits.data();
    logits.dispose();
  };
  try {
    const probe = await timeRepeated(pass, { steps: 3, warmup, warmupMs });
    // A probe under the clock's tick may read 0: count it as a tick (so at most 50 passes).
    const group = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(probe.median, 0.1)));
    const timing = await timeRepeated(
      async () => {
        for (let i = 0; i < group; i++) await pass();
      },
      { steps: repeats, warmup: 0 },
    );
    const samples = timing.samples.map((ms) => ms / group);
    return {
      samples,
      median: timing.median / group,
      spread: Math.max(...samples) - Math.min(...samples),
      group,
    };
  } finally {
    x.dispose();
  }
}

/** The three kernels of a convolution's training step. */
export const CONV_KERNELS = ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const;
export type ConvKernel = (typeof CONV_KERNELS)[number];

/**
 * Median ms of each of a stride-1 'same' convolution's three kernels on the active backend,
 * run directly (no tape), for input `x` [N, H, W, Ci] and filter [fh, fw, Ci, Co]. Each does
 * the same 2·N·H·W·fh·fw·Ci·Co flops.
 */
export async function timeConvKernels(
  x: [number, number, number, number],
  filter: [number, number, number, number],
  opts: { steps?: number; warmup?: number } = {},
): Promise<Record<ConvKernel, StepTiming> & { flops: number }> {
  const { steps = 3, warmup = 1 } = opts;
  const [n, h, w] = x;
  const dyShape = [n, h, w, filter[3]];
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
  const tensors = {
    x: tf.randomNormal(x, 0, 1, 'float32', 1),
    filter: tf.randomNormal(filter, 0, 1, 'float32', 2),
    dy: tf.randomNormal(dyShape, 0, 1, 'float32', 3),
  };
  const inputs: Record<ConvKernel, [tf.NamedTensorMap, tf.NamedAttrMap]> = {
    Conv2D: [{ x: tensors.x, filter: tensors.filter }, attrs],
    Conv2DBackpropFilter: [
      { x: tensors.x, dy: tensors.dy },
      { ...attrs, filterShape: filter },
    ],
    Conv2DBackpropInput: [
      { dy: tensors.dy, filter: tensors.filter },
      { ...attrs, inputShape: x },
    ],
  };
  const result = { flops: 2 * n * h * w * filter[0] * filter[1] * filter[2] * filter[3] } as Record<
    ConvKernel,
    StepTiming
  > & { flops: number };
  try {
    for (const kernel of CONV_KERNELS) {
      result[kernel] = await timeRepeated(
        async () => {
          const out = tf.engine().runKernel(kernel, ...inputs[kernel]) as tf.Tensor;
          await out.data();
          out.dispose();
        },
        { steps, warmup },
      );
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return result;
}
