import * as tf from '@tensorflow/tfjs';
import { disposeGraph, parsePreprocessing, weightShapes } from '../graph';
import type { ActivationFn, Graph, GraphNode, NodeId, Padding, Preprocessing } from '../graph';
import { InvalidModelError, UnsupportedLayerError } from '../runtime/errors';
import { checkedShapes } from './checks';

/** The TF.js Layers model.json (tf.io.ModelJSON) with what we read of it. */
export interface LayersModelJson {
  format?: string;
  generatedBy?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: { clab?: { preprocessing?: Preprocessing } };
}

type KerasConfig = Record<string, unknown>;
/** A layer as Keras 2 and Keras 3 write it (Keras 3 adds module, registered_name, build_config). */
interface KerasLayer {
  class_name: string;
  config: KerasConfig;
  name?: string;
  inbound_nodes?: unknown[];
  module?: string;
  registered_name?: string | null;
  build_config?: { input_shape?: unknown };
}

const ACTIVATIONS: ReadonlySet<string> = new Set([
  'relu',
  'relu6',
  'sigmoid',
  'tanh',
  'softmax',
  'linear',
  'elu',
]);

/** Keras weight names ↔ IR weight names. */
const KERAS_WEIGHT: Record<string, string> = {
  kernel: 'kernel',
  bias: 'bias',
  depthwise_kernel: 'depthwiseKernel',
  gamma: 'gamma',
  beta: 'beta',
  moving_mean: 'movingMean',
  moving_variance: 'movingVariance',
  masks: 'masks',
  gate: 'gate',
};
const IR_WEIGHT = Object.fromEntries(Object.entries(KERAS_WEIGHT).map(([k, v]) => [v, k]));

const bad = (msg: string) =>
  new InvalidModelError(
    msg,
    'Export the model with TF.js `model.save()` or tensorflowjs_converter --output_format=tfjs_layers_model.',
  );

// ---------------------------------------------------------------- import

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) {
    return [v[0], v[1]];
  }
  throw bad(`${what} must be a number or a pair of numbers, got ${JSON.stringify(v)}`);
}

function padding(v: unknown, layer: string): Padding {
  if (v === 'same' || v === 'valid') return v;
  throw new UnsupportedLayerError(
    `Layer '${layer}' uses padding '${String(v)}'`,
    "Only 'same' and 'valid' padding are supported.",
  );
}

/** Keras 3 may write an activation as a serialized object; its name is its config or class. */
function activationName(v: unknown): string {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'object') {
    const o = v as { config?: unknown; class_name?: unknown };
    return typeof o.config === 'string' ? o.config : String(o.class_name).toLowerCase();
  }
  return String(v);
}

function activation(v: unknown, layer: string): ActivationFn {
  const name = activationName(v);
  if (!ACTIVATIONS.has(name)) {
    throw new UnsupportedLayerError(
      `Layer '${layer}' uses the activation '${name}'`,
      `Supported activations: ${[...ACTIVATIONS].join(', ')}.`,
    );
  }
  return name as ActivationFn;
}

/** Layer names in a Keras 3 call's arguments: every `keras_history: [name, node, tensor]`. */
function historyNames(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(historyNames);
  if (!v || typeof v !== 'object') return [];
  const o = v as { keras_history?: unknown[]; config?: unknown };
  if (Array.isArray(o.keras_history)) return [String(o.keras_history[0])];
  return historyNames(o.config);
}

/**
 * Inbound layer names of a functional layer: Keras 2 writes [[[name, 0, 0, {}], …]], Keras 3
 * [{ args: [tensor or [tensors]], kwargs }] with each tensor's keras_history.
 */
function inboundNames(layer: KerasLayer): string[] {
  const nodes = layer.inbound_nodes ?? [];
  if (nodes.length === 0) return [];
  if (nodes.length > 1) {
    throw new UnsupportedLayerError(
      `Layer '${layer.config.name}' is called ${nodes.length} times (shared layer)`,
      'Shared layers are not supported; give each call its own layer.',
    );
  }
  const first = nodes[0];
  if (Array.isArray(first)) return first.map((entry) => endpointName(entry, layer.config.name));
  if (first && typeof first === 'object' && 'args' in first) {
    return historyNames((first as { args: unknown }).args);
  }
  throw bad(`Layer '${layer.config.name}' has inbound nodes in an unknown format`);
}

/** One [layer name, node, tensor] reference of an inbound node or a model endpoint. */
function endpointName(entry: unknown, where: unknown): string {
  if (!Array.isArray(entry)) {
    throw bad(`'${String(where)}' refers to ${JSON.stringify(entry)}, not [layer, node, tensor]`);
  }
  return String(entry[0]);
}

/** A model's input_layers / output_layers: nested [[name, 0, 0], …] or Keras 3's flat [name, 0, 0]. */
function endpointNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return typeof v[0] === 'string' ? [v[0]] : v.map((entry) => endpointName(entry, 'output_layers'));
}

