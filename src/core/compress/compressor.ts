// The compression state of a set of layers during one optimisation stage: masks, the annealed
// top-k schedule, proximal maps and quantization. The layer-wise solver makes one per layer,
// few-shot fine-tuning one for all layers.
import * as tf from '@tensorflow/tfjs';
import {
  inferShapes,
  isLayer,
  kernelGroups,
  nodeById,
  type Graph,
  type GraphNode,
  type KernelGroups,
  type NodeId,
} from '../graph';
import type { CompressionConfig } from './config';
import {
  annealedChannelKeep,
  annealedWeightKeep,
  groupNorms,
  groupSoftThreshold,
  keptChannels,
  quantizeStraightThrough,
  quantizeSymmetric,
  softThreshold,
  topKMask,
} from './proximal';

export type LayerMode = 'channels' | 'weights' | 'quantize' | 'none';

/** What happens to one layer. */
export interface LayerPlan {
  id: NodeId;
  groups: KernelGroups;
  mode: LayerMode;
  /** Input channels (channels) or weights (weights) left at the end of the top-k schedule. */
  targetKeep: number;
}

/** True when the layer reads the network input through non-layer nodes only (the "first conv"). */
export function readsInput(g: Graph, id: NodeId): boolean {
  let node = nodeById(g, id);
  for (;;) {
    const src = node.inputs[0];
    if (src === undefined) return false;
    if (src === g.input) return true;
    node = nodeById(g, src);
    if (isLayer(node)) return false;
  }
}

/**
 * The plan for every layer (conv, depthwise, dense), in module order. Channel pruning applies to
 * conv and dense layers with more than one input channel; like the reference code it skips the
 * layer reading the image unless `pruneFirstLayer`. The output layer is pruned on its input
 * side only (its units are the classes). Quantization applies to every layer. With `layers`
 * 'conv' (the reference code's scope) dense layers are left as they are.
 */
export function planCompression(
  g: Graph,
  cfg: CompressionConfig,
  layers: 'conv' | 'all' = 'all',
): LayerPlan[] {
  const shapes = inferShapes(g);
  return g.nodes.filter(isLayer).map((node): LayerPlan => {
    const groups = kernelGroups(g, node.id, shapes);
    const first = readsInput(g, node.id) && !cfg.pruneFirstLayer;
    let mode: LayerMode = 'none';
    if (layers === 'conv' && node.op === 'dense') mode = 'none';
    else if (cfg.compression === 'quantize') mode = 'quantize';
    else if (cfg.compression === 'weights' && !first) mode = 'weights';
    else if (
      cfg.compression === 'channels' &&
      !first &&
      node.op !== 'depthwiseConv2d' &&
      groups.channels > 1
    ) {
      mode = 'channels';
    }
    const numel = groups.spatial * groups.channels * groups.out;
    const targetKeep =
      mode === 'channels'
        ? keptChannels(groups.channels, cfg.targetSparsity)
        : mode === 'weights'
          ? Math.max(1, Math.floor(numel * (1 - cfg.targetSparsity) + 1e-9))
          : mode === 'quantize'
            ? numel
            : groups.channels;
    return { id: node.id, groups, mode, targetKeep };
  });
}

interface LayerState {
  plan: LayerPlan;
  node: GraphNode;
  kernel: tf.Variable;
  /** 0/1, kernel-shaped; absent while nothing is masked. */
  mask?: tf.Tensor;
  /** Channels or weights kept by the current mask. */
  kept: number;
}

export interface CompressorOptions {
  /** Iterations of this stage (the top-k schedule anneals over the first third). */
  iters: number;
  /**
   * Keep the zeros already there (masks from the current zero groups or weights) and do not
   * prune further: the fine-tuning after the layer-wise stage.
   */
  frozen?: boolean;
  /**
   * The stage goes on from weights a checkpoint kept: the top-k schedule's masks are read from
   * the zeros it left (soft thresholds keep none) and pruning goes on from there.
   */
  resumed?: boolean;
}

