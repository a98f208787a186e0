// Magnitude pruning with retraining (Han, Pool, Tran & Dally, NIPS 2015, arXiv:1506.02626), the
// first stage of Deep Compression: weights below a per-layer threshold are removed, the
// survivors retrained with masked gradients (no re-initialisation), several times over.
import * as tf from '@tensorflow/tfjs';
import { topKMask } from '../../compress';
import { encodeModel } from '../../compress/storage';
import { isLayer, kernelGroups, type Graph, type NodeId } from '../../graph';
import { InvalidInputError } from '../../runtime/errors';
import { LAYER_RATIOS, parseLayerRatios } from '../compression-params';
import type { ParamValues } from '../params';
import { beginState, type MethodState } from '../method-state';
import {
  accuracyAtStart,
  curveAccuracy,
  RETRAIN_PARAMS,
  resumedPast,
  retrain,
  wholeRun,
} from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';

export const PRUNE_PARAMS = {
  sparsity: {
    kind: 'number',
    default: 0.9,
    min: 0,
    max: 0.995,
    help:
      'Fraction of the conv and dense weights removed, over all those layers together; how it is ' +
      'shared among the layers is the allocation.',
  },
  allocation: {
    kind: 'enum',
    default: 'erk',
    options: ['erk', 'std', 'uniform'],
    label: 'Per-layer allocation',
    help:
      'erk: Erdős–Rényi-kernel densities (Evci et al. 2020), a layer keeps ∝ (Σ of its kernel’s ' +
      'dimensions)/(their product), so small layers (the first conv, the classifier), which are the ' +
      'most sensitive, stay denser; std: Han et al.’s threshold q·std(W) with one q for all layers; ' +
      'uniform: every layer the same fraction.',
  },
  layerRatios: LAYER_RATIOS,
  rounds: {
    kind: 'int',
    default: 3,
    min: 1,
    max: 20,
    help:
      'Prune → retrain rounds (iterative pruning beats one-shot); the sparsity rises along Zhu & ' +
      'Gupta’s cubic schedule s·(1 − (1 − r/R)³) to the target in the last round.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 5e-4 },
  weightDecay: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.1,
    help: 'L2 weight decay during retraining (Han et al. prefer L2 to L1 when retraining).',
  },
} as const;

type PruneParams = ParamValues<typeof PRUNE_PARAMS>;

/** A prunable kernel: the weights of a conv or dense layer. */
interface PrunableLayer {
  id: NodeId;
  weight: 'kernel' | 'depthwiseKernel';
  kernel: tf.Variable;
}

export function prunableLayers(g: Graph): PrunableLayer[] {
  return g.nodes.filter(isLayer).map((n) => {
    const { weight } = kernelGroups(g, n.id);
    return { id: n.id, weight, kernel: n.weights[weight] };
  });
}

/**
 * Each layer's share of the target: per-layer sparsities whose weight-weighted mean is
 * `sparsity` (as far as the layers given in `fixed` and a density of at most 1 allow).
 */
export function layerSparsities(
  layers: { id: NodeId; shape: number[]; absValues: Float32Array }[],
  sparsity: number,
  allocation: PruneParams['allocation'],
  fixed: ReadonlyMap<NodeId, number>,
): Map<NodeId, number> {
  const out = new Map<NodeId, number>();
  const free = layers.filter((l) => !fixed.has(l.id));
  const total = layers.reduce((s, l) => s + l.absValues.length, 0);
  let keep = (1 - sparsity) * total;
  for (const l of layers) {
    if (!fixed.has(l.id)) continue;
    out.set(l.id, fixed.get(l.id)!);
    keep -= (1 - fixed.get(l.id)!) * l.absValues.length;
  }
  const freeSize = free.reduce((s, l) => s + l.absValues.length, 0);
  if (free.length === 0) return out;
  const density = Math.min(1, Math.max(0, keep / freeSize));
  if (allocation === 'uniform') {
    for (const l of free) out.set(l.id, 1 - density);
  } else if (allocation === 'erk') {
    // density_l = min(1, ε·(Σ dims)/(Π dims)); ε solved with the layers that reach 1 held dense.
    const raw = new Map(
      free.map((l) => [l.id, l.shape.reduce((a, b) => a + b, 0) / l.absValues.length]),
    );
    const dense = new Set<NodeId>();
    for (;;) {
      const open = free.filter((l) => !dense.has(l.id));
      const budget =
        keep - free.filter((l) => dense.has(l.id)).reduce((s, l) => s + l.absValues.length, 0);
      const eps = budget / open.reduce((s, l) => s + l.absValues.length * raw.get(l.id)!, 0);
      const over = open.filter((l) => eps * raw.get(l.id)! >= 1);
      if (over.length === 0 || open.length === over.length) {
        for (const l of free) {
          out.set(l.id, dense.has(l.id) ? 0 : 1 - Math.min(1, Math.max(0, eps * raw.get(l.id)!)));
        }
        break;
      }
      for (const l of over) dense.add(l.id);
    }
  } else {
    // Han et al.: θ_l = q·std(W_l), one q for all free layers, bisected to remove the target
    // (std about zero, the RMS: trained kernels are zero-mean).
    const std = new Map(
      free.map((l) => {
        const m = l.absValues.reduce((s, v) => s + v * v, 0) / l.absValues.length;
        return [l.id, Math.sqrt(m)];
      }),
    );
    const removedAt = (q: number) =>
      free.reduce((s, l) => s + l.absValues.filter((v) => v <= q * std.get(l.id)!).length, 0);
    const target = (1 - density) * freeSize;
    let lo = 0;
    let hi = 100;
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (removedAt(mid) < target) lo = mid;
      else hi = mid;
    }
    for (const l of free) {
      const removed = l.absValues.filter((v) => v <= hi * std.get(l.id)!).length;
      out.set(l.id, removed / l.absValues.length);
    }
  }
  return out;
}