/** Refuses layers that would need code from outside the file; nothing in a file is ever run. */
function refuseCode(layer: KerasLayer, name: string): void {
  const why =
    layer.class_name === 'Lambda' || layer.class_name === 'TFOpLambda'
      ? `is a ${layer.class_name} layer: it holds Python code`
      : layer.class_name.includes('>') ||
          (layer.registered_name != null && layer.registered_name !== layer.class_name) ||
          (layer.module !== undefined && !/^(tf_)?keras\b/.test(layer.module))
        ? `is the custom layer ${layer.registered_name ?? layer.class_name}: its code is not in the file`
        : undefined;
  if (why) {
    throw new UnsupportedLayerError(
      `Layer '${name}' ${why}, and no code from a model file is ever run here`,
      'Replace it by built-in Keras layers (e.g. Rescaling, Activation, Reshape) and export again.',
    );
  }
}

interface PendingNode {
  node: GraphNode;
  /** Keras weight names of this node, in manifest order. */
  kerasLayer: string;
}

/** Turns one Keras layer into one or two IR nodes (a fused activation becomes its own node). */
function layerToNodes(layer: KerasLayer, inputs: NodeId[]): PendingNode[] {
  const c = layer.config;
  const name = String(c.name);
  const out: PendingNode[] = [];
  const push = (node: Omit<GraphNode, 'weights'>) =>
    out.push({ node: { ...node, weights: {} } as GraphNode, kerasLayer: name });
  if (c.data_format === 'channels_first') {
    throw new UnsupportedLayerError(
      `Layer '${name}' uses data_format channels_first`,
      'Convert the model to channels_last (NHWC) before importing.',
    );
  }
  const withActivation = () => {
    const fn = activation(c.activation, name);
    if (fn !== 'linear') {
      const id = `${name}_act`;
      push({ id, op: 'activation', inputs: [name], attrs: { fn } });
    }
  };
  switch (layer.class_name) {
    case 'Conv2D':
      push({
        id: name,
        op: 'conv2d',
        inputs,
        attrs: {
          filters: Number(c.filters),
          kernelSize: pair(c.kernel_size, `${name}.kernel_size`),
          strides: pair(c.strides ?? 1, `${name}.strides`),
          padding: padding(c.padding ?? 'valid', name),
          dilations: pair(c.dilation_rate ?? 1, `${name}.dilation_rate`),
          useBias: c.use_bias !== false,
        },
      });
      withActivation();
      break;
    case 'DepthwiseConv2D':
      push({
        id: name,
        op: 'depthwiseConv2d',
        inputs,
        attrs: {
          kernelSize: pair(c.kernel_size, `${name}.kernel_size`),
          strides: pair(c.strides ?? 1, `${name}.strides`),
          padding: padding(c.padding ?? 'valid', name),
          dilations: pair(c.dilation_rate ?? 1, `${name}.dilation_rate`),
          depthMultiplier: Number(c.depth_multiplier ?? 1),
          useBias: c.use_bias !== false,
        },
      });
      withActivation();
      break;
    case 'Dense':
      push({
        id: name,
        op: 'dense',
        inputs,
        attrs: { units: Number(c.units), useBias: c.use_bias !== false },
      });
      withActivation();
      break;
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== 3 && axis !== 1) {
        throw new UnsupportedLayerError(
          `BatchNormalization '${name}' normalises axis ${String(axis)}`,
          'Only the channel (last) axis is supported.',
        );
      }
      push({
        id: name,
        op: 'batchNorm',
        inputs,
        attrs: { epsilon: Number(c.epsilon ?? 1e-3), momentum: Number(c.momentum ?? 0.99) },
      });
      break;
    }
    case 'Activation':
      push({ id: name, op: 'activation', inputs, attrs: { fn: activation(c.activation, name) } });
      break;
    case 'ReLU': {
      const max = c.max_value;
      if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0 || (max != null && max !== 6)) {
        throw new UnsupportedLayerError(
          `ReLU '${name}' has a slope, threshold or cap other than 6`,
          'Use a plain ReLU or ReLU6.',
        );
      }
      push({ id: name, op: 'activation', inputs, attrs: { fn: max === 6 ? 'relu6' : 'relu' } });
      break;
    }
    case 'LeakyReLU':
      // Keras 2 and TF.js call the slope alpha, Keras 3 negative_slope; both default to 0.3.
      push({
        id: name,
        op: 'leakyRelu',
        inputs,
        attrs: { alpha: Number(c.alpha ?? c.negative_slope ?? 0.3) },
      });
      break;
    case 'Softmax':
      push({ id: name, op: 'activation', inputs, attrs: { fn: 'softmax' } });
      break;
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const poolSize = pair(c.pool_size ?? 2, `${name}.pool_size`);
      push({
        id: name,
        op: layer.class_name === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        inputs,
        attrs: {
          poolSize,
          strides: c.strides == null ? poolSize : pair(c.strides, `${name}.strides`),
          padding: padding(c.padding ?? 'valid', name),
        },
      });
      break;
    }
    case 'GlobalAveragePooling2D':
      if (c.keepdims) {
        throw new UnsupportedLayerError(
          `GlobalAveragePooling2D '${name}' keeps dims`,
          'Set keepdims=false.',
        );
      }
      push({ id: name, op: 'globalAvgPool', inputs, attrs: {} });
      break;
    case 'Add':
      push({ id: name, op: 'add', inputs, attrs: {} });
      break;
    case 'Concatenate':
      push({ id: name, op: 'concat', inputs, attrs: { axis: Number(c.axis ?? -1) } });
      break;
    case 'Flatten':
      push({ id: name, op: 'flatten', inputs, attrs: {} });
      break;
    case 'Reshape': {
      const targetShape = numbers(c.target_shape);
      if (!Array.isArray(c.target_shape) || !targetShape) {
        throw bad(`Reshape '${name}' has no target_shape list`);
      }
      push({ id: name, op: 'reshape', inputs, attrs: { targetShape } });
      break;
    }
    case 'Dropout':
      push({ id: name, op: 'dropout', inputs, attrs: { rate: Number(c.rate ?? 0) } });
      break;
    case 'ZeroPadding2D': {
      const p = c.padding;
      const pads: [[number, number], [number, number]] =
        typeof p === 'number'
          ? [
              [p, p],
              [p, p],
            ]
          : Array.isArray(p) && Array.isArray(p[0])
            ? [pair(p[0], `${name}.padding`), pair(p[1], `${name}.padding`)]
            : (pair(p, `${name}.padding`).map((v) => [v, v]) as [
                [number, number],
                [number, number],
              ]);
      push({ id: name, op: 'zeroPad', inputs, attrs: { padding: pads } });
      break;
    }
    // Channel gates of dynamic pruning and pruning from scratch: written by this workbench only.
    case 'ClabDecisionHead':
      push({ id: name, op: 'decisionHead', inputs, attrs: { actions: Number(c.actions) } });
      break;
    case 'ClabGumbelSelect':
      push({ id: name, op: 'gumbelSelect', inputs, attrs: {} });
      break;
    case 'ClabDecisionMask':
      push({ id: name, op: 'decisionMask', inputs, attrs: { actions: Number(c.actions) } });
      break;
    case 'ClabChannelGate':
      push({ id: name, op: 'channelGate', inputs, attrs: {} });
      break;
    case 'ClabCirculantDense':
      push({
        id: name,
        op: 'circulantDense',
        inputs,
        attrs: {
          units: Number(c.units),
          blockSize: Number(c.block_size),
          useBias: c.use_bias !== false,
        },
      });
      break;
    default:
      throw new UnsupportedLayerError(
        `Unsupported layer '${name}' of type ${layer.class_name}`,
        'Supported: InputLayer, Rescaling and Normalization (after the input), Conv2D, DepthwiseConv2D, Dense, BatchNormalization, Activation, ReLU, LeakyReLU, Softmax, ' +
          'MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Add, Concatenate, Flatten, Reshape, Dropout, ZeroPadding2D.',
      );
  }
  return out;
}