/**
 * Masks, schedule and proximal maps for the layers of `plans` of graph `g` during one stage.
 * Use: `overrides()` inside the loss (quantization's straight-through weights),
 * `gradientMasks()` for the optimiser step, `rateFactor(i)` for the step size, `project(i, η)`
 * after the step, `finalize()` at the end, `dispose()`.
 */
export class Compressor {
  private layers: LayerState[];

  private constructor(
    g: Graph,
    plans: LayerPlan[],
    private cfg: CompressionConfig,
    private opts: CompressorOptions,
  ) {
    this.layers = plans
      .filter((p) => p.mode !== 'none')
      .map((plan) => {
        const node = nodeById(g, plan.id);
        const kernel = node.weights[plan.groups.weight];
        const full = plan.mode === 'channels' ? plan.groups.channels : kernel.size;
        return { plan, node, kernel, kept: full };
      });
  }

  /**
   * A compressor; with `frozen` (or `resumed` under the top-k schedule), its masks are read from
   * the zeros already in the kernels.
   */
  static async create(
    g: Graph,
    plans: LayerPlan[],
    cfg: CompressionConfig,
    opts: CompressorOptions,
  ): Promise<Compressor> {
    const c = new Compressor(g, plans, cfg, opts);
    if (opts.frozen || (opts.resumed && c.topK)) for (const l of c.layers) await c.freezeZeros(l);
    return c;
  }

  get active(): boolean {
    return this.layers.length > 0;
  }

  private get topK(): boolean {
    return this.cfg.proximal === 'topk-annealed' && !this.opts.frozen;
  }

  /** Weight overrides for forward/applyNode: quantized layers compute with Q(W), straight-through. */
  overrides(): Map<NodeId, Record<string, tf.Tensor>> {
    const out = new Map<NodeId, Record<string, tf.Tensor>>();
    for (const l of this.layers) {
      if (l.plan.mode === 'quantize') {
        out.set(l.plan.id, {
          [l.plan.groups.weight]: quantizeStraightThrough(l.kernel, this.cfg.bits),
        });
      }
    }
    return out;
  }

