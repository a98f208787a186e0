import * as tf from '@tensorflow/tfjs';
import { readsInput } from '../../compress/compressor';
import { svd } from '../../compress/svd';
import {
  graphStats,
  initWeights,
  inferShapes,
  outputLayer,
  type Graph,
  type GraphNode,
  type GraphNodeOf,
} from '../../graph';
import { InvalidInputError } from '../../runtime/errors';
import type { ParamValues } from '../params';
import { accuracyAtStart, RETRAIN_PARAMS, resumedPast, retrain, wholeRun } from '../retrain';
import type { MethodSpec, RunContext, RunEvent } from '../types';
import { replaceInPlace, sizeMetrics, weightOf } from './lowrank-svd';

/**
 * The least-squares block-circulant kernel [⌈n/b⌉, ⌈m/b⌉, b] of a dense kernel W [n, m]: block
 * (p, q)'s w[k] is the mean of W's entries on the block's k-th wrapped diagonal (j − i ≡ k mod
 * b), over the entries W has (the padding is not fitted): the orthogonal projection onto the
 * circulant matrices.
 */
export function circulantProjection(
  w: Float32Array,
  n: number,
  m: number,
  b: number,
): Float32Array {
  const blocksIn = Math.ceil(n / b);
  const blocksOut = Math.ceil(m / b);
  const sum = new Float64Array(blocksIn * blocksOut * b);
  const count = new Float64Array(sum.length);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < m; c++) {
      const k = ((((c % b) - (r % b)) % b) + b) % b;
      const at = (Math.floor(r / b) * blocksOut + Math.floor(c / b)) * b + k;
      sum[at] += w[r * m + c];
      count[at]++;
    }
  }
  return Float32Array.from(sum, (s, i) => (count[i] > 0 ? s / count[i] : 0));
}

/** A dense layer → a block-circulant one (projected from its weights, or Glorot-random). */
function circulantNode(
  node: GraphNodeOf<'dense'>,
  b: number,
  project: boolean,
  seed: number,
): GraphNode {
  const [n, m] = node.weights.kernel.shape;
  const shape: [number, number, number] = [Math.ceil(n / b), Math.ceil(m / b), b];
  const kernel = project
    ? tf.tensor3d(
        circulantProjection(node.weights.kernel.dataSync() as Float32Array, n, m, b),
        shape,
      )
    : // Each output sums n inputs times one weight each, as in the dense layer: Glorot's limit.
      tf.randomUniform(shape, -Math.sqrt(6 / (n + m)), Math.sqrt(6 / (n + m)), 'float32', seed);
  return {
    id: node.id,
    op: 'circulantDense',
    inputs: [...node.inputs],
    attrs: { units: m, blockSize: b, useBias: node.attrs.useBias },
    weights: {
      kernel: weightOf(kernel),
      ...(node.weights.bias && { bias: tf.variable(node.weights.bias) }),
    },
  };
}

/**
 * A conv [kh, kw, C, N] → depthwise kh×kw (its strides, padding, dilations) then pointwise 1×1
 * C → N (its bias), as MobileNet's blocks. Projected: per input channel c the separable kernel
 * D[y, x, c]·P[c, n] is a rank-one kh·kw × N matrix, so the best fit of W[:, :, c, :] is its
 * rank-one SVD (D from √σ₁u₁, P from √σ₁v₁).
 */