/** The batch shape a layer declares: Keras 2 batch_input_shape, Keras 3 batch_shape, or build_config. */
function declaredBatchShape(layer: KerasLayer): unknown[] | undefined {
  const c = layer.config;
  // batchInputShape: files hand-edited for TF.js, which reads the camelCase name too.
  const shape =
    c.batch_input_shape ?? c.batch_shape ?? c.batchInputShape ?? layer.build_config?.input_shape;
  return Array.isArray(shape) ? shape : undefined;
}

/** One example's shape from a batch shape; unknown sizes are refused. */
function exampleShape(shape: unknown[], layer: string): number[] {
  const rest = shape.slice(1);
  if (rest.length === 0 || rest.some((d) => typeof d !== 'number' || d < 1)) {
    throw new UnsupportedLayerError(
      `Input '${layer}' has an unknown dimension: [${shape.map(String).join(', ')}]`,
      'Give the model a fixed input shape (e.g. 28×28×1).',
    );
  }
  return rest as number[];
}

/**
 * The IR input (always height × width × channels) for a Keras input shape: [h, w] gains the
 * channel axis (28×28 means 28×28×1), a flat [n] with n a square is read as an n-pixel square
 * image flattened row by row, which is how such MLPs are fed.
 */
function imageInput(shape: number[], layer: string): { shape: number[]; flatten: boolean } {
  if (shape.length === 3) return { shape, flatten: false };
  if (shape.length === 2) return { shape: [...shape, 1], flatten: false };
  const side = Math.round(Math.sqrt(shape[0]));
  if (shape.length === 1 && side * side === shape[0]) {
    return { shape: [side, side, 1], flatten: true };
  }
  throw new UnsupportedLayerError(
    `Input '${layer}' has the shape [${shape.join(', ')}], which is not an image`,
    'Import models that take height × width (× channels) images, or a flat square image.',
  );
}

/**
 * A Rescaling or Normalization layer right after the input: folded into the preprocessing
 * (`foldPreprocessing`) instead of becoming a node, since both are per-channel affine maps.
 */
type InputFold =
  | { kind: 'rescaling'; layer: string; scale: number[]; offset: number[] }
  | { kind: 'normalization'; layer: string; mean?: number[]; variance?: number[] };

const numbers = (v: unknown): number[] | undefined =>
  typeof v === 'number'
    ? [v]
    : Array.isArray(v) && v.flat(3).every((n) => typeof n === 'number')
      ? (v.flat(3) as number[])
      : undefined;

