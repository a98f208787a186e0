import * as tf from '@tensorflow/tfjs';
import { ScheduledAdam } from './optim';

export interface MaskedStepOptions {
  /** 0/1 masks by variable name: the gradient (and Adam's moments) are multiplied by them. */
  masks?: ReadonlyMap<string, tf.Tensor>;
  /** L2 weight decay added to every gradient, PyTorch SGD style: g + wd·w. */
  weightDecay?: number;
  /** Return the loss terms stacked (one read for all of them). */
  read: boolean;
}

/**
 * One tidied optimiser step on a loss made of named terms, with masked gradients: the pruning
 * step of Cross Distillation's reference code (`grad *= mask`, Adam's `exp_avg *= mask`,
 * `exp_avg_sq *= mask`, then `opt.step()`), so pruned weights stay exactly zero. Nothing but the
 * returned stack survives the step.
 */
export function maskedStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  loss: () => Record<string, tf.Scalar> & { total: tf.Scalar },
  opts: MaskedStepOptions,
): { names: string[]; values: tf.Tensor1D } | undefined {
  let names: string[] = [];
  let values: tf.Tensor1D | undefined;
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const named = loss();
      names = Object.keys(named);
      // variableGrads tidies this closure: keep the stacked terms for the caller to read.
      if (opts.read) values = tf.keep(tf.stack(Object.values(named)) as tf.Tensor1D);
      return named.total;
    }, variables);
    const wd = opts.weightDecay ?? 0;
    for (const v of variables) {
      let g = grads[v.name];
      if (!g) continue;
      if (wd > 0) g = tf.add(g, tf.mul(v, wd));
      const mask = opts.masks?.get(v.name);
      if (mask) g = tf.mul(g, mask);
      grads[v.name] = g;
    }
    // Not `instanceof`: tf.Optimizer answers it by duck typing, true for every optimizer.
    if (opts.masks && opts.masks.size > 0 && optimizer.constructor === ScheduledAdam) {
      (optimizer as ScheduledAdam).maskMoments(opts.masks);
    }
    optimizer.applyGradients(grads);
  });
  return values && { names, values };
}
