// Trained quantisation by weight sharing (Han, Mao & Dally, ICLR 2016, arXiv:1510.00149, §3):
// each layer's weights are clustered by 1-D k-means into 2^bits shared values, every weight
// becomes an index into the layer's codebook, and the centroids are fine-tuned with the
// assignments fixed: ∂L/∂c_k = Σ_ij ∂L/∂W_ij · 1(I_ij = k).
import * as tf from '@tensorflow/tfjs';
import { kmeans1d } from '../../compress/kmeans';
import { trainableVariables, type Graph, type NodeId } from '../../graph';
import type { Rng } from '../../runtime/rng';
import { ADAM_LEARNING_RATE, type ParamValues } from '../params';
import {
  accuracyAtStart,
  curveAccuracy,
  RETRAIN_PARAMS,
  resumedPast,
  retrain,
  wholeRun,
} from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';
import { prunableLayers, storageMetrics } from './magnitude-prune';

export const SHARE_PARAMS = {
  bits: {
    kind: 'int',
    default: 4,
    min: 1,
    max: 8,
    help:
      'Bits per weight index: 2^bits shared values per layer (a pruned layer’s zero is one of them). ' +
      'The paper uses 8 for conv and 5 for fully connected layers of AlexNet.',
  },
  init: {
    kind: 'enum',
    default: 'linear',
    options: ['linear', 'density', 'forgy'],
    label: 'Centroid initialisation',
    help:
      'linear: evenly spaced from the smallest to the largest weight (the paper’s best: it keeps the rare large ' +
      'weights); density: evenly spaced on the weights’ CDF; forgy: random weights.',
  },
  centroidLearningRate: {
    ...ADAM_LEARNING_RATE,
    default: 1e-4,
    live: true,
    label: 'Centroid learning rate',
    help: 'Adam step size of the centroid fine-tuning (and of the biases it trains alongside).',
  },
} as const;

const KMEANS_ITERS = 100;

interface SharedLayer {
  id: NodeId;
  weight: string;
  kernel: tf.Variable;
  /** The codebook, fine-tuned; in a pruned layer entry 0 is its zero, held there by a mask. */
  centroids: tf.Variable;
  /** Each weight's centroid, flat, fixed. */
  assignments: tf.Tensor1D;
  mask?: tf.Tensor;
}

/**
 * Weight sharing of every conv and dense kernel of a graph. A layer with zeros (a pruned one)
 * keeps them out of the clustering: they share the fixed centroid 0, the non-zeros the other
 * 2^bits − 1, so a layer never holds more than 2^bits values.
 */
export class WeightSharing {
  private constructor(private layers: SharedLayer[]) {}

  static async create(
    g: Graph,
    bits: number,
    init: ParamValues<typeof SHARE_PARAMS>['init'],
    rng: Rng,
  ): Promise<WeightSharing> {
    const layers: SharedLayer[] = [];
    for (const { id, weight, kernel } of prunableLayers(g)) {
      const values = await kernel.data();
      const nonZero = values.filter((v) => v !== 0);
      const sparse = nonZero.length < values.length;
      const clustered = sparse ? nonZero : values;
      const k = Math.min(2 ** bits - (sparse ? 1 : 0), clustered.length);
      const { centroids, assignments } =
        k > 0
          ? kmeans1d(clustered, k, { init, iters: KMEANS_ITERS, rng: rng.fork(id) })
          : { centroids: new Float64Array(0), assignments: new Int32Array(0) };
      let index = assignments;
      if (sparse) {
        let j = 0;
        index = Int32Array.from(values, (v) => (v === 0 ? 0 : 1 + assignments[j++]));
      }
      const codebook = sparse ? Float32Array.of(0, ...centroids) : Float32Array.from(centroids);
      // tf.variable shares its initial tensor's data: the tidy drops the initial handle.
      const variable = tf.tidy(() => tf.variable(tf.tensor1d(codebook)));
      layers.push({
        id,
        weight,
        kernel,
        centroids: variable,
        assignments: tf.tensor1d(index, 'int32'),
        ...(sparse && {
          mask: tf.tensor1d(Float32Array.from(codebook, (_, i) => (i === 0 ? 0 : 1))),
        }),
      });
    }
    return new WeightSharing(layers);
  }

  /**
   * The sharing a student's kernels already hold (a checkpoint taken during the fine-tune, whose
   * kernels are written back after every step): each layer's distinct values are its codebook,
   * zero first and held there where the layer has zeros.
   */
  static async fromShared(g: Graph): Promise<WeightSharing> {
    const layers: SharedLayer[] = [];
    for (const { id, weight, kernel } of prunableLayers(g)) {
      const values = await kernel.data();
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      const sparse = distinct.includes(0);
      const codebook = sparse ? [0, ...distinct.filter((v) => v !== 0)] : distinct;
      const position = new Map(codebook.map((v, i) => [v, i]));
      layers.push({
        id,
        weight,
        kernel,
        centroids: tf.tidy(() => tf.variable(tf.tensor1d(codebook))),
        assignments: tf.tensor1d(
          Int32Array.from(values, (v) => position.get(v)!),
          'int32',
        ),
        ...(sparse && {
          mask: tf.tensor1d(Float32Array.from(codebook, (_, i) => (i === 0 ? 0 : 1))),
        }),
      });
    }
    return new WeightSharing(layers);
  }