function inputFold(layer: KerasLayer, name: string): InputFold {
  const c = layer.config;
  if (layer.class_name === 'Rescaling') {
    const scale = numbers(c.scale ?? 1);
    const offset = numbers(c.offset ?? 0);
    if (!scale || !offset || scale.some((v) => v === 0)) {
      throw bad(`Rescaling '${name}' has an unreadable or zero scale/offset`);
    }
    return { kind: 'rescaling', layer: name, scale, offset };
  }
  if (c.invert === true) {
    throw new UnsupportedLayerError(
      `Normalization '${name}' inverts (de-normalises) its input`,
      'Only forward Normalization layers are supported.',
    );
  }
  const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) {
    throw new UnsupportedLayerError(
      `Normalization '${name}' normalises axis ${JSON.stringify(c.axis)}`,
      'Only per-channel (last axis) Normalization is supported.',
    );
  }
  return {
    kind: 'normalization',
    layer: name,
    mean: numbers(c.mean),
    variance: numbers(c.variance),
  };
}

/** Keras' Normalization divides by max(√variance, this). */
const KERAS_EPSILON = 1e-7;

/**
 * Composes folded layers onto a preprocessing x = (R(p) − mean) / std: an affine y = a·x + b
 * gives mean − b·std / a and std / a per channel. A Rescaling means the file was fed raw pixels
 * (that is what it is for), so the range becomes raw unless the file said otherwise.
 */
async function foldPreprocessing(
  base: Preprocessing,
  folds: InputFold[],
  weights: Map<string, Map<string, tf.Tensor>>,
): Promise<Preprocessing> {
  let mean = [base.mean].flat();
  let std = [base.std].flat();
  const apply = (a: number[], b: number[]) => {
    const n = Math.max(mean.length, std.length, a.length, b.length);
    const at = (v: number[], k: number) => v[k] ?? v[0];
    const next = Array.from(
      { length: n },
      (_, k) => at(mean, k) - (at(b, k) * at(std, k)) / at(a, k),
    );
    std = Array.from({ length: n }, (_, k) => at(std, k) / at(a, k));
    mean = next;
  };
  for (const fold of folds) {
    if (fold.kind === 'rescaling') {
      apply(fold.scale, fold.offset);
      continue;
    }
    const stored = findLayerWeights(weights, fold.layer);
    // Async reads, as for the weights: dataSync returns zeros on WebGPU in Chromium.
    const read = async (name: string) => {
      const t = stored?.get(name);
      return t ? Array.from(await t.data()) : undefined;
    };
    const mu = fold.mean ?? (await read('mean'));
    const variance = fold.variance ?? (await read('variance'));
    if (!mu || !variance) {
      throw bad(`Normalization '${fold.layer}' has no mean and variance, in its config or weights`);
    }
    const sd = variance.map((v) => Math.max(Math.sqrt(v), KERAS_EPSILON));
    apply(
      sd.map((v) => 1 / v),
      mu.map((m, k) => -m / (sd[k] ?? sd[0])),
    );
  }
  if (![...mean, ...std].every(Number.isFinite) || std.includes(0)) {
    throw bad(
      `The input's Rescaling/Normalization gives mean [${mean}] and std [${std}], which are not usable`,
    );
  }
  const one = (v: number[]) => (v.every((x) => x === v[0]) ? v[0] : v);
  const rescaled = folds.some((f) => f.kind === 'rescaling');
  return {
    ...base,
    mean: one(mean),
    std: one(std),
    ...(rescaled && !base.range && { range: 'raw' as const }),
  };
}

const DEFAULT_PREPROCESSING: Preprocessing = { mean: 0, std: 1 };

/** The preprocessing this project saved in the file, checked; the default for other files. */
function savedPreprocessing(json: LayersModelJson): Preprocessing {
  const saved = json.userDefinedMetadata?.clab?.preprocessing;
  if (saved === undefined) return DEFAULT_PREPROCESSING;
  try {
    return parsePreprocessing(saved, DEFAULT_PREPROCESSING);
  } catch (e) {
    throw bad(`The preprocessing saved in the file is unreadable: ${(e as Error).message}`);
  }
}

