import { graphStats } from '../graph/shapes';
import { nodeById } from '../graph/transforms';
import type { Graph, NodeId } from '../graph/types';
import { PER_CHANNEL } from './gates';

/**
 * FLOPs of a gated network when some channels are off. A conv or dense layer's
 * multiply-accumulates are proportional to its input and output channel counts, so a layer
 * costs its full FLOPs × (fraction of input channels on) × (fraction of output channels on),
 * each fraction read from the gate on that side. The same terms serve a static keep-count
 * (pruning from scratch's budget search) and per-input masks (dynamic pruning, where a channel
 * whose mask entry is exactly 0 need not be computed).
 */
export interface FlopsTerm {
  node: NodeId;
  flops: number;
  /** The gate whose channels this layer reads, if any. */
  inGate?: NodeId;
  /** The gate on this layer's output channels, if any. */
  outGate?: NodeId;
}

export function flopsTerms(g: Graph): FlopsTerm[] {
  return graphStats(g)
    .nodes.filter((s) => s.flops > 0)
    .map((s) => {
      const node = nodeById(g, s.id);
      const term: FlopsTerm = { node: s.id, flops: s.flops };
      if (node.op === 'decisionHead') return term; // its cost is paid whatever is chosen
      let at = node.inputs[0];
      for (;;) {
        const n = nodeById(g, at);
        if (n.op === 'channelGate' || n.op === 'decisionMask') {
          term.inGate = at;
          break;
        }
        if (!PER_CHANNEL.has(n.op)) break;
        at = n.inputs[0];
      }
      let out = s.id;
      for (;;) {
        const next = g.nodes.filter((n) => n.inputs.includes(out) && n.op !== 'decisionHead');
        if (next.length !== 1) break;
        if (next[0].op === 'channelGate' || next[0].op === 'decisionMask') {
          term.outGate = next[0].id;
          break;
        }
        if (next[0].op !== 'batchNorm') break;
        out = next[0].id;
      }
      return term;
    });
}

/** FLOPs with `fraction(gate)` of each gate's channels on. */
export function gatedFlops(terms: FlopsTerm[], fraction: (gate: NodeId) => number): number {
  return terms.reduce(
    (sum, t) =>
      sum + t.flops * (t.inGate ? fraction(t.inGate) : 1) * (t.outGate ? fraction(t.outGate) : 1),
    0,
  );
}

export interface BudgetedKeep {
  /** Channels kept per gate, ascending. */
  keep: Map<NodeId, number[]>;
  flops: number;
  /** Channels kept in all. */
  kept: number;
  /** False when even one channel per layer exceeds the budget (then one is kept anyway). */
  withinBudget: boolean;
}

/**
 * Global ranking with a budget (Pruning from Scratch's `prune_model.py`): keep the k
 * highest-scoring channels over all gates, at least one per layer, with the largest k whose
 * FLOPs stay within `budget`. The reference bisects on a continuous ratio to a 1e-3 tolerance;
 * FLOPs grow with k, so bisection on the integer k finds the exact largest k — the budget is
 * met within one channel.
 */
export function budgetedKeep(
  scores: ReadonlyMap<NodeId, ArrayLike<number>>,
  terms: FlopsTerm[],
  budget: number,
): BudgetedKeep {
  const ranked: { gate: NodeId; channel: number; score: number }[] = [];
  for (const [gate, s] of scores) {
    for (let c = 0; c < s.length; c++) ranked.push({ gate, channel: c, score: s[c] });
  }
  // Highest first; ties to the earlier gate and channel, so the result is deterministic.
  ranked.sort((a, b) => b.score - a.score);
  const keepAt = (k: number) => {
    const keep = new Map<NodeId, number[]>([...scores.keys()].map((gate) => [gate, []]));
    for (const r of ranked.slice(0, k)) keep.get(r.gate)!.push(r.channel);
    for (const [gate, list] of keep) {
      if (list.length === 0) list.push(ranked.find((r) => r.gate === gate)!.channel);
      list.sort((a, b) => a - b);
    }
    return keep;
  };
  const flopsAt = (keep: Map<NodeId, number[]>) =>
    gatedFlops(terms, (gate) =>
      keep.has(gate) ? keep.get(gate)!.length / scores.get(gate)!.length : 1,
    );
  let lo = 0;
  let hi = ranked.length;
  if (flopsAt(keepAt(hi)) <= budget) lo = hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (flopsAt(keepAt(mid)) <= budget) lo = mid;
    else hi = mid;
  }
  const keep = keepAt(lo);
  const flops = flopsAt(keep);
  const kept = [...keep.values()].reduce((n, l) => n + l.length, 0);
  return { keep, flops, kept, withinBudget: flops <= budget };
}
