import * as tf from '@tensorflow/tfjs';
import { forward, trainableVariables, type Graph } from '../graph';
import { timeRepeated, type StepTiming } from '../runtime/timing';

/**
 * Wall time of one supervised training step (forward, backward, Adam update) of `g` on random
 * data, waiting for the backend to finish each step. The first `warmup` steps (kernel
 * compilation, optimiser slots) are not timed.
 */
export async function timeTrainingStep(
  g: Graph,
  opts: { batchSize?: number; steps?: number; warmup?: number; seed?: number } = {},
): Promise<StepTiming> {
  const { batchSize = 64, steps = 20, warmup = 3, seed = 1 } = opts;
  const x = tf.randomNormal([batchSize, ...g.inputShape], 0, 1, 'float32', seed);
  const classes = forward(g, tf.zeros([1, ...g.inputShape])).output;
  const numClasses = classes.shape[1]!;
  tf.dispose(classes);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, numClasses, 'int32', seed + 1), numClasses);
  const optimizer = tf.train.adam(1e-3);
  const vars = trainableVariables(g);
  try {
    return await timeRepeated(
      async () => {
        const loss = optimizer.minimize(
          () =>
            tf.losses.softmaxCrossEntropy(y, forward(g, x, { training: true }).output) as tf.Scalar,
          true,
          vars,
        )!;
        await loss.data();
        loss.dispose();
      },
      { steps, warmup },
    );
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
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
