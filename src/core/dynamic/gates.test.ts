import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeGraph, forward, graphStats, nodeById, type Graph } from '../graph';
import { applyNode } from '../graph/ops';
import type { GraphNode } from '../graph/types';
import { loadGraph, serializeGraph } from '../io/load';
import { initBackend } from '../runtime/backend';
import { Rng } from '../runtime/rng';
import { loadTeacher } from '../zoo';
import { decide } from './decisions';
import { budgetedKeep, flopsTerms, gatedFlops } from './flops';
import { gatedLayers, insertGates, pruneGatedChannels, removeGates } from './gates';

let teacher: Graph;
let x: tf.Tensor4D;

beforeAll(async () => {
  await initBackend('wasm');
  teacher = await loadTeacher('bnnet-mnist');
  x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 3);
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const logits = (g: Graph) => tf.tidy(() => forward(g, x).output);

describe('channel gates', () => {
  it('Gumbel straight-through: the forward value is one-hot, the gradient is the soft relaxation’s', () => {
    const node = {
      id: 's',
      op: 'gumbelSelect',
      inputs: ['p'],
      attrs: {},
      weights: {},
    } as GraphNode;
    const probs = tf.softmax(tf.randomNormal([5, 7], 0, 1, 'float32', 1)) as tf.Tensor2D;
    const c = tf.randomNormal([5, 7], 0, 1, 'float32', 2);
    const tau = 0.7;
    const opts = { training: true, updateBatchNormStats: false, gumbelTemperature: tau };
    const hard = applyNode(node, [probs], { ...opts, nextSeed: () => 42 });
    const rowsAreOneHot = tf.tidy(() =>
      tf.logicalAnd(
        tf.all(tf.logicalOr(tf.equal(hard, 0), tf.equal(hard, 1))),
        tf.all(tf.equal(tf.sum(hard, 1), 1)),
      ),
    );
    expect(rowsAreOneHot.dataSync()[0]).toBe(1);
    // The relaxation with the same noise: softmax((log π + g) / τ).
    const soft = (p: tf.Tensor) => {
      const u = tf.randomUniform(p.shape, 1e-10, 1 - 1e-6, 'float32', 42);
      return tf.softmax(tf.div(tf.add(tf.log(p), tf.neg(tf.log(tf.neg(tf.log(u))))), tau));
    };
    // The sample's arg-max is the relaxation's.
    expect(maxDiff(tf.argMax(hard, 1), tf.argMax(soft(probs), 1))).toBe(0);
    const viaHard = tf.grad((p: tf.Tensor) =>
      tf.sum(tf.mul(c, applyNode(node, [p], { ...opts, nextSeed: () => 42 }))),
    )(probs);
    const viaSoft = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(c, soft(p))))(probs);
    expect(maxDiff(viaHard, viaSoft)).toBeLessThan(1e-5);
    // Inference is deterministic: the arg-max of π.
    const argmax = applyNode(node, [probs], { training: false, updateBatchNormStats: false });
    expect(maxDiff(tf.argMax(argmax, 1), tf.argMax(probs, 1))).toBe(0);
    tf.dispose([probs, c, hard, rowsAreOneHot, viaHard, viaSoft, argmax]);
  });

  it('inserted gates start as identities; dynamic units skip the conv reading the image; the file round-trips', async () => {
    const dyn = insertGates(teacher, { kind: 'dynamic', actions: 5 }, 1);
    const stat = insertGates(teacher, { kind: 'static' }, 1);
    expect(dyn.gated.map((u) => u.layer)).toEqual(['conv2', 'conv3', 'conv4', 'conv5']);
    expect(stat.gated.map((u) => u.layer)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
    expect(gatedLayers(dyn.graph)).toEqual(dyn.gated);
    const ref = logits(teacher);
    for (const g of [dyn.graph, stat.graph]) {
      const y = logits(g);
      expect(maxDiff(y, ref)).toBeLessThan(1e-4);
      y.dispose();
    }
    const files = await serializeGraph(dyn.graph);
    const back = await loadGraph(files.modelJson, async () => files.weightData);
    const a = logits(dyn.graph);
    const b = logits(back);
    expect(maxDiff(a, b)).toBe(0);
    tf.dispose([ref, a, b]);
    [dyn.graph, stat.graph, back].forEach(disposeGraph);
  });

  it('static gates fold into the layers; pruning zero-gated channels keeps the function and its FLOPs are the gated count', () => {
    const { graph, gated } = insertGates(teacher, { kind: 'static' }, 1);
    const rng = new Rng(5, ['gates']);
    const keep = new Map<string, number[]>();
    for (const u of gated) {
      const values = Array.from({ length: u.channels }, () => rng.next());
      const kept = values.map((_, c) => c).filter((c) => c % 3 !== 0);
      kept.forEach((c) => (values[c] += 0.1));
      for (let c = 0; c < u.channels; c++) if (!kept.includes(c)) values[c] = 0;
      nodeById(graph, u.gate).weights.gate.assign(tf.tensor1d(values));
      keep.set(u.gate, kept);
    }
    const gatedOut = logits(graph);
    const folded = removeGates(graph);
    expect(folded.nodes.some((n) => n.op === 'channelGate')).toBe(false);
    const foldedOut = logits(folded);
    expect(maxDiff(foldedOut, gatedOut)).toBeLessThan(1e-4);

    const pruned = pruneGatedChannels(graph, keep);
    const prunedOut = logits(pruned);
    expect(maxDiff(prunedOut, gatedOut)).toBeLessThan(1e-4);
    const fraction = (gate: string) =>
      keep.get(gate)!.length / gated.find((u) => u.gate === gate)!.channels;
    expect(graphStats(pruned).flops).toBeCloseTo(gatedFlops(flopsTerms(graph), fraction), 6);
    expect(graphStats(pruned).flops).toBeLessThan(graphStats(teacher).flops * 0.6);
    tf.dispose([gatedOut, foldedOut, prunedOut]);
    [graph, folded, pruned].forEach(disposeGraph);
  });

  it('the budget search keeps the best channels globally and meets the FLOPs budget within one channel', () => {
    const { graph, gated } = insertGates(teacher, { kind: 'static' }, 1);
    const terms = flopsTerms(graph);
    const full = gatedFlops(terms, () => 1);
    const rng = new Rng(8, ['scores']);
    const scores = new Map(
      gated.map((u) => [u.gate, Float32Array.from({ length: u.channels }, () => rng.next())]),
    );
    const fraction = (keep: Map<string, number[]>) => (gate: string) =>
      keep.get(gate)!.length / scores.get(gate)!.length;
    for (const ratio of [0.3, 0.5, 0.7]) {
      const budget = ratio * full;
      const r = budgetedKeep(scores, terms, budget);
      expect(r.withinBudget).toBe(true);
      expect(r.flops).toBeLessThanOrEqual(budget);
      // Every kept channel outranks every dropped one (no layer was down to its last channel).
      const keptScores = gated.flatMap((u) =>
        r.keep.get(u.gate)!.map((c) => scores.get(u.gate)![c]),
      );
      const dropped = gated.flatMap((u) =>
        [...scores.get(u.gate)!.keys()]
          .filter((c) => !r.keep.get(u.gate)!.includes(c))
          .map((c) => ({ gate: u.gate, c, s: scores.get(u.gate)![c] })),
      );
      const best = dropped.reduce((a, b) => (b.s > a.s ? b : a));
      expect(Math.min(...keptScores)).toBeGreaterThanOrEqual(best.s);
      // One channel more — the best dropped one — would break the budget.
      const more = new Map([...r.keep].map(([g, l]) => [g, [...l]]));
      more.get(best.gate)!.push(best.c);
      expect(gatedFlops(terms, fraction(more))).toBeGreaterThan(budget);
    }
    // A budget below one channel per layer keeps one each and says so.
    const tiny = budgetedKeep(scores, terms, 1);
    expect(tiny.withinBudget).toBe(false);
    expect([...tiny.keep.values()].every((l) => l.length === 1)).toBe(true);
    disposeGraph(graph);
  });

  it('a dynamic network’s FLOPs per input count only the channels its chosen masks keep', async () => {
    const { graph, gated } = insertGates(teacher, { kind: 'dynamic', actions: 3 }, 1);
    // Every action's mask switches off the same half of the channels.
    for (const u of gated) {
      const row = Array.from({ length: u.channels }, (_, c) => (c % 2 === 0 ? 1 : 0));
      nodeById(graph, u.gate).weights.masks.assign(tf.tensor2d([row, row, row]));
    }
    const terms = flopsTerms(graph);
    const d = await decide(graph, gated, terms, x);
    const heads = graphStats(graph).nodes.filter((n) => n.op === 'decisionHead');
    const expected = gatedFlops(terms, () => 0.5);
    expect(heads.length).toBe(4);
    expect(d.flops.every((f) => Math.abs(f - expected) < 1e-6)).toBe(true);
    expect(expected).toBeLessThan(graphStats(teacher).flops * 0.6);
    expect(d.features.length).toBe(6 * 4 * 3);
    expect(d.masks.length).toBe(6 * gated.reduce((s, u) => s + u.channels, 0));
    disposeGraph(graph);
  });
});