  /**
   * The kernels as gathered from the codebooks, made inside the loss. Written as one-hot rows
   * times the codebook (the same values): tf.gather's gradient needs UnsortedSegmentSum, which
   * the WASM backend lacks, and the product's gradient is exactly the paper's sum per centroid.
   */
  overrides(): Map<NodeId, Record<string, tf.Tensor>> {
    return new Map(
      this.layers.map((l) => {
        const k = l.centroids.size;
        const w = tf.matMul(tf.oneHot(l.assignments, k), tf.reshape(l.centroids, [k, 1]));
        return [l.id, { [l.weight]: tf.reshape(w, l.kernel.shape) }];
      }),
    );
  }

  /** Pruned layers' zero centroid stays zero. */
  masks(): Map<string, tf.Tensor> {
    return new Map(this.layers.flatMap((l) => (l.mask ? [[l.centroids.name, l.mask]] : [])));
  }

  /** What the fine-tune moves: the centroids and every trainable tensor that is not shared. */
  variables(g: Graph): tf.Variable[] {
    const shared = new Set(this.layers.map((l) => l.kernel));
    return [
      ...this.layers.map((l) => l.centroids),
      ...trainableVariables(g).filter((v) => !shared.has(v)),
    ];
  }

  /** Writes the shared values into the kernels (each weight exactly its centroid's float32). */
  writeBack(): void {
    tf.tidy(() => {
      for (const l of this.layers) {
        l.kernel.assign(tf.reshape(tf.gather(l.centroids, l.assignments), l.kernel.shape));
      }
    });
  }

  /** Codebook size per layer (a pruned layer's zero included). */
  sizes(): { labels: string[]; values: number[] } {
    return {
      labels: this.layers.map((l) => l.id),
      values: this.layers.map((l) => l.centroids.size),
    };
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.centroids, l.assignments, l.mask]);
  }
}

/**
 * k-means sharing of the student's kernels, then the centroid fine-tune over `steps` steps; the
 * student ends with the shared values. Returns the accuracy right after clustering.
 */
export async function* shareAndFineTune(
  ctx: RunContext,
  student: Graph,
  p: ParamValues<typeof SHARE_PARAMS> & { batchSize: number; evalEvery: number },
  o: { steps: number; stepOffset: number; total: number; phase: string },
): AsyncGenerator<RunEvent, { beforeRetrain?: number }> {
  // A checkpoint taken during the fine-tune holds the shared kernels of its step.
  const resumed = resumedPast(ctx, o.stepOffset);
  const sharing = resumed
    ? await WeightSharing.fromShared(student)
    : await WeightSharing.create(student, p.bits, p.init, ctx.rng.fork('kmeans'));
  try {
    let beforeRetrain: number | undefined;
    const step = o.stepOffset;
    if (!resumed) {
      sharing.writeBack();
      yield { kind: 'layers', key: 'clusters', step, ...sharing.sizes() };
      beforeRetrain = await curveAccuracy(ctx, student);
      yield { kind: 'scalar', key: 'accuracy/test', step, value: beforeRetrain };
      yield { kind: 'scalar', key: 'accuracy/before-retrain', step, value: beforeRetrain };
    }
    yield* retrain({
      ctx,
      student,
      steps: o.steps,
      learningRate: () => p.centroidLearningRate,
      batchSize: p.batchSize,
      overrides: () => sharing.overrides(),
      masks: () => sharing.masks(),
      variables: sharing.variables(student),
      // The kernels hold the shared values at every step: what a checkpoint keeps.
      afterStep: () => sharing.writeBack(),
      phase: o.phase,
      stepOffset: step,
      total: o.total,
      evalEvery: p.evalEvery,
    });
    return { beforeRetrain };
  } finally {
    sharing.dispose();
  }
}

const params = {
  ...SHARE_PARAMS,
  ...RETRAIN_PARAMS,
} as const;

export const kmeansShare: MethodSpec<typeof params> = {
  id: 'kmeans-share',
  title: 'k-means weight sharing',
  paper: 'Han, Mao & Dally, ICLR 2016, arXiv:1510.00149 (§3)',
  summary:
    'Cluster each layer’s weights into 2^bits shared values by k-means, store a short index per weight, and fine-tune the shared values.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 500,
  params,
  // The kernels hold the shared values at every step (shareAndFineTune).
  resume: { resumable: true },
  async *run(ctx, p) {
    const { student } = ctx;
    if (!resumedPast(ctx, 0)) yield* accuracyAtStart(ctx, student);
    const { beforeRetrain } = yield* shareAndFineTune(ctx, student, p, wholeRun(ctx, 'fine-tune'));
    return {
      student,
      metrics: {
        // Packed fixed-length indices, float32 codebooks, the rest float32.
        ...(await storageMetrics(student)),
        bits: p.bits,
        ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
      },
    };
  },
};
