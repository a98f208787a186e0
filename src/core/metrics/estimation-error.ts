// Per-layer estimation error (Cross Distillation, Bai et al. AAAI 2020, arXiv:1911.09450, §1.7
// of METHODS.md): how far the student's layer outputs are from the teacher's on the same inputs.
import * as tf from '@tensorflow/tfjs';
import { batches, type Dataset } from '../data';
import { forward, layerIds, type Graph, type NodeId } from '../graph';
import { InvalidInputError } from '../runtime/errors';
import { inputOptions } from './inputs';

export interface LayerValues {
  labels: NodeId[];
  values: number[];
}

export interface EstimationErrorOptions {
  /** Layers to compare (default: every conv/dense layer of the teacher, in module order). */
  layers?: NodeId[];
  /** Examples per forward pass. */
  batchSize?: number;
  /**
   * For a student whose layer lost output channels (pruneChannels): the teacher's output
   * channels that the student's layer kept, in order. Without it such a layer is an error.
   */
  channelMaps?: ReadonlyMap<NodeId, ArrayLike<number>>;
}

/**
 * Normalised estimation error of every layer: Σ(y_T − y_S)² / Σ y_T² over all examples and
 * elements, where y is the layer's pre-activation output (conv/dense output before BatchNorm
 * and activation — what the reference code regresses) and both networks see the same input
 * images. It equals the mean squared error divided by the teacher output's mean square, so
 * layers of different scale are comparable: 0 = identical, 1 = an error as large as the signal.
 */
export async function estimationErrors(
  teacher: Graph,
  student: Graph,
  ds: Dataset,
  opts: EstimationErrorOptions & { indices?: ArrayLike<number> } = {},
): Promise<LayerValues> {
  const acc = new ErrorSums(teacher, student, opts);
  for (const batch of batches(ds, {
    ...inputOptions(teacher, ds),
    batchSize: opts.batchSize ?? 250,
    indices: opts.indices,
  })) {
    try {
      await acc.add(batch.x);
    } finally {
      tf.dispose([batch.x, batch.y]);
    }
  }
  return acc.result();
}

/** estimationErrors on images already prepared as the models' input (e.g. the K-shot set). */
export async function estimationErrorsOn(
  teacher: Graph,
  student: Graph,
  x: tf.Tensor,
  opts: EstimationErrorOptions = {},
): Promise<LayerValues> {
  const acc = new ErrorSums(teacher, student, opts);
  const n = x.shape[0];
  const size = opts.batchSize ?? 250;
  for (let start = 0; start < n; start += size) {
    const part = tf.slice(x, start, Math.min(size, n - start));
    try {
      await acc.add(part);
    } finally {
      part.dispose();
    }
  }
  return acc.result();
}

class ErrorSums {
  private layers: NodeId[];
  private diff: Float64Array;
  private signal: Float64Array;

  constructor(
    private teacher: Graph,
    private student: Graph,
    private opts: EstimationErrorOptions,
  ) {
    const studentLayers = new Set(layerIds(student));
    this.layers = opts.layers ?? layerIds(teacher).filter((id) => studentLayers.has(id));
    for (const id of this.layers) {
      if (!studentLayers.has(id)) {
        throw new InvalidInputError(
          `Layer '${id}' is not in student '${student.name}'`,
          'Compare layers that teacher and student share (the student must keep the teacher’s layer names).',
        );
      }
    }
    this.diff = new Float64Array(this.layers.length);
    this.signal = new Float64Array(this.layers.length);
  }

  async add(x: tf.Tensor): Promise<void> {
    const sums = tf.tidy(() => {
      const t = forward(this.teacher, x, { taps: this.layers }).tapped;
      const s = forward(this.student, x, { taps: this.layers }).tapped;
      return tf.stack(
        this.layers.map((id) => {
          let yT = t.get(id)!;
          const yS = s.get(id)!;
          const map = this.opts.channelMaps?.get(id);
          if (map) yT = tf.gather(yT, tf.tensor1d(Int32Array.from(map), 'int32'), -1);
          if (yT.shape.join() !== yS.shape.join()) {
            throw new InvalidInputError(
              `Layer '${id}' outputs [${yS.shape.slice(1)}] in the student but [${yT.shape.slice(1)}] in the teacher`,
              'Pass channelMaps with the teacher channels the student kept, or compare before channels are removed.',
            );
          }
          return tf.stack([tf.sum(tf.squaredDifference(yT, yS)), tf.sum(tf.square(yT))]);
        }),
      );
    });
    const v = await sums.data();
    sums.dispose();
    this.layers.forEach((_, i) => {
      this.diff[i] += v[2 * i];
      this.signal[i] += v[2 * i + 1];
    });
  }

  result(): LayerValues {
    return {
      labels: [...this.layers],
      values: this.layers.map((_, i) =>
        this.signal[i] > 0 ? this.diff[i] / this.signal[i] : this.diff[i] > 0 ? Infinity : 0,
      ),
    };
  }
}