/** Builds the IR from a model.json and its weight data. */
export async function graphFromLayersJson(
  json: LayersModelJson,
  weightData: ArrayBuffer,
): Promise<Graph> {
  // Graph models (modelTopology.node) go to graph-model.ts: loadGraph dispatches on isGraphModel.
  const topo = json.modelTopology as { model_config?: KerasLayer } & KerasLayer;
  const model: KerasLayer | undefined = topo?.model_config ?? topo;
  if (!model || typeof model.class_name !== 'string' || !model.config) {
    throw bad('model.json has no modelTopology with a Keras model config');
  }
  const config = model.config as {
    layers?: KerasLayer[];
    name?: string;
    output_layers?: unknown;
    build_input_shape?: unknown;
  };
  // Keras before 2.2 wrote a Sequential's config as the bare list of layers.
  const listed: unknown = Array.isArray(model.config) ? model.config : config.layers;
  if (
    !Array.isArray(listed) ||
    listed.length === 0 ||
    !listed.every((l: KerasLayer | null) => l && typeof l.class_name === 'string')
  ) {
    throw bad('The model has no layers, or a layer without a class_name');
  }
  const layers = listed as KerasLayer[];

  const pending: PendingNode[] = [];
  const folds: InputFold[] = [];
  let inputShape: number[] | undefined;
  let inputId = 'input';
  let flattenInput = false;
  let last: NodeId = inputId;
  const sequential = model.class_name === 'Sequential';
  const renamed = new Map<string, NodeId>(); // Keras layer → IR node that carries its output
  // The Keras name whose output is the graph input (after folded layers), and the ones before it.
  let inputAlias: string | undefined;
  const foldedAway = new Set<string>();

  const setInput = (shape: unknown[], name: string) => {
    const image = imageInput(exampleShape(shape, name), name);
    inputShape = image.shape;
    flattenInput = image.flatten;
  };
  for (const layer of layers) {
    layer.config ??= {};
    if (typeof layer.config !== 'object') {
      throw bad(`A ${layer.class_name} layer has the config ${JSON.stringify(layer.config)}`);
    }
    const name = String(layer.config.name ?? layer.name);
    layer.config.name = name;
    refuseCode(layer, name);
    if (layer.class_name === 'InputLayer') {
      const shape = declaredBatchShape(layer);
      if (!shape) throw bad(`Input layer '${name}' has no batch_input_shape or batch_shape`);
      setInput(shape, name);
      inputId = name;
      last = name;
      inputAlias = name;
      renamed.set(name, name);
      continue;
    }
    if (!inputShape && sequential) {
      const shape = declaredBatchShape(layer) ?? config.build_input_shape;
      if (!Array.isArray(shape)) throw bad(`The first layer '${name}' declares no input shape`);
      setInput(shape, name);
      inputAlias = inputId;
      renamed.set(inputId, inputId);
    }
    const inbound = sequential ? [last] : inboundNames(layer);
    // A Sequential's layers read the previous one; folded layers leave that at the input.
    const stale = sequential ? undefined : inbound.find((n) => foldedAway.has(n));
    if (stale) {
      throw new UnsupportedLayerError(
        `Layer '${name}' reads '${stale}', the input before a Rescaling/Normalization that is folded into the preprocessing`,
        'Only models whose layers all read the rescaled input are supported.',
      );
    }
    const inputs = sequential ? [last] : inbound.map((n) => renamed.get(n) ?? n);
    if (layer.class_name === 'Rescaling' || layer.class_name === 'Normalization') {
      const readsInput = sequential ? last === inputId : inbound[0] === inputAlias;
      if (!readsInput || inbound.length !== 1) {
        throw new UnsupportedLayerError(
          `${layer.class_name} '${name}' is not applied to the model's input`,
          'Only Rescaling/Normalization right after the input are supported (they become the preprocessing).',
        );
      }
      folds.push(inputFold(layer, name));
      if (inputAlias) foldedAway.add(inputAlias);
      inputAlias = name;
      renamed.set(name, inputId);
      continue;
    }
    const nodes = layerToNodes(layer, inputs);
    pending.push(...nodes);
    last = nodes[nodes.length - 1].node.id;
    renamed.set(name, last);
  }
  if (!inputShape) throw bad('The model has no input layer with a shape');
  if (flattenInput) {
    // The file's flat input: the image is flattened first, then the file's layers follow.
    const flat = `${inputId}_flatten`;
    for (const p of pending) p.node.inputs = p.node.inputs.map((i) => (i === inputId ? flat : i));
    pending.unshift({
      node: { id: flat, op: 'flatten', inputs: [inputId], attrs: {}, weights: {} },
      kerasLayer: flat,
    });
    if (last === inputId) last = flat;
  }
  let output = last;
  if (!sequential) {
    const outs = endpointNames(config.output_layers);
    if (outs.length !== 1) {
      throw new UnsupportedLayerError(
        `The model has ${outs.length} outputs`,
        'Only single-output models are supported.',
      );
    }
    output = renamed.get(outs[0]) ?? outs[0];
  }
  const g: Graph = {
    name: String(config.name ?? 'model'),
    nodes: [
      { id: inputId, op: 'input', inputs: [], attrs: { shape: inputShape }, weights: {} },
      ...pending.map((p) => p.node),
    ],
    input: inputId,
    output,
    inputShape,
    preprocessing: savedPreprocessing(json),
  };
  await attachWeights(g, pending, json, weightData, folds);
  return g;
}

