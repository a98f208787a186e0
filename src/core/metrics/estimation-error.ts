// Per-layer estimation error (Cross Distillation, Bai et al. AAAI 2020, arXiv:1911.09450, §1.7
// of METHODS.md): how far the student's layer outputs are from the teacher's on the same inputs.
import * as tf from '@tensorflow/tfjs';
import { batches, type Dataset } from '../data';
import { forward, hiddenRepresentation, layerIds, type Graph, type NodeId } from '../graph';
import { InvalidInputError } from '../runtime/errors';
import { inputOptions } from './inputs';

export interface LayerValues {
  labels: NodeId[];
  values: number[];
}

/** The estimation error of every layer on its two readings of "the layer's output". */
export interface EstimationErrors {
  /** The hidden representation h = σ(BN(W*x)) that the next layer reads (the paper's Fig. 2). */
  hidden: LayerValues;
  /** The conv/dense output before BatchNorm and activation (what the reference code regresses). */
  preActivation: LayerValues;
}

export interface EstimationErrorOptions {
  /** Layers to compare (default: every conv/dense layer of the teacher, in module order). */
  layers?: NodeId[];
  /** Examples per forward pass. */
  batchSize?: number;
  /**
   * Both networks normalise each batch with its own BatchNorm statistics (the layer solver's
   * `batchNorm: batch` mode, the reference's train()); otherwise both use their moving ones.
   */
  batchStatistics?: boolean;
  /**
   * For a student whose layer lost output channels (pruneChannels): the teacher's output
   * channels that the student's layer kept, in order. Without it such a layer is an error.
   */
  channelMaps?: ReadonlyMap<NodeId, ArrayLike<number>>;
}

/**
 * Normalised estimation error of every layer: Σ(y_T − y_S)² / Σ y_T² over all examples and
 * elements, for y = the layer's hidden representation and y = its pre-activation output, with
 * both networks on the same input images and in the same BatchNorm mode. It equals the mean
 * squared error divided by the teacher output's mean square, so layers of different scale are
 * comparable: 0 = identical, 1 = an error as large as the signal.
 */
export async function estimationErrors(
  teacher: Graph,
  student: Graph,
  ds: Dataset,
  opts: EstimationErrorOptions & { indices?: ArrayLike<number> } = {},
): Promise<EstimationErrors> {
  await ds.ensure?.(opts.indices);
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
): Promise<EstimationErrors> {
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
  /** Per layer, the node read for each representation: [pre-activation, hidden]. */
  private taps: [NodeId, NodeId][];
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
    this.taps = this.layers.map((id) => [id, hiddenRepresentation(teacher, id)]);
    this.diff = new Float64Array(2 * this.layers.length);
    this.signal = new Float64Array(2 * this.layers.length);
  }

  async add(x: tf.Tensor): Promise<void> {
    const sums = tf.tidy(() => {
      const run = (g: Graph) =>
        forward(g, x, { taps: this.taps.flat(), batchStatistics: this.opts.batchStatistics })
          .tapped;
      const t = run(this.teacher);
      const s = run(this.student);
      return tf.stack(
        this.taps.flatMap(([layer, hidden]) =>
          [layer, hidden].map((id) => {
            let yT = t.get(id)!;
            const yS = s.get(id)!;
            // BatchNorm and activation keep the layer's channels: one map serves both taps.
            const map = this.opts.channelMaps?.get(layer);
            if (map) yT = tf.gather(yT, tf.tensor1d(Int32Array.from(map), 'int32'), -1);
            if (yT.shape.join() !== yS.shape.join()) {
              throw new InvalidInputError(
                `Layer '${layer}' outputs [${yS.shape.slice(1)}] in the student but [${yT.shape.slice(1)}] in the teacher`,
                'Pass channelMaps with the teacher channels the student kept, or compare before channels are removed.',
              );
            }
            return tf.stack([tf.sum(tf.squaredDifference(yT, yS)), tf.sum(tf.square(yT))]);
          }),
        ),
      );
    });
    const v = await sums.data();
    sums.dispose();
    for (let i = 0; i < this.diff.length; i++) {
      this.diff[i] += v[2 * i];
      this.signal[i] += v[2 * i + 1];
    }
  }

  result(): EstimationErrors {
    const ratio = (i: number) =>
      this.signal[i] > 0 ? this.diff[i] / this.signal[i] : this.diff[i] > 0 ? Infinity : 0;
    const values = (offset: number) => ({
      labels: [...this.layers],
      values: this.layers.map((_, i) => ratio(2 * i + offset)),
    });
    return { preActivation: values(0), hidden: values(1) };
  }
}
