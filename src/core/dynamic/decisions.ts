import * as tf from '@tensorflow/tfjs';
import { forward } from '../graph/forward';
import { nodeById } from '../graph/transforms';
import type { Graph } from '../graph/types';
import { gatedFlops, type FlopsTerm } from './flops';
import type { GatedLayer } from './gates';

/**
 * What a dynamic network decided for each input of a batch, in inference mode (argmax actions):
 * the decision features (every unit's action probabilities, concatenated: Wang et al.'s input
 * to the adversarial detector), the channel masks chosen (the per-input "path"), the FLOPs that
 * path costs, and the logits.
 */
export interface Decisions {
  /** n × Σ actions, each unit's π in `gated` order. */
  features: Float32Array;
  /** n × Σ channels, each unit's chosen mask v = masks[argmax π]. */
  masks: Float32Array;
  /** Multiply-accumulates each input costs when channels with v = 0 are skipped. */
  flops: Float64Array;
  logits: Float32Array;
  /** The chosen action per input and unit, n × units. */
  actions: Int32Array;
}

export async function decide(
  g: Graph,
  gated: GatedLayer[],
  terms: FlopsTerm[],
  x: tf.Tensor,
): Promise<Decisions> {
  const heads = gated.map((u) => u.head!);
  const [features, masks, actions, logits] = tf.tidy(() => {
    const { output, tapped } = forward(g, x, { taps: heads });
    const probs = heads.map((h) => tapped.get(h)!);
    const chosen = probs.map((p) => tf.argMax(p, 1));
    const v = gated.map((u, i) => tf.gather(nodeById(g, u.gate).weights.masks, chosen[i]));
    return [tf.concat(probs, 1), tf.concat(v, 1), tf.stack(chosen, 1), output];
  });
  const n = x.shape[0];
  const out: Decisions = {
    features: (await features.data()) as Float32Array,
    masks: (await masks.data()) as Float32Array,
    actions: Int32Array.from(await actions.data()),
    logits: (await logits.data()) as Float32Array,
    flops: new Float64Array(n),
  };
  tf.dispose([features, masks, actions, logits]);
  const width = gated.reduce((s, u) => s + u.channels, 0);
  const offsets = new Map<string, [number, number]>();
  let at = 0;
  for (const u of gated) {
    offsets.set(u.gate, [at, u.channels]);
    at += u.channels;
  }
  for (let i = 0; i < n; i++) {
    out.flops[i] = gatedFlops(terms, (gate) => {
      const [start, c] = offsets.get(gate)!;
      let on = 0;
      for (let j = 0; j < c; j++) if (out.masks[i * width + start + j] !== 0) on++;
      return on / c;
    });
  }
  return out;
}