async function attachWeights(
  g: Graph,
  pending: PendingNode[],
  json: LayersModelJson,
  weightData: ArrayBuffer,
  folds: InputFold[],
): Promise<void> {
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const total = specs.reduce((sum, s) => sum + weightBytes(s), 0);
  if (total !== weightData.byteLength) {
    throw bad(
      `The weight files hold ${weightData.byteLength} bytes but the manifest describes ${total}`,
    );
  }
  // Sizes from the file are checked before any tensor is made.
  const shapes = checkedShapes(g);
  const outShape = shapes.get(g.output)!;
  if (outShape.length !== 1) {
    throw new UnsupportedLayerError(
      `The model's output '${g.output}' has shape [batch, ${outShape.join(', ')}], not [batch, classes]`,
      'Import a classifier whose output is one score per class (end with Flatten/Dense).',
    );
  }
  let decoded: tf.NamedTensorMap;
  try {
    // In tidy: a weight that fails to decode takes those decoded before it along.
    decoded = tf.tidy(() => tf.io.decodeWeights(weightData, specs));
  } catch (e) {
    throw bad(
      `The weight files cannot be decoded as the manifest describes (${(e as Error).message})`,
    );
  }
  // Tensors made here that the graph does not keep.
  const temporary: tf.Tensor[] = Object.values(decoded);
  try {
    const byLayer = new Map<string, Map<string, tf.Tensor>>();
    for (const [fullName, tensor] of Object.entries(decoded)) {
      const cut = fullName.lastIndexOf('/');
      const layer = fullName.slice(0, cut);
      const weight = fullName.slice(cut + 1).replace(/:\d+$/, '');
      if (!byLayer.has(layer)) byLayer.set(layer, new Map());
      byLayer.get(layer)!.set(weight, tensor);
    }
    g.preprocessing = await foldPreprocessing(g.preprocessing, folds, byLayer);
    for (const { node, kerasLayer } of pending) {
      const inShape = shapes.get(node.inputs[0])!;
      const expected = weightShapes(node, inShape);
      const names = Object.keys(expected);
      if (names.length === 0) continue;
      const found = findLayerWeights(byLayer, kerasLayer);
      for (const name of names) {
        let t = found?.get(IR_WEIGHT[name]);
        if (!t && node.op === 'batchNorm' && (name === 'gamma' || name === 'beta')) {
          t = name === 'gamma' ? tf.ones(expected[name]) : tf.zeros(expected[name]); // scale/center off
          temporary.push(t);
        }
        if (!t) {
          const near = Object.keys(decoded).filter((n) => n.split('/').includes(kerasLayer));
          throw new InvalidModelError(
            `No weight '${IR_WEIGHT[name]}' for layer '${kerasLayer}' in the weight manifest ` +
              `(${near.length ? `it has ${near.join(', ')}` : 'nothing named after the layer'})`,
            'Weights must be named <layer>/<weight>, optionally under a prefix; re-export the model.',
          );
        }
        if (t.shape.join() !== expected[name].join()) {
          throw new InvalidModelError(
            `Weight '${kerasLayer}/${IR_WEIGHT[name]}' has shape [${t.shape}] but the layer needs [${expected[name]}]`,
            'The weights do not match the topology; re-export the model.',
          );
        }
        if (t.dtype !== 'float32') {
          throw new InvalidModelError(
            `Weight '${kerasLayer}/${IR_WEIGHT[name]}' is stored as ${t.dtype}, not float32`,
            'Layer weights are float32 (float16 or uint8 quantization included); re-export the model.',
          );
        }
        // Async read: dataSync returns zeros on WebGPU in Chromium.
        const finite = tf.tidy(() => tf.all(tf.isFinite(t!)));
        const allFinite = (await finite.data())[0];
        finite.dispose();
        if (!allFinite) {
          throw new InvalidModelError(
            `Weight '${kerasLayer}/${IR_WEIGHT[name]}' contains NaN or infinite values`,
            'The model is corrupt or diverged during training; export it from a healthy checkpoint.',
          );
        }
        node.weights[name] = tf.variable(t, name !== 'movingMean' && name !== 'movingVariance');
      }
    }
  } catch (e) {
    disposeGraph(g); // the variables of the layers before the refused one
    throw e;
  } finally {
    tf.dispose(temporary);
  }
}

const WEIGHT_DTYPES: readonly unknown[] = ['float32', 'int32'];
const QUANTIZED_DTYPES: readonly unknown[] = ['float16', 'uint8', 'uint16'];

/** Why a weight group cannot be decoded, or undefined; `names` collects names across groups. */
function weightGroupProblem(group: unknown, names: Set<string>): string | undefined {
  const { paths, weights } = (group ?? {}) as { paths?: unknown; weights?: unknown };
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
    return 'has no list of weight file paths';
  }
  if (!Array.isArray(weights)) return 'has no list of weights';
  for (const entry of weights as (Partial<tf.io.WeightsManifestEntry> | null)[]) {
    const name = entry?.name;
    if (typeof name !== 'string') return `has a weight without a name: ${JSON.stringify(entry)}`;
    if (names.has(name)) return `names the weight '${name}' a second time`;
    names.add(name);
    const shape: unknown = entry!.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return `gives '${name}' the shape ${JSON.stringify(shape)}`;
    }
    if (!WEIGHT_DTYPES.includes(entry!.dtype)) {
      return `stores '${name}' as ${JSON.stringify(entry!.dtype)} (float32 or int32 are read)`;
    }
    const quantization = entry!.quantization;
    if (quantization !== undefined && !QUANTIZED_DTYPES.includes(quantization?.dtype)) {
      return `quantizes '${name}' as ${JSON.stringify(quantization)} (float16, uint8 or uint16 are read)`;
    }
  }
  return undefined;
}