  /** Gradient (and Adam moment) masks by variable name. */
  gradientMasks(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const l of this.layers) if (l.mask) out.set(l.kernel.name, l.mask);
    return out;
  }

  /** Step-size factor: ×0.1 after the first third for annealed channel pruning (reference code). */
  rateFactor(iter: number): number {
    const channels = this.layers.some((l) => l.plan.mode === 'channels');
    return this.topK && channels && iter > Math.floor(this.opts.iters / 3) ? 0.1 : 1;
  }

  /** The proximal step after the optimiser step of iteration `iter` taken with step size `rate`. */
  async project(iter: number, rate: number): Promise<void> {
    for (const l of this.layers) {
      const { mode } = l.plan;
      if (mode === 'quantize') continue;
      if (this.opts.frozen) {
        if (l.mask) this.applyMask(l);
      } else if (this.cfg.proximal === 'soft-threshold') {
        this.softThreshold(l, rate);
      } else {
        await this.anneal(l, iter);
      }
    }
  }

  /** Writes the final values: quantized layers get their projection Q(W). */
  finalize(): void {
    for (const l of this.layers) {
      if (l.plan.mode === 'quantize') {
        tf.tidy(() => l.kernel.assign(quantizeSymmetric(l.kernel, this.cfg.bits)));
      } else if (l.mask) {
        this.applyMask(l);
      }
    }
  }

  dispose(): void {
    for (const l of this.layers) l.mask?.dispose();
  }

  private view(l: LayerState): tf.Tensor3D {
    const { spatial, channels, out } = l.plan.groups;
    return tf.reshape(l.kernel, [spatial, channels, out]);
  }

  private setMask(l: LayerState, mask: tf.Tensor, kept: number): void {
    l.mask?.dispose();
    l.mask = mask;
    l.kept = kept;
    this.applyMask(l);
  }

  private applyMask(l: LayerState): void {
    tf.tidy(() => l.kernel.assign(tf.mul(l.kernel, l.mask!)));
  }

  /** A kernel-shaped mask from one 0/1 value per input channel. */
  private channelMask(l: LayerState, perChannel: Float32Array): tf.Tensor {
    const { spatial, channels, out } = l.plan.groups;
    return tf.tidy(() =>
      tf.reshape(
        tf.mul(tf.ones([spatial, channels, out]), tf.tensor3d(perChannel, [1, channels, 1])),
        l.kernel.shape,
      ),
    );
  }

  private async anneal(l: LayerState, iter: number): Promise<void> {
    const { mode, groups, targetKeep } = l.plan;
    if (mode === 'channels') {
      const k = annealedChannelKeep(groups.channels, targetKeep, iter, this.opts.iters);
      if (k >= l.kept) return;
      const norms = tf.tidy(() => groupNorms(this.view(l)));
      const scores = await norms.data();
      norms.dispose();
      this.setMask(l, this.channelMask(l, topKMask(scores, k)), k);
    } else {
      const keepRatio = targetKeep / l.kernel.size;
      const k = Math.max(
        targetKeep,
        annealedWeightKeep(l.kernel.size, keepRatio, iter, this.opts.iters),
      );
      if (k >= l.kept) return;
      const mags = tf.tidy(() => tf.abs(l.kernel));
      const scores = await mags.data();
      mags.dispose();
      this.setMask(l, tf.tensor(topKMask(scores, k), l.kernel.shape), k);
    }
  }

  private softThreshold(l: LayerState, rate: number): void {
    const { mode, groups } = l.plan;
    const lambda = this.cfg.lambda;
    tf.tidy(() => {
      if (mode === 'channels') {
        // Group lasso weights each group by √(its size), so λ means the same for any layer shape.
        const t = rate * lambda * Math.sqrt(groups.spatial * groups.out);
        l.kernel.assign(tf.reshape(groupSoftThreshold(this.view(l), t), l.kernel.shape));
      } else {
        l.kernel.assign(softThreshold(l.kernel, rate * lambda));
      }
    });
  }

  /** Masks from the zeros already in the kernel (whole zero groups for channel pruning). */
  private async freezeZeros(l: LayerState): Promise<void> {
    if (l.plan.mode === 'quantize') return;
    const { mask, kept, total } = tf.tidy(() => {
      if (l.plan.mode === 'channels') {
        const alive = tf.cast(tf.greater(groupNorms(this.view(l)), 0), 'float32');
        const { spatial, channels, out } = l.plan.groups;
        const m = tf.reshape(
          tf.mul(tf.ones([spatial, channels, out]), tf.reshape(alive, [1, channels, 1])),
          l.kernel.shape,
        );
        return { mask: m, kept: tf.sum(alive), total: channels };
      }
      const m = tf.cast(tf.notEqual(l.kernel, 0), 'float32');
      return { mask: m, kept: tf.sum(m), total: l.kernel.size };
    });
    const keptCount = (await kept.data())[0];
    kept.dispose();
    if (keptCount === total) {
      mask.dispose();
      return;
    }
    l.mask = mask;
    l.kept = keptCount;
  }
}

/** One row per planned layer: fraction of input channels that are zero (channels) or of zero weights. */
export async function layerSparsity(
  g: Graph,
  plans: LayerPlan[],
): Promise<{ labels: NodeId[]; values: number[] }> {
  const stacked = tf.tidy(() =>
    tf.stack(
      plans.map((p) => {
        const kernel = nodeById(g, p.id).weights[p.groups.weight];
        if (p.mode === 'channels') {
          const { spatial, channels, out } = p.groups;
          const norms = groupNorms(tf.reshape(kernel, [spatial, channels, out]));
          return tf.mean(tf.cast(tf.equal(norms, 0), 'float32'));
        }
        return tf.mean(tf.cast(tf.equal(kernel, 0), 'float32'));
      }),
    ),
  );
  const values = Array.from(await stacked.data());
  stacked.dispose();
  return { labels: plans.map((p) => p.id), values };
}