/** The state of iterative pruning: one mask per kernel, by variable name (retrain's masks()). */
export class MagnitudePruner {
  readonly masks = new Map<string, tf.Tensor>();
  private state: MethodState = {};

  private constructor(
    private layers: PrunableLayer[],
    /** Final sparsity per layer. */
    readonly targets: Map<NodeId, number>,
  ) {}

  static async create(g: Graph, p: PruneParams): Promise<MagnitudePruner> {
    const layers = prunableLayers(g);
    const fixed = parseLayerRatios(
      p.layerRatios,
      layers.map((l) => l.id),
    );
    const read = await Promise.all(
      layers.map(async (l) => ({
        id: l.id,
        shape: [...l.kernel.shape],
        absValues: Float32Array.from(await l.kernel.data(), Math.abs),
      })),
    );
    return new MagnitudePruner(layers, layerSparsities(read, p.sparsity, p.allocation, fixed));
  }

  /**
   * Names the per-layer targets to the run as what its checkpoints keep beside the student; in a
   * resumed run reads them back (they were measured on the unpruned weights) and masks the
   * checkpoint's zeros, which are the pruned weights. Returns whether the run resumed.
   */
  begin(ctx: RunContext, student: Graph): boolean {
    const targets = tf.tidy(() =>
      tf.variable(tf.tensor1d(this.layers.map((l) => this.targets.get(l.id)!)), false),
    );
    this.state = { 'prune-targets': targets };
    if (!beginState(ctx, student, this.state, 'per-layer pruning targets')) return false;
    const read = targets.dataSync();
    this.layers.forEach((l, i) => this.targets.set(l.id, read[i]));
    for (const l of this.layers) {
      this.masks.set(
        l.kernel.name,
        tf.tidy(() => tf.cast(tf.notEqual(l.kernel, 0), 'float32')),
      );
    }
    return true;
  }

  /**
   * Prunes every layer to its sparsity at round `round` of `rounds`: the smallest |w| go (the
   * threshold is the layer's k-th smallest magnitude), so an already pruned weight stays pruned.
   */
  async prune(round: number, rounds: number): Promise<void> {
    const ramp = 1 - (1 - round / rounds) ** 3;
    for (const l of this.layers) {
      const abs = Float32Array.from(await l.kernel.data(), Math.abs);
      const removed = Math.round(this.targets.get(l.id)! * ramp * abs.length);
      // topKMask keeps exactly n − removed weights, ties broken by position.
      const mask = tf.tensor(topKMask(abs, abs.length - removed), l.kernel.shape);
      this.masks.get(l.kernel.name)?.dispose();
      this.masks.set(l.kernel.name, mask);
      tf.tidy(() => l.kernel.assign(tf.mul(l.kernel, mask)));
    }
  }