/** Refuses a weightsManifest TF.js could not decode, before any weight file is read. */
export function checkWeightsManifest(manifest: unknown[], what: string): void {
  const names = new Set<string>();
  for (const [i, group] of manifest.entries()) {
    const problem = weightGroupProblem(group, names);
    if (problem) {
      throw new InvalidModelError(
        `Weight group ${i + 1} of ${what} ${problem}`,
        'Use the model.json written together with the weight files, unedited.',
      );
    }
  }
}

/** Bytes one manifest entry takes in the shards. */
export function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const bytes = spec.quantization
    ? ({ float16: 2, uint8: 1, uint16: 2 }[spec.quantization.dtype] ?? 4)
    : 4;
  return bytes * spec.shape.reduce((a, b) => a * b, 1);
}

/**
 * A layer's weights by Keras name. Weight paths may carry prefixes: Keras 3 puts the model's
 * name first ('sequential/dense/kernel'), nested models their own; accept the exact name first.
 */
function findLayerWeights(byLayer: Map<string, Map<string, tf.Tensor>>, layer: string) {
  return byLayer.get(layer) ?? [...byLayer.entries()].find(([k]) => k.endsWith(`/${layer}`))?.[1];
}

// ---------------------------------------------------------------- export

function kerasLayer(node: GraphNode): KerasLayer {
  const name = node.id;
  const base = { name, trainable: true, dtype: 'float32' };
  switch (node.op) {
    case 'input':
      return {
        class_name: 'InputLayer',
        config: { ...base, batch_input_shape: [null, ...node.attrs.shape], sparse: false },
      };
    case 'conv2d': {
      const a = node.attrs;
      return {
        class_name: 'Conv2D',
        config: {
          ...base,
          filters: a.filters,
          kernel_size: a.kernelSize,
          strides: a.strides,
          padding: a.padding,
          data_format: 'channels_last',
          dilation_rate: a.dilations,
          activation: 'linear',
          use_bias: a.useBias,
        },
      };
    }
    case 'depthwiseConv2d': {
      const a = node.attrs;
      return {
        class_name: 'DepthwiseConv2D',
        config: {
          ...base,
          kernel_size: a.kernelSize,
          strides: a.strides,
          padding: a.padding,
          data_format: 'channels_last',
          dilation_rate: a.dilations,
          depth_multiplier: a.depthMultiplier,
          activation: 'linear',
          use_bias: a.useBias,
        },
      };
    }
    case 'dense':
      return {
        class_name: 'Dense',
        config: {
          ...base,
          units: node.attrs.units,
          activation: 'linear',
          use_bias: node.attrs.useBias,
        },
      };
    case 'batchNorm':
      return {
        class_name: 'BatchNormalization',
        config: {
          ...base,
          axis: -1,
          epsilon: node.attrs.epsilon,
          momentum: node.attrs.momentum,
          center: true,
          scale: true,
        },
      };
    case 'activation':
      return { class_name: 'Activation', config: { ...base, activation: node.attrs.fn } };
    case 'leakyRelu':
      return { class_name: 'LeakyReLU', config: { ...base, alpha: node.attrs.alpha } };
    case 'maxPool':
    case 'avgPool': {
      const a = node.attrs;
      return {
        class_name: node.op === 'maxPool' ? 'MaxPooling2D' : 'AveragePooling2D',
        config: {
          ...base,
          pool_size: a.poolSize,
          strides: a.strides,
          padding: a.padding,
          data_format: 'channels_last',
        },
      };
    }
    case 'globalAvgPool':
      return {
        class_name: 'GlobalAveragePooling2D',
        config: { ...base, data_format: 'channels_last' },
      };
    case 'add':
      return { class_name: 'Add', config: base };
    case 'concat':
      return { class_name: 'Concatenate', config: { ...base, axis: node.attrs.axis } };
    case 'flatten':
      return { class_name: 'Flatten', config: { ...base, data_format: 'channels_last' } };
    case 'reshape':
      return { class_name: 'Reshape', config: { ...base, target_shape: node.attrs.targetShape } };
    case 'dropout':
      return { class_name: 'Dropout', config: { ...base, rate: node.attrs.rate } };
    case 'zeroPad':
      return {
        class_name: 'ZeroPadding2D',
        config: { ...base, padding: node.attrs.padding, data_format: 'channels_last' },
      };
    // Not Keras layers: only this workbench reads them back (TF.js refuses the class names).
    case 'decisionHead':
      return { class_name: 'ClabDecisionHead', config: { ...base, actions: node.attrs.actions } };
    case 'gumbelSelect':
      return { class_name: 'ClabGumbelSelect', config: base };
    case 'decisionMask':
      return { class_name: 'ClabDecisionMask', config: { ...base, actions: node.attrs.actions } };
    case 'channelGate':
      return { class_name: 'ClabChannelGate', config: base };
    case 'circulantDense': {
      const { units, blockSize, useBias } = node.attrs;
      return {
        class_name: 'ClabCirculantDense',
        config: { ...base, units, block_size: blockSize, use_bias: useBias },
      };
    }
  }
}