function separableNodes(
  node: GraphNodeOf<'conv2d'>,
  inShape: number[],
  project: boolean,
  seed: number,
): [GraphNode, GraphNode] {
  const a = node.attrs;
  const [kh, kw, c, n] = node.weights.kernel.shape;
  const depthwise: GraphNode = {
    id: `${node.id}_dw`,
    op: 'depthwiseConv2d',
    inputs: [...node.inputs],
    attrs: {
      kernelSize: [kh, kw],
      strides: a.strides,
      padding: a.padding,
      dilations: a.dilations,
      depthMultiplier: 1,
      useBias: false,
    },
    weights: {},
  };
  const pointwise: GraphNode = {
    id: node.id,
    op: 'conv2d',
    inputs: [depthwise.id],
    attrs: {
      filters: n,
      kernelSize: [1, 1],
      strides: [1, 1],
      padding: 'valid',
      dilations: [1, 1],
      useBias: a.useBias,
    },
    weights: {},
  };
  if (!project) {
    depthwise.weights = initWeights(depthwise, inShape, seed);
    pointwise.weights = initWeights(pointwise, [1, 1, c], seed + 1);
    if (node.weights.bias) pointwise.weights.bias.assign(node.weights.bias);
    return [depthwise, pointwise];
  }
  const w = node.weights.kernel.dataSync() as Float32Array;
  const d = new Float32Array(kh * kw * c);
  const p = new Float32Array(c * n);
  const mc = new Float64Array(kh * kw * n);
  for (let ci = 0; ci < c; ci++) {
    for (let yx = 0; yx < kh * kw; yx++)
      for (let ni = 0; ni < n; ni++) mc[yx * n + ni] = w[(yx * c + ci) * n + ni];
    const one = svd(mc, kh * kw, n);
    const root = Math.sqrt(one.s[0]);
    for (let yx = 0; yx < kh * kw; yx++) d[yx * c + ci] = one.u[yx * one.k] * root;
    for (let ni = 0; ni < n; ni++) p[ci * n + ni] = one.v[ni * one.k] * root;
  }
  depthwise.weights = { depthwiseKernel: weightOf(tf.tensor4d(d, [kh, kw, c, 1])) };
  pointwise.weights = {
    kernel: weightOf(tf.tensor4d(p, [1, 1, c, n])),
    ...(node.weights.bias && { bias: tf.variable(node.weights.bias) }),
  };
  return [depthwise, pointwise];
}

const params = {
  replace: {
    kind: 'enum',
    default: 'both',
    options: ['circulant', 'depthwise-separable', 'both'],
    help: 'circulant: hidden dense layers become block-circulant (Cheng et al. 2015); depthwise-separable: convs (but the first) become depthwise + pointwise (MobileNet); both.',
  },
  blockSize: {
    kind: 'int',
    default: 16,
    min: 2,
    max: 1024,
    help: 'Side b of the circulant blocks: a dense n×m layer keeps ⌈n/b⌉·⌈m/b⌉·b weights.',
  },
  init: {
    kind: 'enum',
    default: 'projection',
    options: ['projection', 'random'],
    label: 'Initialisation',
    help: 'projection: the least-squares fit of the teacher’s layer (circulant: mean of each wrapped diagonal; separable: per-channel rank-one SVD); random: Glorot-uniform.',
  },
  temperature: {
    kind: 'number',
    default: 4,
    min: 1,
    max: 50,
    help: 'KD temperature T of the teacher’s soft targets.',
  },
  alpha: {
    kind: 'number',
    default: 0.9,
    min: 0,
    max: 1,
    help: 'Weight of the soft (teacher) term; 1 − alpha weighs the labels’ cross-entropy.',
  },
  ...RETRAIN_PARAMS,
  learningRate: { ...RETRAIN_PARAMS.learningRate, default: 1e-3 },
} as const;

/**
 * The student with the chosen layers replaced by structured ones (in place): hidden dense
 * layers by block-circulant ones, convs that do not read the image by depthwise-separable
 * pairs; those that would not get smaller are left. Returns the replaced layers' ids.
 */