  /** Fraction of zero weights per layer, and over all of them. */
  async sparsity(): Promise<{ labels: string[]; values: number[]; overall: number }> {
    const zeros = await Promise.all(
      this.layers.map(async (l) => (await l.kernel.data()).filter((v) => v === 0).length),
    );
    const sizes = this.layers.map((l) => l.kernel.size);
    return {
      labels: this.layers.map((l) => l.id),
      values: zeros.map((z, i) => z / sizes[i]),
      overall: zeros.reduce((a, b) => a + b, 0) / sizes.reduce((a, b) => a + b, 0),
    };
  }

  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
    tf.dispose(Object.values(this.state));
  }
}

/**
 * Prune → retrain rounds over `steps` steps; returns the accuracy right after the last pruning
 * (absent when a resumed run made none).
 */
export async function* pruneAndRetrain(
  ctx: RunContext,
  student: Graph,
  p: PruneParams,
  o: { steps: number; stepOffset: number; total: number; phase: string },
): AsyncGenerator<RunEvent, { beforeRetrain?: number; sparsity: number }> {
  if (o.steps < p.rounds) {
    throw new InvalidInputError(
      `${p.rounds} prune → retrain rounds need at least ${p.rounds} retraining steps, got ${o.steps}`,
      'Give more steps, or fewer rounds.',
    );
  }
  const pruner = await MagnitudePruner.create(student, p);
  let beforeRetrain: number | undefined;
  // A resumed run whose checkpoint lies past this stage (Deep Compression's sharing) has it done.
  const past = ctx.resumeFrom !== undefined && ctx.resumeFrom >= o.stepOffset + o.steps;
  try {
    if (!past) pruner.begin(ctx, student);
    let done = 0;
    for (let r = 1; r <= p.rounds && !past; r++) {
      const step = o.stepOffset + done;
      // A resumed run's checkpoint holds the rounds begun before it, pruned.
      if (!resumedPast(ctx, step)) {
        await pruner.prune(r, p.rounds);
        const s = await pruner.sparsity();
        yield { kind: 'layers', key: 'sparsity', step, labels: s.labels, values: s.values };
        beforeRetrain = await curveAccuracy(ctx, student);
        yield { kind: 'scalar', key: 'accuracy/test', step, value: beforeRetrain };
        yield { kind: 'scalar', key: 'accuracy/before-retrain', step, value: beforeRetrain };
        yield {
          kind: 'log',
          level: 'info',
          message: `Round ${r}/${p.rounds}: pruned to ${(100 * s.overall).toFixed(1)} % zeros, accuracy ${(100 * beforeRetrain).toFixed(2)} % before retraining`,
        };
      }
      const steps = Math.floor((o.steps * r) / p.rounds) - done;
      yield* retrain({
        ctx,
        student,
        steps,
        learningRate: () => p.learningRate,
        batchSize: p.batchSize,
        weightDecay: p.weightDecay,
        masks: () => pruner.masks,
        phase: o.phase,
        stepOffset: step,
        total: o.total,
        evalEvery: p.evalEvery,
      });
      done += steps;
    }
    return { beforeRetrain, sparsity: (await pruner.sparsity()).overall };
  } finally {
    pruner.dispose();
    // What comes after (Deep Compression's sharing) keeps no pruning targets.
    if (!past) ctx.training(student);
  }
}

/**
 * The sizes every classic stage reports, of the fixed-length Deep Compression stream (relative
 * indices; float32 values, or packed indices where the weights are shared).
 */
export async function storageMetrics(g: Graph): Promise<Record<string, number>> {
  const encoded = await encodeModel(g, { huffman: false });
  return { 'nonzero-params': encoded.nonZeros, 'encoded-bytes': encoded.bytes.length };
}

export const magnitudePrune: MethodSpec<typeof PRUNE_PARAMS> = {
  id: 'magnitude-prune',
  title: 'Magnitude pruning',
  paper: 'Han, Pool, Tran & Dally, NIPS 2015, arXiv:1506.02626',
  summary:
    'Remove the smallest weights of every layer and retrain the rest with masked gradients, in rounds up to the target sparsity.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1500,
  params: PRUNE_PARAMS,
  // The checkpoint keeps the per-layer targets; its zeros are the masks (MagnitudePruner.begin).
  resume: { resumable: true },
  async *run(ctx, p) {
    const { student } = ctx;
    if (!resumedPast(ctx, 0)) yield* accuracyAtStart(ctx, student);
    const { beforeRetrain, sparsity } = yield* pruneAndRetrain(
      ctx,
      student,
      p,
      wholeRun(ctx, 'retrain'),
    );
    return {
      student,
      metrics: {
        // Pruning alone: the non-zeros with relative indices and their float32 values.
        ...(await storageMetrics(student)),
        sparsity,
        ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
      },
    };
  },
};
