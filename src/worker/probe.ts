// A test-only method: it trains nothing, but streams every event kind the page draws (scalars,
// per-layer values, an image grid, an embedding with images and gates, ROC curves, a table) in a
// few seconds, and can fail or crash the worker on request. The worker lists it only when the
// page asks for test methods (`?testing` in the URL), so e2e specs cover charts and failure paths
// without training.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../core/data';
import { layerIds, nodeById } from '../core/graph';
import type { AnyMethodSpec, MethodSpec, ParamValues, RunEvent } from '../core/methods';
import { DivergenceError } from '../core/runtime/errors';
import type { Rng } from '../core/runtime/rng';

const params = {
  stepMs: { kind: 'int', default: 20, min: 0, max: 1000, help: 'Sleep per step (ms).' },
  failAtStep: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 100_000,
    help: 'Throw a DivergenceError (NaN loss) at this step; 0 never does.',
  },
  crashAtStep: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 100_000,
    help: 'Throw an uncaught error in the worker at this step (a crash); 0 never does.',
  },
} as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Clean test images per group: with their FGSM twins, the ~1,500 points of a real run. */
const EMBEDDED = 750;
/** The gated layers of the fake dynamic network and their widths. */
const GATED = { layers: ['conv1', 'conv2', 'fc1'], widths: [8, 16, 16] };
/** The sign noise's size, as a fraction of the pixel range (FGSM's ε). */
const EPSILON = 0.15;

/**
 * What dynamic pruning's decision-feature view streams, made up around real test images: each
 * image clean and with FGSM-like sign noise, fake 2-D coordinates (a cluster per class, attacked
 * images drawn towards the class they are mistaken for), predictions and gate masks with zeros.
 */
function decisionFeatures(test: Dataset, rng: Rng): RunEvent {
  const clean = Math.min(EMBEDDED, test.count);
  const count = 2 * clean;
  const size = test.width * test.height * test.channels;
  const classes = test.numClasses;
  const pixels = new Uint8Array(count * size);
  pixels.set(test.pixels.subarray(0, clean * size));
  for (let i = 0; i < clean * size; i++) {
    pixels[clean * size + i] = Math.min(
      255,
      Math.max(0, pixels[i] + (rng.next() < 0.5 ? -1 : 1) * Math.round(255 * EPSILON)),
    );
  }
  const labels = new Int32Array(count);
  const groups = new Int32Array(count);
  const predictions = new Int32Array(count);
  const points = new Float32Array(2 * count);
  const width = GATED.widths.reduce((a, b) => a + b, 0);
  const values = new Float32Array(count * width);
  const centre = (c: number, r: number) => [
    r * Math.cos((2 * Math.PI * c) / classes),
    r * Math.sin((2 * Math.PI * c) / classes),
  ];
  for (let n = 0; n < count; n++) {
    const attacked = n >= clean;
    const label = test.labels[n % clean];
    const fooled = attacked ? rng.next() < 0.6 : rng.next() < 0.02;
    const predicted = fooled ? (label + 1 + rng.int(classes - 1)) % classes : label;
    [labels[n], groups[n], predictions[n]] = [label, attacked ? 1 : 0, predicted];
    const [x, y] = attacked ? centre(predicted, 2.5) : centre(label, 5);
    points[2 * n] = x + rng.normal(0, 0.6);
    points[2 * n + 1] = y + rng.normal(0, 0.6);
    // A class switches on its own channels; an attack adds stray ones.
    for (let c = 0; c < width; c++) {
      const on = (c + label) % 3 !== 0 || (attacked && rng.next() < 0.4);
      values[n * width + c] = on ? 0.3 + 1.7 * rng.next() : 0;
    }
  }
  return {
    kind: 'embedding',
    key: 'decision-umap',
    step: 0,
    points,
    labels,
    groups,
    groupNames: ['clean', `FGSM ε=${EPSILON}`],
    predictions,
    images: { width: test.width, height: test.height, channels: test.channels, pixels },
    gates: { ...GATED, values },
  };
}

/** ROC curves of two made-up detectors, y = 1 − (1 − x)^k, named with their AUC as core does. */
function rocCurves(): RunEvent {
  const x = Array.from({ length: 21 }, (_, i) => i / 20);
  const curve = (detector: string, k: number) => ({
    name: `${detector} (AUC ${(k / (k + 1)).toFixed(3)})`,
    x,
    y: x.map((v) => 1 - (1 - v) ** k),
  });
  return {
    kind: 'curve',
    key: 'roc/fgsm',
    step: 0,
    xLabel: 'false-positive rate (clean flagged)',
    yLabel: 'true-positive rate (attacks caught)',
    series: [curve('decision features', 8), curve('softmax outputs', 2)],
  };
}

const probe: MethodSpec<typeof params> = {
  id: 'probe',
  title: 'Probe (test only)',
  paper: 'none: exercises the page',
  summary: 'Streams every event kind without training; fails or crashes on request.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'half',
  defaultSteps: 60,
  params,
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student, train } = ctx;
    // Its decision-feature view shows real test images.
    await ctx.test.ensure?.();
    const layers = layerIds(student);
    const pixelsPerImage = train.height * train.width * train.channels;
    for (let step = (ctx.resumeFrom ?? 0) + 1; step <= ctx.steps; step++) {
      await sleep(p.stepMs);
      if (step === p.failAtStep) throw new DivergenceError('loss total', NaN, step);
      if (step === p.crashAtStep) {
        setTimeout(() => {
          throw new Error('probe: simulated worker crash');
        });
      }
      const loss = 2.3 * Math.exp(-step / 20) + 0.05 * ctx.rng.next();
      yield { kind: 'scalar', key: 'loss', step, value: loss };
      yield { kind: 'scalar', key: 'loss/soft', step, value: loss * 0.7 };
      yield { kind: 'progress', step, total: ctx.steps };
      if (step % 10 === 0 || step === ctx.steps) {
        yield { kind: 'scalar', key: 'accuracy/test', step, value: 1 - loss / 2.5 };
        // Real per-layer numbers: the L2 norm of each layer's kernel.
        const values = layers.map((id) =>
          tf.tidy(
            () => tf.norm(nodeById(student, id).weights.kernel).dataSync()[0] * (1 + step / 100),
          ),
        );
        yield { kind: 'layers', key: 'kernel-norm', step, labels: layers, values };
      }
      if (step === 1 || step % 20 === 0) {
        const count = 16;
        const start = (step * count) % (train.count - count);
        const event: RunEvent = {
          kind: 'images',
          key: 'samples',
          step,
          width: train.width,
          height: train.height,
          channels: train.channels,
          pixels: train.pixels.subarray(start * pixelsPerImage, (start + count) * pixelsPerImage),
          captions: Array.from(
            train.labels.subarray(start, start + count),
            (l) => train.classNames[l],
          ),
        };
        yield event;
      }
    }
    yield decisionFeatures(ctx.test, ctx.rng.fork('decision-umap'));
    yield rocCurves();
    yield {
      kind: 'table',
      key: 'per-layer',
      columns: ['layer', 'op'],
      rows: layers.map((id) => [id, nodeById(student, id).op]),
    };
    return { student, metrics: { probeSteps: ctx.steps } };
  },
};

export const TEST_METHODS: readonly AnyMethodSpec[] = [probe as unknown as AnyMethodSpec];
