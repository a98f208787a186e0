import * as tf from '@tensorflow/tfjs';
import {
  deletionMasks,
  disposeDiagonal,
  hessianDiagonal,
  kernelName,
  saliency,
  type ObdBatch,
} from '../../compress/obd';
import { batches, type Dataset } from '../../data';
import { layerIds, nodeById, nonZeroParams, type Graph, type NodeId } from '../../graph';
import { inputOptions } from '../../metrics';
import type { Rng } from '../../runtime/rng';
import type { ParamValues } from '../params';
import { accuracyAtStart, curveAccuracy, RETRAIN_PARAMS, resumedPast, retrain } from '../retrain';
import type { MethodSpec } from '../types';

const params = {
  sparsity: {
    kind: 'number',
    default: 0.8,
    min: 0,
    max: 0.99,
    help: 'Fraction of the conv and dense weights deleted at the end (biases are kept).',
  },
  rounds: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 20,
    help: 'Delete → retrain rounds; the deleted fraction rises linearly to the target, the saliencies measured anew each round.',
  },
  scope: {
    kind: 'enum',
    default: 'global',
    options: ['global', 'layer'],
    help: 'global: the lowest saliencies of the whole network go (as LeCun et al.); layer: every layer loses the same fraction.',
  },
  hessianExamples: {
    kind: 'int',
    default: 4096,
    min: 64,
    max: 60_000,
    help: 'Training images the diagonal Hessian is averaged over each round. A trained network is confident on most of them (p(1 − p) ≈ 0), so the curvature comes from the few it is not: on LeNet-5 512 images gave saliencies that deleted worse than magnitude, 4096 better.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 5e-4 },
} as const;

/** The weights OBD may delete: every conv and dense kernel. */
function kernelOf(g: Graph, id: NodeId): tf.Variable {
  const node = nodeById(g, id);
  return node.weights[kernelName(node)];
}

/** Batch size of the curvature passes (memory, not statistics: the mean is over all examples). */
const HESSIAN_BATCH = 256;

/**
 * Per layer, the saliency s_k = h_kk·u_k²/2 of every kernel weight, with the Hessian diagonal
 * back-propagated over `examples` random training images; weights already deleted score −∞
 * (they stay deleted, whatever their saliency).
 */
export async function obdScores(
  g: Graph,
  data: Dataset,
  examples: number,
  rng: Rng,
  masks?: ReadonlyMap<NodeId, Float32Array>,
): Promise<Map<NodeId, Float32Array>> {
  const drawn: ObdBatch[] = [];
  const count = Math.ceil(examples / HESSIAN_BATCH);
  for (const b of batches(data, { ...inputOptions(g, data), batchSize: HESSIAN_BATCH, rng })) {
    drawn.push(b);
    if (drawn.length === count) break;
  }
  const h = hessianDiagonal(g, drawn, 'cross-entropy');
  tf.dispose(drawn.flatMap((b) => [b.x, b.y]));
  const scores = new Map<NodeId, Float32Array>();
  try {
    for (const id of layerIds(g)) {
      const s = saliency(h.get(id)![kernelName(nodeById(g, id))], kernelOf(g, id));
      const values = (await s.data()) as Float32Array;
      s.dispose();
      const mask = masks?.get(id);
      scores.set(id, mask ? values.map((v, i) => (mask[i] ? v : -Infinity)) : values);
    }
  } finally {
    disposeDiagonal(h);
  }
  return scores;
}

/** Zeroes the deleted weights: kernel ← kernel ⊙ mask. */
export function applyMasks(g: Graph, masks: ReadonlyMap<NodeId, Float32Array>): void {
  tf.tidy(() => {
    for (const [id, mask] of masks) {
      const kernel = kernelOf(g, id);
      kernel.assign(tf.mul(kernel, tf.tensor(mask, kernel.shape)));
    }
  });
}

export const optimalBrainDamage: MethodSpec<typeof params> = {
  id: 'obd',
  title: 'Optimal Brain Damage',
  paper: 'LeCun, Denker & Solla 1989, NIPS 2',
  summary:
    'Delete the weights whose removal the second-order Taylor expansion says costs least (saliency h_kk·u_k²/2, the diagonal Hessian back-propagated through the network), retrain, repeat.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1500,
  params,
  // The checkpoint's zeros are the deleted weights: retraining keeps them at exactly zero.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const layers = layerIds(student);
    let masks: Map<NodeId, Float32Array> | undefined;
    let maskTensors = new Map<string, tf.Tensor>();
    const useMasks = (next: Map<NodeId, Float32Array>) => {
      masks = next;
      tf.dispose([...maskTensors.values()]);
      maskTensors = new Map(
        layers.map((id) => {
          const kernel = kernelOf(student, id);
          return [kernel.name, tf.tensor(next.get(id)!, kernel.shape)];
        }),
      );
    };
    if (resumedPast(ctx, 0)) {
      useMasks(
        new Map(
          layers.map((id) => [
            id,
            Float32Array.from(kernelOf(student, id).dataSync(), (v) => (v === 0 ? 0 : 1)),
          ]),
        ),
      );
    } else {
      yield* accuracyAtStart(ctx);
    }
    let beforeRetrain: number | undefined;
    let done = 0;
    try {
      for (let round = 1; round <= p.rounds; round++) {
        // A resumed run's checkpoint holds the rounds begun before it, their weights deleted.
        if (!resumedPast(ctx, done)) {
          const target = (p.sparsity * round) / p.rounds;
          const scores = await obdScores(
            student,
            ctx.train,
            p.hessianExamples,
            ctx.rng.fork(`hessian ${round}`),
            masks,
          );
          useMasks(deletionMasks(scores, target, p.scope));
          applyMasks(student, masks!);
          yield {
            kind: 'layers',
            key: 'sparsity',
            step: done,
            labels: layers,
            values: layers.map((id) => {
              const m = masks!.get(id)!;
              return 1 - m.reduce((a, b) => a + b, 0) / m.length;
            }),
          };
          beforeRetrain = await curveAccuracy(ctx, student);
          yield { kind: 'scalar', key: 'accuracy/test', step: done, value: beforeRetrain };
        }
        const steps = Math.floor((ctx.steps * round) / p.rounds) - done;
        const current = maskTensors;
        yield* retrain({
          ctx,
          student,
          steps,
          learningRate: () => p.learningRate,
          batchSize: p.batchSize,
          masks: () => current,
          phase: `retrain ${round}/${p.rounds}`,
          stepOffset: done,
          total: ctx.steps,
          evalEvery: p.evalEvery,
        });
        done += steps;
      }
    } finally {
      tf.dispose([...maskTensors.values()]);
    }
    const nonZero = await nonZeroParams(student);
    const kernels = layers.reduce((s, id) => s + kernelOf(student, id).size, 0);
    return {
      student,
      metrics: {
        'nonzero-params': nonZero,
        'kernel-sparsity':
          1 - [...masks!.values()].reduce((s, m) => s + m.reduce((a, b) => a + b, 0), 0) / kernels,
        ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
      },
    };
  },
};
