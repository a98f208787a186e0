import * as tf from '@tensorflow/tfjs';
import {
  channelPruneBlocker,
  disposeGraph,
  nodeById,
  pruneChannels,
  type Graph,
  type NodeId,
} from '../graph';
import type { LayerPlan } from './compressor';
import { groupNorms } from './proximal';

export interface RemovalReport {
  /** The smaller graph (or `g` itself when nothing could be removed). */
  graph: Graph;
  /** Input channels kept per channel-pruned layer (indices into the layer's original inputs). */
  kept: Map<NodeId, number[]>;
  /** One line per layer: what was removed, or why its zero channels stay. */
  notes: string[];
}

/**
 * Physically removes every input channel whose group is all zero, layer by layer, with
 * `pruneChannels` (the producing layer loses the matching filters, BatchNorm entries in between
 * too). Where a channel cannot be removed (it feeds a residual add, or the layer reads the
 * image) its zeros stay and a note says why. Returns a new graph; `g` is left to the caller.
 */
export async function removePrunedChannels(g: Graph, plans: LayerPlan[]): Promise<RemovalReport> {
  let graph = g;
  const kept = new Map<NodeId, number[]>();
  const notes: string[] = [];
  for (const plan of plans) {
    if (plan.mode !== 'channels') continue;
    const { spatial, channels, out } = plan.groups;
    const norms = tf.tidy(() =>
      groupNorms(tf.reshape(nodeById(graph, plan.id).weights.kernel, [spatial, channels, out])),
    );
    const values = await norms.data();
    norms.dispose();
    const keep: number[] = [];
    values.forEach((n, c) => {
      if (n > 0) keep.push(c);
    });
    if (keep.length === channels) {
      kept.set(plan.id, keep);
      continue;
    }
    if (keep.length === 0) {
      keep.push(0); // a layer must read something: keep one (zero) channel
      notes.push(`${plan.id}: every input channel is zero; one zero channel kept`);
    }
    const blocker = channelPruneBlocker(graph, plan.id);
    if (blocker) {
      notes.push(
        `${plan.id}: ${channels - keep.length} zero input channels kept as zeros (${blocker})`,
      );
      kept.set(
        plan.id,
        Array.from({ length: channels }, (_, c) => c),
      );
      continue;
    }
    const next = pruneChannels(graph, plan.id, keep);
    if (graph !== g) disposeGraph(graph);
    graph = next;
    kept.set(plan.id, keep);
    notes.push(`${plan.id}: removed ${channels - keep.length} of ${channels} input channels`);
  }
  return { graph, kept, notes };
}