/** IEEE half precision of a float32, rounding to nearest even (for float16 weight shards). */
export function toFloat16(values: Float32Array): Uint16Array {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    let mant = x & 0x7fffff;
    if (exp >= 31) {
      out[i] = sign | 0x7c00; // overflow → infinity (weights never get there)
    } else if (exp <= 0) {
      if (exp < -10) {
        out[i] = sign;
      } else {
        mant = (mant | 0x800000) >> (1 - exp);
        out[i] = sign | ((mant + 0xfff + ((mant >> 13) & 1)) >> 13);
      }
    } else {
      const rounded = (exp << 10) | (mant >> 13);
      out[i] =
        sign |
        (rounded +
          ((mant & 0x1fff) > 0x1000 || ((mant & 0x1fff) === 0x1000 && rounded & 1) ? 1 : 0));
    }
  }
  return out;
}

/**
 * The uint8 or uint16 codes q of a tensor whose values all lie exactly on an affine grid,
 * v = float32(q·scale + min) as TF.js's io.decodeWeights computes it, or undefined when they do
 * not (a float tensor, per-channel scales) or there is only one value. The grid is read off the
 * values — min is the smallest, the step the smallest gap between distinct values, refined to
 * (max − min)/levels — and every value is then checked against it.
 */
export function affineGrid(
  values: Float32Array,
):
  | { dtype: 'uint8' | 'uint16'; scale: number; min: number; codes: Uint8Array | Uint16Array }
  | undefined {
  const distinct = Float32Array.from(new Set(values)).sort();
  if (distinct.length < 2 || distinct.length > 65536 || !distinct.every(Number.isFinite)) {
    return undefined;
  }
  const min = distinct[0];
  const range = distinct[distinct.length - 1] - min;
  let gap = Infinity;
  for (let i = 1; i < distinct.length; i++) gap = Math.min(gap, distinct[i] - distinct[i - 1]);
  const steps = Math.round(range / gap);
  if (steps > 65535) return undefined;
  const exact = (scale: number) =>
    distinct.every((v) => {
      const q = Math.round((v - min) / scale);
      return q >= 0 && q <= steps && Math.fround(q * scale + min) === v;
    });
  const scale = [range / steps, Math.fround(range / steps), gap].find(exact);
  if (scale === undefined) return undefined;
  const codes = steps < 256 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = Math.round((values[i] - min) / scale);
  return { dtype: steps < 256 ? 'uint8' : 'uint16', scale, min, codes };
}

export interface ExportOptions {
  /**
   * Store weights as float16 (half the bytes; predictions change by ~1e-3 relative). Weights on
   * an affine grid of ≤ 2^16 levels (quantized ones) are stored as their uint8/uint16 codes either way.
   */
  float16?: boolean;
  /** Name of the single weight shard referenced by model.json. */
  shardName?: string;
}

/** Writes the IR as a TF.js Layers model: model.json content plus one weight shard. */
export async function graphToLayersJson(
  g: Graph,
  opts: ExportOptions = {},
): Promise<{ json: LayersModelJson; weightData: ArrayBuffer }> {
  const chain = g.nodes.every(
    (n, i) => i === 0 || (n.inputs.length === 1 && n.inputs[0] === g.nodes[i - 1].id),
  );
  const layers = g.nodes.map((n) => {
    const layer = kerasLayer(n);
    if (!chain) {
      layer.name = n.id;
      layer.inbound_nodes = n.op === 'input' ? [] : [n.inputs.map((i) => [i, 0, 0, {}])];
    }
    return layer;
  });
  const modelTopology = chain
    ? { class_name: 'Sequential', config: { name: g.name, layers } }
    : {
        class_name: 'Model',
        config: {
          name: g.name,
          layers,
          input_layers: [[g.input, 0, 0]],
          output_layers: [[g.output, 0, 0]],
        },
      };
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const n of g.nodes) {
    for (const [name, v] of Object.entries(n.weights)) {
      const values = (await v.data()) as Float32Array;
      const entry: tf.io.WeightsManifestEntry = {
        name: `${n.id}/${IR_WEIGHT[name]}`,
        shape: v.shape,
        dtype: 'float32',
      };
      const grid = affineGrid(values);
      if (grid) {
        // Exactly on ≤ 2^16 levels (a quantized student): its codes, which TF.js decodes back to
        // the same float32 values.
        entry.quantization = { dtype: grid.dtype, scale: grid.scale, min: grid.min };
        chunks.push(new Uint8Array(grid.codes.buffer));
      } else if (opts.float16) {
        entry.quantization = { dtype: 'float16' };
        chunks.push(new Uint8Array(toFloat16(values).buffer));
      } else {
        chunks.push(
          new Uint8Array(
            values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
          ),
        );
      }
      specs.push(entry);
    }
  }
  const size = chunks.reduce((s, c) => s + c.byteLength, 0);
  const data = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.byteLength;
  }
  const json: LayersModelJson = {
    format: 'layers-model',
    generatedBy: 'Compression Lab',
    modelTopology: {
      ...modelTopology,
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: [opts.shardName ?? 'weights.bin'], weights: specs }],
    userDefinedMetadata: { clab: { preprocessing: g.preprocessing } },
  };
  return { json, weightData: data.buffer };
}
