import * as tf from '@tensorflow/tfjs';
import {
  attackSuccessRate,
  bim,
  carliniWagner,
  deepfool,
  fgsm,
  graphLogits,
  pgd,
  pixelOptions,
  pixelsToInput,
  roc,
  splitTrainTest,
  trainForest,
  trainLogistic,
  umapEmbedAsync,
  type Detector,
} from '../adversarial';
import { toTensors } from '../data';
import { decide, type Decisions, type FlopsTerm, type GatedLayer } from '../dynamic';
import { graphStats, type Graph } from '../graph';
import { assertFinite } from '../runtime/guards';
import type { Rng } from '../runtime/rng';
import type { RunContext, RunEvent } from './types';

export interface AnalysisParams {
  analysisExamples: number;
  epsilon: number;
  pgdSteps: number;
  /** 'linf': FGSM and PGD; 'all': also BIM, DeepFool and C&W. */
  attacks: 'linf' | 'all';
}

/** C&W's budget here: enough to flip nearly every answer of the built-in nets (attacks.test). */
const CW_BUDGET = { steps: 50, searchSteps: 3, learningRate: 0.05 };

/**
 * The detectors fitted on each feature set, clean (0) against one attack's inputs (1): the
 * logistic regression, and a random forest, which also splits on interactions of features.
 */
const DETECTORS: {
  id: string;
  name: string;
  train: (rows: ArrayLike<number>[], labels: number[], rng: Rng) => Detector;
}[] = [
  {
    id: 'logistic',
    name: 'logistic regression',
    train: (rows, labels) => trainLogistic(rows, labels),
  },
  {
    id: 'forest',
    name: 'random forest',
    train: (rows, labels, rng) => trainForest(rows, labels, { rng }),
  },
];

/** n rows of `width` numbers each, as views (no copy). */
function rows(values: Float32Array, n: number): Float32Array[] {
  const width = values.length / n;
  return Array.from({ length: n }, (_, i) => values.subarray(i * width, (i + 1) * width));
}

