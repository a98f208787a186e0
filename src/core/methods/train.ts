import * as tf from '@tensorflow/tfjs';

import { softmaxCrossEntropy } from '../runtime/cross-entropy';
import { batches, type Batch, type Dataset } from '../data';
import type { Graph } from '../graph';
import { accuracy, inputOptions } from '../metrics';
import { assertFinite } from '../runtime/guards';
import { maskedStep } from './masked-step';
import type { Rng } from '../runtime/rng';
import type { RunEvent } from './types';

export interface TrainLoopOptions {
  graph: Graph;
  data: Dataset;
  /** Examples to draw batches from (e.g. the K-shot set); default: the whole dataset. */
  indices?: ArrayLike<number>;
  test: Dataset;
  /** Subset of the test set for the accuracy curve during training (the final number uses all). */
  testIndices?: ArrayLike<number>;
  steps: number;
  batchSize: number;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  rng: Rng;
  /** The loss of one batch, as named terms; `total` is minimised, all are charted. */
  loss(batch: Batch): Record<string, tf.Scalar> & { total: tf.Scalar };
  /** Runs before every optimiser step, with the step as events number it (live parameters). */
  beforeStep?(step: number): void;
  /**
   * 0/1 masks by variable name for this step's gradients and Adam moments (pruned weights stay
   * exactly zero; maskedStep), read before every step.
   */
  masks?: () => ReadonlyMap<string, tf.Tensor>;
  /** L2 weight decay added to every gradient (maskedStep). */
  weightDecay?: number;
  /** Runs after every optimiser step (e.g. a proximal map or re-masking). */
  afterStep?(step: number): void;
  logEvery?: number;
  /** RunContext.stepping: when true, every step is logged. */
  stepping?: () => boolean;
  evalEvery?: number;
  /** Also measure test accuracy before the first step: where the curve starts. */
  evalAtStart?: boolean;
  /**
   * Steps of this loop done before (a run resumed from a checkpoint): it runs the rest, logging
   * and evaluating on the same steps as an uninterrupted run; its curve has its start already.
   */
  resumeFrom?: number;
  /** Steps of earlier phases of the run: events count on from there. */
  stepOffset?: number;
  /** The run's whole budget, for progress; default stepOffset + steps. */
  total?: number;
  /** The progress phase's name; also prefixes the loss keys (`<phase>/loss`) when given. */
  phase?: string;
  /** Keep the loss keys plain (`loss`) under a phase: one loss chart across a run's stages. */
  plainLossKeys?: boolean;
}

/** Mean cross-entropy of `logits` against integer class `labels`. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]!);
  return softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
}

/**
 * One tidied optimiser step on a loss made of named terms. Returns the terms stacked (one read
 * for all of them) when `read` is set; nothing else survives the step.
 */
export function optimizerStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: () => Record<string, tf.Scalar> & { total: tf.Scalar },
  read: boolean,
): { names: string[]; values: tf.Tensor1D } | undefined {
  let names: string[] = [];
  let values: tf.Tensor1D | undefined;
  tf.tidy(() => {
    optimizer.minimize(
      () => {
        const named = loss();
        names = Object.keys(named);
        // minimize runs this in its own tidy, which disposes every term but the returned total:
        // stack the terms here, and keep the stack past both tidies for the caller to read.
        if (read) values = tf.keep(tf.stack(Object.values(named)) as tf.Tensor1D);
        return named.total;
      },
      false,
      variables,
    );
  });
  return values && { names, values };
}

/**
 * The mini-batch loop most methods share: seeded shuffles epoch after epoch, one tidied
 * optimiser step per batch, losses read back only every `logEvery` steps (a read is a GPU sync),
 * a NaN check on every read, test accuracy every `evalEvery` steps (and at step 0 if asked).
 */
export async function* trainLoop(
  o: TrainLoopOptions,
): AsyncGenerator<RunEvent, Record<string, number>> {
  const logEvery = o.logEvery ?? 25;
  const evalEvery = o.evalEvery ?? 250;
  const offset = o.stepOffset ?? 0;
  const total = o.total ?? offset + o.steps;
  const prefix = o.phase && !o.plainLossKeys ? `${o.phase}/` : '';
  const shuffle = o.rng.fork('batches');
  const last: Record<string, number> = {};
  const evaluate = async function* (step: number): AsyncGenerator<RunEvent> {
    const acc = await accuracy(o.graph, o.test, { indices: o.testIndices });
    last.testAccuracy = acc;
    yield { kind: 'scalar', key: 'accuracy/test', step: offset + step, value: acc };
  };
  if (o.evalAtStart && o.resumeFrom === undefined) yield* evaluate(0);
  let step = o.resumeFrom ?? 0;
  // A resumed loop shuffles through the epochs it had done and passes over the batches it had
  // drawn, so it trains on the batches an uninterrupted run would.
  const perEpoch = Math.ceil((o.indices?.length ?? o.data.count) / o.batchSize);
  let skip = step;
  while (step < o.steps) {
    const skipNow = Math.min(skip, perEpoch);
    skip -= skipNow;
    for (const batch of batches(o.data, {
      ...inputOptions(o.graph, o.data),
      batchSize: o.batchSize,
      indices: o.indices,
      rng: shuffle,
      skip: skipNow,
    })) {
      step++;
      o.beforeStep?.(offset + step);
      const logNow = step % logEvery === 0 || step === o.steps || o.stepping?.() === true;
      const loss = () => o.loss(batch);
      const terms =
        o.masks || o.weightDecay
          ? maskedStep(o.optimizer, o.variables, loss, {
              masks: o.masks?.(),
              weightDecay: o.weightDecay,
              read: logNow,
            })
          : optimizerStep(o.optimizer, o.variables, loss, logNow);
      tf.dispose([batch.x, batch.y]);
      o.afterStep?.(step);
      if (terms) {
        const values = await terms.values.data();
        terms.values.dispose();
        for (const [i, name] of terms.names.entries()) {
          assertFinite(values[i], `loss ${name}`, step);
          last[name] = values[i];
          yield {
            kind: 'scalar',
            key: `${prefix}${name === 'total' ? 'loss' : `loss/${name}`}`,
            step: offset + step,
            value: values[i],
          };
        }
        yield { kind: 'progress', step: offset + step, total, ...(o.phase && { phase: o.phase }) };
      }
      if (step % evalEvery === 0 || step === o.steps) yield* evaluate(step);
      if (step >= o.steps) break;
    }
  }
  return last;
}
