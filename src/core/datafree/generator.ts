/**
 * The DAFL generator (Chen et al., ICCV 2019; the reference code's `Generator`), which generative
 * moment matching also uses (Luo et al. 2020 keep its structure and its odd BatchNorm epsilons):
 *
 *   z → dense → [s/4, s/4, W] → BN → ×2 nearest → conv3×3 W → BN(ε 0.8) → LeakyReLU 0.2
 *     → ×2 nearest → conv3×3 W/2 → BN(ε 0.8) → LeakyReLU 0.2 → conv3×3 C → tanh → BN(no affine)
 *
 * W = 128 in the paper. The last BatchNorm standardises every output channel over the batch, so
 * samples live in the teacher's normalised input domain, not in [0, 1] pixels. The generator
 * always runs on batch statistics (the reference never uses its moving averages), so it keeps
 * none. A `classes` > 0 generator is class-conditional: z is concatenated with the label's one-hot.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidInputError } from '../runtime/errors';
import { batchNormTraining } from '../runtime/batch-norm';
import type { Rng } from '../runtime/rng';

export interface GeneratorConfig {
  latentDim: number;
  /** Output image, NHWC without the batch: the teacher's input shape. */
  height: number;
  width: number;
  channels: number;
  /** Channels of the first stage (the second has half): 128 in DAFL. */
  base: number;
  /** > 0: condition on a class label (one-hot concatenated to z). */
  classes?: number;
}

interface Layer {
  kernel: tf.Variable;
  bias: tf.Variable;
}

interface Norm {
  gamma: tf.Variable;
  beta: tf.Variable;
}

export class Generator {
  readonly config: GeneratorConfig;
  private readonly fc: Layer;
  private readonly norm0: Norm;
  private readonly conv1: Layer;
  private readonly norm1: Norm;
  private readonly conv2: Layer;
  private readonly norm2: Norm;
  private readonly conv3: Layer;

  constructor(config: GeneratorConfig, rng: Rng) {
    const { height, width, channels, latentDim, base } = config;
    if (height % 4 !== 0 || width % 4 !== 0) {
      throw new InvalidInputError(
        `The generator upsamples twice by 2, so it makes images whose sides are multiples of 4; the teacher takes ${height}×${width}`,
        'Use a teacher with a 28×28 or 32×32 input.',
      );
    }
    this.config = config;
    const inputs = latentDim + (config.classes ?? 0);
    const [h0, w0] = [height / 4, width / 4];
    const half = Math.max(1, Math.floor(base / 2));
    this.fc = layer([inputs, h0 * w0 * base], inputs, rng.fork('fc'));
    this.norm0 = norm(base);
    this.conv1 = layer([3, 3, base, base], 9 * base, rng.fork('conv1'));
    this.norm1 = norm(base);
    this.conv2 = layer([3, 3, base, half], 9 * base, rng.fork('conv2'));
    this.norm2 = norm(half);
    this.conv3 = layer([3, 3, half, channels], 9 * half, rng.fork('conv3'));
  }

  /** Images [n, h, w, c] for latents z [n, latentDim] (and labels [n] when conditional). */
  generate(z: tf.Tensor2D, labels?: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      const { height, width, base, classes } = this.config;
      let input: tf.Tensor2D = z;
      if (classes) {
        if (!labels) throw new Error('a class-conditional generator needs labels');
        input = tf.concat(
          [z, tf.oneHot(tf.cast(labels, 'int32'), classes).toFloat() as tf.Tensor2D],
          1,
        );
      }
      const n = z.shape[0];
      let x: tf.Tensor4D = tf.reshape(dense(input, this.fc), [n, height / 4, width / 4, base]);
      x = batchNorm(x, this.norm0, 1e-5);
      x = upsample(x);
      x = tf.leakyRelu(batchNorm(conv(x, this.conv1), this.norm1, 0.8), 0.2);
      x = upsample(x);
      x = tf.leakyRelu(batchNorm(conv(x, this.conv2), this.norm2, 0.8), 0.2);
      return batchNorm(tf.tanh(conv(x, this.conv3)), undefined, 1e-5);
    });
  }

  get variables(): tf.Variable[] {
    const layers = [this.fc, this.conv1, this.conv2, this.conv3];
    const norms = [this.norm0, this.norm1, this.norm2];
    return [
      ...layers.flatMap((l) => [l.kernel, l.bias]),
      ...norms.flatMap((b) => [b.gamma, b.beta]),
    ];
  }

  get parameterCount(): number {
    return this.variables.reduce((sum, v) => sum + v.size, 0);
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** PyTorch's default init for Linear and Conv2d: weights and bias uniform in ±1/√fan_in. */
function layer(shape: number[], fanIn: number, rng: Rng): Layer {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kernel: variable(tf.randomUniform(shape, -bound, bound, 'float32', rng.seedForTf())),
    bias: variable(
      tf.randomUniform([shape[shape.length - 1]], -bound, bound, 'float32', rng.seedForTf()),
    ),
  };
}

function norm(channels: number): Norm {
  return { gamma: variable(tf.ones([channels])), beta: variable(tf.zeros([channels])) };
}

/** A trainable variable holding `initial`, which is disposed (the variable keeps its buffer). */
function variable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial);
  initial.dispose();
  return v;
}

function dense(x: tf.Tensor2D, l: Layer): tf.Tensor2D {
  return tf.add(tf.matMul(x, l.kernel as tf.Tensor2D), l.bias);
}

function conv(x: tf.Tensor4D, l: Layer): tf.Tensor4D {
  return tf.add(tf.conv2d(x, l.kernel as tf.Tensor4D, 1, 'same'), l.bias);
}

/** Training-mode BatchNorm over (n, h, w) with the biased variance; no affine when `p` is absent. */
function batchNorm(x: tf.Tensor4D, p: Norm | undefined, epsilon: number): tf.Tensor4D {
  const c = x.shape[3];
  const [gamma, beta] = p ? [p.gamma, p.beta] : [tf.ones([c]), tf.zeros([c])];
  return batchNormTraining(x, gamma, beta, epsilon).y as tf.Tensor4D;
}

/** Nearest-neighbour ×2, as PyTorch's interpolate(scale_factor = 2). */
function upsample(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  return tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]);
}
