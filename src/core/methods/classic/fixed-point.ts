import * as tf from '@tensorflow/tfjs';
import {
  fixedPointRange,
  packBits,
  storedBytes,
  toFixedPoint,
  type FixedPointFormat,
  type Rounding,
} from '../../compress/quantizers';
import { nonZeroParams, trainableVariables } from '../../graph';
import { InvalidInputError } from '../../runtime/errors';
import type { ParamValues } from '../params';
import { oneShot, RETRAIN_PARAMS, resumedPast, retrain, wholeRun } from '../retrain';
import type { MethodSpec } from '../types';

const params = {
  wordLength: {
    kind: 'int',
    default: 16,
    min: 2,
    max: 32,
    help: 'WL: bits per stored parameter (integer + fractional bits).',
  },
  integerBits: {
    kind: 'int',
    default: 2,
    min: 1,
    max: 16,
    help:
      'IL: integer bits including the sign; values saturate to [−2^(IL−1), 2^(IL−1) − 2^−FL]. ' +
      'LeNet-5’s weights lie within ±1, so IL = 2 (⟨2, 14⟩ at 16 bits) loses none.',
  },
  rounding: {
    kind: 'enum',
    default: 'stochastic',
    options: ['stochastic', 'nearest'],
    help:
      'stochastic: round up with probability (x − ⌊x⌋)/ε (unbiased). nearest: updates smaller ' +
      'than half the resolution ε = 2^−FL round back to the old value, so training stalls.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 1e-3 },
} as const;

/**
 * Limited-precision training of Gupta, Agrawal, Gopalakrishnan & Narayanan (ICML 2015,
 * METHODS.md §7.3): every trainable parameter is held in fixed point ⟨IL, FL⟩ — converted once,
 * then after every optimiser step, so it is the update that gets rounded (stochastically or to
 * nearest). Arithmetic stays float32 (the paper's higher-precision accumulation); activations and
 * gradients are not rounded here.
 */
export const fixedPoint: MethodSpec<typeof params> = {
  id: 'fixed-point',
  title: 'Fixed point with stochastic rounding',
  paper: 'Gupta, Agrawal, Gopalakrishnan & Narayanan, ICML 2015, arXiv:1502.02551',
  summary:
    'Train with every weight held in WL-bit fixed point, rounding each update stochastically (or to nearest).',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1000,
  params,
  // The checkpoint's weights are on the fixed-point grid already; nothing else is kept.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const format: FixedPointFormat = {
      integerBits: p.integerBits,
      fractionalBits: p.wordLength - p.integerBits,
    };
    if (format.fractionalBits < 0) {
      throw new InvalidInputError(
        `fixed-point: integerBits (${p.integerBits}) exceeds wordLength (${p.wordLength})`,
        'Give at most as many integer bits as the word has, e.g. --wordLength 16 --integerBits 2.',
      );
    }
    const variables = trainableVariables(student);
    const round = () =>
      tf.tidy(() => {
        for (const v of variables) {
          v.assign(toFixedPoint(v, format, p.rounding as Rounding, ctx.rng.int(2 ** 31)));
        }
      });
    let beforeRetrain: number | undefined;
    if (resumedPast(ctx, 0)) {
      // The rounding stream goes on where the checkpoint left it: one draw per variable for
      // the first rounding and for each step since.
      for (let i = 0; i < (1 + ctx.resumeFrom!) * variables.length; i++) ctx.rng.int(2 ** 31);
    } else {
      beforeRetrain = yield* oneShot(ctx, round);
    }
    yield {
      kind: 'log',
      level: 'info',
      message: `Fixed point ⟨${format.integerBits}, ${format.fractionalBits}⟩: resolution ε = 2^−${format.fractionalBits} = ${fixedPointRange(format).eps.toPrecision(3)}.`,
    };
    yield* retrain({
      ctx,
      student,
      learningRate: () => p.learningRate,
      batchSize: p.batchSize,
      afterStep: round,
      ...wholeRun(ctx, 'fixed-point'),
      evalEvery: p.evalEvery,
    });
    // WL-bit two's-complement words: code = value/ε + 2^(WL−1).
    const { eps } = fixedPointRange(format);
    const encoded = new Map<tf.Variable, number>();
    for (const v of variables) {
      const codes = Array.from(
        await v.data(),
        (x) => Math.round(x / eps) + 2 ** (p.wordLength - 1),
      );
      encoded.set(v, packBits(codes, p.wordLength).byteLength);
    }
    const nonZero = await nonZeroParams(student);
    return {
      student,
      metrics: {
        bits: p.wordLength,
        'encoded-bytes': storedBytes(student, encoded),
        'nonzero-params': nonZero,
        ...(beforeRetrain !== undefined && { 'accuracy/before-retrain': beforeRetrain }),
      },
    };
  },
};
