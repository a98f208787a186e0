import * as tf from '@tensorflow/tfjs';

/** Adam whose step size can follow a schedule (tf.AdamOptimizer keeps it protected). */
export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) {
    super(learningRate, beta1, beta2, epsilon);
  }

  get rate(): number {
    return this.learningRate;
  }

  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** Half-cosine decay from `base` to 0 over `total` steps. */
export function cosineRate(base: number, step: number, total: number): number {
  return 0.5 * base * (1 + Math.cos((Math.PI * Math.min(step, total)) / total));
}
