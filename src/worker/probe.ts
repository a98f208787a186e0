// A test-only method: it trains nothing, but streams every event kind the page draws (scalars,
// per-layer values, an image grid, an embedding, a table) in a few seconds, and can fail or
// crash the worker on request. The worker lists it only when the page asks for test methods
// (`?testing` in the URL), so e2e specs cover charts and failure paths without training.
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../core/data';
import { layerIds, nodeById } from '../core/graph';
import type { AnyMethodSpec, MethodSpec, ParamValues, RunEvent } from '../core/methods';
import { DivergenceError } from '../core/runtime/errors';

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

/** 2-D points of real test images (ink in the left half, ink in the top half) by class. */
function embedding(test: Dataset): RunEvent {
  const count = Math.min(300, test.count);
  const { width: w, height: h } = test;
  const points = new Float32Array(2 * count);
  for (let n = 0; n < count; n++) {
    const image = test.pixels.subarray(n * w * h * test.channels, (n + 1) * w * h * test.channels);
    image.forEach((v, i) => {
      const p = Math.floor(i / test.channels);
      if (p % w < w / 2) points[2 * n] += v / 255;
      if (p < (w * h) / 2) points[2 * n + 1] += v / 255;
    });
  }
  const labels = Int32Array.from(test.labels.subarray(0, count));
  return { kind: 'embedding', key: 'ink', step: 0, points, labels };
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
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student, train } = ctx;
    const layers = layerIds(student);
    const pixelsPerImage = train.height * train.width * train.channels;
    for (let step = 1; step <= ctx.steps; step++) {
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
    yield embedding(ctx.test);
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