export function structuredStudent(
  g: Graph,
  replace: 'circulant' | 'depthwise-separable' | 'both',
  blockSize: number,
  project: boolean,
  seed: number,
): { replaced: string[]; kept: string[] } {
  const shapes = inferShapes(g);
  const out = outputLayer(g);
  const replaced: string[] = [];
  const kept: string[] = [];
  for (const node of [...g.nodes]) {
    const inShape = shapes.get(node.inputs[0]!) ?? [];
    if (node.op === 'dense' && replace !== 'depthwise-separable' && node.id !== out) {
      const [n, m] = node.weights.kernel.shape;
      if (Math.ceil(n / blockSize) * Math.ceil(m / blockSize) * blockSize >= n * m) {
        kept.push(node.id);
        continue;
      }
      replaceInPlace(g, node.id, [circulantNode(node, blockSize, project, seed + replaced.length)]);
      replaced.push(node.id);
    } else if (node.op === 'conv2d' && replace !== 'circulant' && !readsInput(g, node.id)) {
      const [kh, kw, c, n] = node.weights.kernel.shape;
      if (kh * kw === 1 || kh * kw * c + c * n >= kh * kw * c * n) {
        kept.push(node.id);
        continue;
      }
      replaceInPlace(
        g,
        node.id,
        separableNodes(node, inShape, project, seed + 2 * replaced.length),
      );
      replaced.push(node.id);
    }
  }
  return { replaced, kept };
}

/**
 * Structured matrices and compact filters (survey §C): the teacher's copy with circulant dense
 * layers and/or depthwise-separable convs, distilled from the teacher (Hinton's KD).
 */
export const structured: MethodSpec<typeof params> = {
  id: 'structured',
  title: 'Structured layers (circulant, depthwise-separable)',
  paper: 'Cheng et al. 2015, arXiv:1502.03436; Howard et al. 2017 (MobileNets), arXiv:1704.04861',
  summary:
    'Replace dense layers by block-circulant ones and convs by depthwise + pointwise pairs, then distil the student from the teacher.',
  needs: { teacher: true, data: 'full' },
  defaultStudent: 'copy',
  defaultSteps: 1000,
  params,
  // The checkpoint's student is the rebuilt one: a resumed run goes on distilling it.
  resume: { resumable: true },
  async *run(ctx, p: ParamValues<typeof params>) {
    const { student } = ctx;
    const rebuilt = resumedPast(ctx, 0) ? undefined : yield* rebuild(ctx, p);
    yield* retrain({
      ctx,
      student,
      learningRate: () => p.learningRate,
      batchSize: p.batchSize,
      distill: { teacher: ctx.teacher, temperature: p.temperature, alpha: p.alpha },
      ...wholeRun(ctx, 'distill'),
      evalEvery: p.evalEvery,
    });
    return {
      student,
      metrics: {
        ...(rebuilt && {
          'accuracy/before-retrain': rebuilt.beforeRetrain,
          'replaced-layers': rebuilt.replaced,
        }),
        ...(await sizeMetrics(student)),
      },
    };
  },
};

/** The student rebuilt in place with structured layers; its accuracy then, unretrained. */
async function* rebuild(
  ctx: RunContext,
  p: ParamValues<typeof params>,
): AsyncGenerator<RunEvent, { beforeRetrain: number; replaced: number }> {
  const { student } = ctx;
  yield* accuracyAtStart(ctx);
  const before = graphStats(student);
  const { replaced, kept } = structuredStudent(
    student,
    p.replace,
    p.blockSize,
    p.init === 'projection',
    ctx.rng.int(2 ** 31),
  );
  if (replaced.length === 0) {
    throw new InvalidInputError(
      `No layer of ${ctx.teacher.name} gets smaller as ${p.replace}${kept.length ? ` (kept: ${kept.join(', ')})` : ''}`,
      'Pick another replacement or a smaller block size.',
    );
  }
  const after = graphStats(student);
  yield {
    kind: 'log',
    level: 'info',
    message: `structured: replaced ${replaced.join(', ')}${kept.length ? `; kept ${kept.join(', ')} (no smaller)` : ''}; params ${before.params} → ${after.params}, FLOPs ${before.flops} → ${after.flops}`,
  };
  return { beforeRetrain: yield* accuracyAtStart(ctx), replaced: replaced.length };
}