function softmaxRows(logits: Float32Array, n: number): Float64Array[] {
  return rows(logits, n).map((z) => {
    const max = Math.max(...z);
    const e = Float64Array.from(z, (v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  });
}

function argmaxRows(logits: Float32Array, n: number): Int32Array {
  return Int32Array.from(rows(logits, n), (z) => z.indexOf(Math.max(...z)));
}

/**
 * After training, what Wang et al. read from a dynamic network's decisions (§5.3): on a seeded
 * sample of test images and their attacked versions (FGSM and PGD; with `attacks: 'all'` also
 * BIM, DeepFool and C&W), the decision features (every unit's action probabilities), the FLOPs
 * each input's path costs (per class, clean vs attacked), the attacks' success, detectors of
 * attacked inputs trained on the decision features beside the same detectors on the softmax
 * outputs (the baseline the paper's point must beat), with ROC curves on held-out images, and a
 * UMAP of the decision features. Returns the headline numbers.
 */
export async function* analyseDecisions(
  graph: Graph,
  gated: GatedLayer[],
  terms: FlopsTerm[],
  ctx: RunContext,
  p: AnalysisParams,
): AsyncGenerator<RunEvent, Record<string, number>> {
  const rng = ctx.rng.fork('analysis');
  const n = Math.min(p.analysisExamples, ctx.test.count);
  const indices = Int32Array.from(
    rng.shuffle(Array.from({ length: ctx.test.count }, (_, i) => i)).slice(0, n),
  );
  const teacherFlops = graphStats(ctx.teacher).flops;
  const classNames = ctx.test.classNames;
  await ctx.test.ensure?.(indices);
  const { x: pixels, y } = toTensors(ctx.test, indices, pixelOptions(graph, ctx.test));
  const labels = Int32Array.from(await y.data());
  const logitsOf = graphLogits(graph);
  const pixelsToModel = pixelsToInput(graph);
  const toInput = (u: tf.Tensor4D) => tf.tidy(() => pixelsToModel(u));

  yield { kind: 'progress', step: ctx.steps, total: ctx.steps, phase: 'attacks' };
  const groups: { id: string; name: string; pixels: tf.Tensor4D }[] = [
    { id: 'clean', name: 'clean', pixels },
    { id: 'fgsm', name: `FGSM ε=${p.epsilon}`, pixels: fgsm(logitsOf, pixels, y, p.epsilon) },
    {
      id: 'pgd',
      name: `PGD ε=${p.epsilon}, ${p.pgdSteps} steps`,
      pixels: pgd(logitsOf, pixels, y, {
        epsilon: p.epsilon,
        steps: p.pgdSteps,
        rng: rng.fork('pgd'),
      }),
    },
  ];
  if (p.attacks === 'all') {
    groups.push(
      {
        id: 'bim',
        name: `BIM ε=${p.epsilon}`,
        pixels: bim(logitsOf, pixels, y, { epsilon: p.epsilon }),
      },
      { id: 'deepfool', name: 'DeepFool (L2)', pixels: await deepfool(logitsOf, pixels) },
      { id: 'cw', name: 'C&W (L2)', pixels: await carliniWagner(logitsOf, pixels, y, CW_BUDGET) },
    );
  }
  const decisions: Decisions[] = [];
  const images: Uint8Array[] = [];
  for (const g of groups) {
    const x = toInput(g.pixels);
    const d = await decide(graph, gated, terms, x);
    x.dispose();
    assertFinite(d.features, `decision features of the ${g.name} inputs`);
    assertFinite(d.logits, `logits of the ${g.name} inputs`);
    decisions.push(d);
    const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(g.pixels, 255)), 'int32'));
    images.push(Uint8Array.from(await bytes.data()));
    bytes.dispose();
  }
  tf.dispose([...groups.map((g) => g.pixels), y]);
  yield { kind: 'progress', step: ctx.steps, total: ctx.steps, phase: 'detectors' };

  const metrics: Record<string, number> = {};
  const predictions = decisions.map((d) => argmaxRows(d.logits, n));
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
  const attackRows: (string | number)[][] = [];
  decisions.forEach((d, k) => {
    const correct = predictions[k].reduce((s, c, i) => s + (c === labels[i] ? 1 : 0), 0);
    const row: (string | number)[] = [
      groups[k].name,
      +((100 * correct) / n).toFixed(2),
      +((100 * mean(d.flops)) / teacherFlops).toFixed(2),
    ];
    if (k > 0) {
      const success = attackSuccessRate(predictions[0], predictions[k], labels);
      row.push(+(100 * success.rate).toFixed(2));
      metrics[`attack-success/${groups[k].id}`] = success.rate;
    } else row.push('');
    attackRows.push(row);
  });
  yield {
    kind: 'table',
    key: 'attacks',
    columns: ['inputs', 'accuracy %', 'mean FLOPs % of teacher', 'attack success %'],
    rows: attackRows,
  };

  // Mean FLOPs per true class on clean inputs: which classes take cheaper paths.
  yield {
    kind: 'layers',
    key: 'flops-per-class',
    step: 0,
    labels: classNames.slice(),
    values: classNames.map((_, c) => {
      const of = Array.from(decisions[0].flops).filter((_, i) => labels[i] === c);
      return of.length ? mean(of) / teacherFlops : 0;
    }),
  };

  // Detectors: clean (0) vs one attack (1), trained on half the images, scored on the others.
  const features = [
    { id: 'decision', name: 'decision features', of: (d: Decisions) => rows(d.features, n) },
    { id: 'softmax', name: 'softmax outputs', of: (d: Decisions) => softmaxRows(d.logits, n) },
  ];
  const aucRows: (string | number)[][] = [];
  for (let k = 1; k < groups.length; k++) {
    const attack = groups[k].id;
    const split = splitTrainTest(n, 0.5, rng.fork(`split-${k}`), 2);
    const label = (i: number) => (i < n ? 0 : 1);
    const series: { name: string; x: number[]; y: number[] }[] = [];
    const row: (string | number)[] = [groups[k].name];
    for (const detector of DETECTORS) {
      for (const set of features) {
        const all = [...set.of(decisions[0]), ...set.of(decisions[k])];
        const fitted = detector.train(
          Array.from(split.train, (i) => all[i]),
          Array.from(split.train, label),
          rng.fork(`${detector.id}-${attack}-${set.id}`),
        );
        const scores = fitted.score(Array.from(split.test, (i) => all[i]));
        const curve = roc(scores, Array.from(split.test, label));
        row.push(+curve.auc.toFixed(4));
        series.push({
          name: `${set.name}, ${detector.name} (AUC ${curve.auc.toFixed(3)})`,
          x: curve.fpr,
          y: curve.tpr,
        });
        // The logistic detector keeps the metric names runs were saved with.
        const prefix = detector.id === 'logistic' ? 'auc' : `auc-${detector.id}`;
        metrics[`${prefix}/${attack}/${set.id}`] = curve.auc;
      }
    }
    aucRows.push(row);
    yield {
      kind: 'curve',
      key: `roc/${attack}`,
      step: 0,
      xLabel: 'false-positive rate (clean flagged)',
      yLabel: 'true-positive rate (attacks caught)',
      series,
    };
  }
  yield {
    kind: 'table',
    key: 'detector-auc',
    columns: [
      'attack',
      ...DETECTORS.flatMap((d) => features.map((f) => `AUC, ${d.name} on ${f.name}`)),
    ],
    rows: aucRows,
  };
  yield { kind: 'progress', step: ctx.steps, total: ctx.steps, phase: 'UMAP' };

  const points = await umapEmbedAsync(
    decisions.flatMap((d) => rows(d.features, n)),
    { rng: rng.fork('umap'), nEpochs: 200 },
  );
  const [h, w, c] = graph.inputShape;
  const widths = gated.map((u) => u.channels);
  const concat = <T extends Int32Array | Uint8Array | Float32Array>(
    parts: T[],
    make: new (n: number) => T,
  ) => {
    const out = new make(parts.reduce((s, a) => s + a.length, 0));
    parts.reduce((at, a) => (out.set(a, at), at + a.length), 0);
    return out;
  };
  yield {
    kind: 'embedding',
    key: 'decision-umap',
    step: 0,
    points,
    labels: concat(
      groups.map(() => labels),
      Int32Array,
    ),
    groups: Int32Array.from({ length: groups.length * n }, (_, i) => Math.floor(i / n)),
    groupNames: groups.map((g) => g.name),
    predictions: concat(predictions, Int32Array),
    images: { width: w, height: h, channels: c, pixels: concat(images, Uint8Array) },
    gates: {
      layers: gated.map((u) => u.layer),
      widths,
      values: concat(
        decisions.map((d) => d.masks),
        Float32Array,
      ),
    },
  };
  return metrics;
}
