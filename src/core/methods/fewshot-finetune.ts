import * as tf from '@tensorflow/tfjs';
import { Compressor, planCompression, type CompressionConfig } from '../compress';
import { COMPRESSION_PARAMS, SHOTS_PER_CLASS } from './compression-params';
import {
  fewShotSet,
  fineTuneOnShots,
  layerViews,
  removeChannelsStage,
  subsetAccuracy,
} from './layer-solver';
import { ScheduledAdam } from './optim';
import { ADAM_LEARNING_RATE, type ParamValues } from './params';
import type { MethodSpec, RunEvent } from './types';

const params = {
  shotsPerClass: SHOTS_PER_CLASS,
  learningRate: { ...ADAM_LEARNING_RATE, live: true },
  batchSize: {
    kind: 'int',
    default: 128,
    min: 1,
    max: 1024,
    help: 'Images per step (cyclic over the K shots).',
  },
  weightDecay: {
    kind: 'number',
    default: 5e-4,
    min: 0,
    max: 0.1,
    help: 'L2 weight decay added to the gradient.',
  },
  evalEvery: {
    kind: 'int',
    default: 100,
    min: 1,
    max: 100000,
    help: 'Steps between test accuracy and per-layer views.',
  },
  ...COMPRESSION_PARAMS,
} as const;

/**
 * The "BP" baseline of few-shot compression: train the whole student (a copy of the teacher) with
 * cross-entropy on the K shots by back-propagation, pruning or quantizing it with the same
 * proximal schedule as the layer-wise methods, spread over the run's steps for all layers at
 * once. (`kd` with shotsPerClass is "KD on the K shots".)
 */
export const fewShotFineTune: MethodSpec<typeof params> = {
  id: 'fewshot-finetune',
  title: 'Few-shot fine-tuning (BP)',
  paper: 'Baseline of Bai et al., AAAI 2020, arXiv:1911.09450',
  summary:
    'Compress a copy of the teacher while training it with cross-entropy on K labelled images per class.',
  needs: { teacher: true, data: 'few-shot' },
  defaultStudent: 'copy',
  defaultSteps: 300,
  params,
  // The student holds the weights and, as zeros, the pruning masks; Adam's moments restart.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const cfg: CompressionConfig = p;
    const plans = planCompression(student, cfg);
    const shots = await fewShotSet(ctx, student, p.shotsPerClass);
    const steps = ctx.steps;
    const batchSize = Math.min(p.batchSize, shots.indices.length);
    let metrics: Record<string, number> = {};
    yield {
      kind: 'log',
      level: 'info',
      message: `fewshot-finetune: ${shots.indices.length} training images (K = ${p.shotsPerClass}), ${steps} steps, compression ${p.compression}`,
    } satisfies RunEvent;
    // The student before fine-tuning: the chart's baseline at step 0 (a resumed run has it).
    if (ctx.resumeFrom === undefined) {
      yield {
        kind: 'scalar',
        key: 'accuracy/test',
        step: 0,
        value: await subsetAccuracy(ctx, student),
      };
    }
    try {
      const compressor = await Compressor.create(student, plans, cfg, {
        iters: steps,
        resumed: ctx.resumeFrom !== undefined,
      });
      const optimizer = new ScheduledAdam(p.learningRate);
      try {
        for (let done = ctx.resumeFrom ?? 0; done < steps;) {
          // Up to the next multiple of evalEvery, where an uninterrupted run evaluates too.
          const chunk = Math.min(p.evalEvery - (done % p.evalEvery), steps - done);
          // The compressor's schedule runs over the whole run: offset its iteration counter.
          const offset = done;
          yield* fineTuneOnShots({
            student,
            stepping: ctx.stepping,
            x: shots.x,
            y: shots.y,
            compressor: {
              overrides: () => compressor.overrides(),
              gradientMasks: () => compressor.gradientMasks(),
              rateFactor: (i: number) => compressor.rateFactor(i + offset),
              project: (i: number, rate: number) => compressor.project(i + offset, rate),
            },
            optimizer,
            beforeStep: (s) => ctx.paramsAt(s),
            rate: () => p.learningRate,
            setRate: (r) => optimizer.setLearningRate(r),
            steps: chunk,
            batchSize,
            weightDecay: p.weightDecay,
            batchStatistics: p.batchNorm === 'batch',
            stepOffset: done,
            total: steps,
            phase: 'fine-tune',
            logEvery: Math.max(1, Math.min(10, Math.floor(steps / 50))),
          });
          done += chunk;
          metrics = yield* layerViews(ctx, student, plans, shots.x, done, {
            heldOut: p.heldOutExamples,
            batchStatistics: p.batchNorm === 'batch',
            batchSize,
            stage: 'fitted',
          });
          const acc = await subsetAccuracy(ctx, student);
          yield { kind: 'scalar', key: 'accuracy/test', step: done, value: acc };
        }
        compressor.finalize();
      } finally {
        compressor.dispose();
        optimizer.dispose();
      }
    } finally {
      tf.dispose([shots.x, shots.y]);
    }
    const removed = yield* removeChannelsStage(student, plans, p.bits);
    return { student: removed.graph, metrics: { ...metrics, ...removed.metrics } };
  },
};
