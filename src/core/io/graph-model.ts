// TF.js graph models (tensorflowjs_converter on a SavedModel, Keras model or frozen graph): the
// model.json's modelTopology is a TensorFlow GraphDef as JSON, its weights the Const nodes'
// values by node name. The dataflow graph is mapped onto the IR, as the ONNX importer does, so
// the model becomes trainable; TensorFlow's NHWC is the IR's own layout.
import * as tf from '@tensorflow/tfjs';
import type { Graph, NodeId, Op, OpAttrs } from '../graph';
import { InvalidModelError, UnsupportedLayerError } from '../runtime/errors';
import { weightBytes, type LayersModelJson } from './layers-format';
import { ARITHMETIC, broadcastBinary } from './onnx/import';
import { size, transposeHost, type HostTensor } from './onnx/proto';
import { PendingGraph, type ConstValue, type InputAffine } from './pending-graph';

interface TfAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  tensor?: {
    tensorShape?: { dim?: { size?: string | number }[] };
    floatVal?: number[];
    intVal?: number[];
  };
}

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

interface GraphModelTopology {
  node?: unknown;
}

/** A computed tensor: `shape` is TensorFlow's (no batch); the IR node holds the same values in
 * the same order, possibly in another shape (a Reshape or Squeeze emits no node until a reader
 * needs the new shape). */
interface IrValue {
  kind: 'ir';
  node: NodeId;
  shape: number[];
  /** Only on the network input: the per-channel x·scale + shift applied to it so far. */
  affine?: InputAffine;
}

type Value = IrValue | ConstValue;

/** TensorFlow's names of the constant arithmetic the importer evaluates. */
const TF_ARITHMETIC = {
  Add: 'add',
  AddV2: 'add',
  BiasAdd: 'add',
  Sub: 'sub',
  Mul: 'mul',
  RealDiv: 'div',
} as const;

const SUPPORTED =
  'Placeholder, Const, Identity, Conv2D, DepthwiseConv2dNative, _FusedConv2D, FusedDepthwiseConv2dNative, ' +
  'MatMul, _FusedMatMul, BiasAdd, Add/AddV2, Sub, Mul, RealDiv, FusedBatchNorm(V3), Relu, Relu6, Elu, ' +
  'LeakyRelu, Sigmoid, Tanh, Softmax, MaxPool, AvgPool, Mean over H and W, Reshape, Squeeze, ExpandDims, ' +
  'ConcatV2, Pad';

/** Ops that pass their input through in inference. */
const PASSTHROUGH = new Set(['Identity', 'StopGradient', 'Snapshot', 'PreventGradient']);

const ACTIVATIONS = {
  Relu: 'relu',
  Relu6: 'relu6',
  Elu: 'elu',
  Sigmoid: 'sigmoid',
  Tanh: 'tanh',
} as const;

const broken = (problem: string) =>
  new InvalidModelError(
    problem,
    'The file is corrupt or not a TF.js graph model; convert the model again (tensorflowjs_converter).',
  );

/** A model.json of the graph-model format (its topology is a list of GraphDef nodes). */
export function isGraphModel(json: LayersModelJson): boolean {
  const topo = json.modelTopology as GraphModelTopology | undefined;
  return json.format === 'graph-model' || Array.isArray(topo?.node);
}

/** Builds the IR from a graph model's model.json and its concatenated weight shards. */
export async function graphFromGraphModelJson(
  json: LayersModelJson,
  weightData: ArrayBuffer,
  name: string,
): Promise<Graph> {
  const raw = (json.modelTopology as GraphModelTopology | undefined)?.node;
  if (!Array.isArray(raw) || raw.length === 0) {
    throw broken(`'${name}' is a graph model without nodes (modelTopology.node is empty)`);
  }
  const nodes = raw as TfNode[];
  for (const n of nodes) {
    if (!n || typeof n.name !== 'string' || typeof n.op !== 'string') {
      throw broken(`'${name}' has a node without a name or op`);
    }
  }
  const constants = await decodeConstants(json, weightData);
  const outputs = (json as { signature?: { outputs?: Record<string, { name?: string }> } })
    .signature?.outputs;
  return new GraphModelImporter(nodes, constants, name).graph(
    outputs ? Object.values(outputs).map((o) => String(o?.name)) : undefined,
  );
}

async function decodeConstants(
  json: LayersModelJson,
  weightData: ArrayBuffer,
): Promise<Map<string, HostTensor>> {
  const specs = json.weightsManifest.flatMap((group) =>
    Array.isArray(group?.weights) ? group.weights : [],
  );
  const total = specs.reduce((sum, s) => sum + weightBytes(s), 0);
  if (total !== weightData.byteLength) {
    throw broken(
      `The weight files hold ${weightData.byteLength} bytes but the manifest describes ${total}`,
    );
  }
  let decoded: tf.NamedTensorMap;
  try {
    decoded = tf.io.decodeWeights(weightData, specs);
  } catch (e) {
    throw broken(`The weights manifest cannot be read (${(e as Error).message})`);
  }
  const out = new Map<string, HostTensor>();
  try {
    for (const [key, t] of Object.entries(decoded)) {
      out.set(key, { dims: [...t.shape], values: Float32Array.from(await t.data()) });
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
  return out;
}

// ---------------------------------------------------------------- attributes

/** GraphDef JSON stores strings (padding, data_format, fused_ops) as base64. */
const decodeBase64 = (s: string) => {
  try {
    return atob(s);
  } catch {
    return s; // not base64: kept, so a message shows what the file says
  }
};

class GraphModelImporter {
  private readonly byName = new Map<string, TfNode>();
  private readonly values = new Map<string, Value>();
  /** How many nodes read each tensor ('node:port'). */
  private readonly readers = new Map<string, number>();
  /** Conv/dense IR nodes → the tensor carrying their output (where a bias or scale may fold in). */
  private readonly layerOutputs = new Map<NodeId, string>();
  private pending?: PendingGraph;
  private inputAffine?: InputAffine;
  private current!: TfNode;

  constructor(
    nodes: TfNode[],
    private readonly constants: Map<string, HostTensor>,
    private readonly name: string,
  ) {
    for (const n of nodes) {
      if (this.byName.has(n.name)) throw broken(`'${name}' has two nodes named '${n.name}'`);
      this.byName.set(n.name, n);
    }
  }

  graph(signatureOutputs?: string[]): Graph {
    const outName = this.outputName(signatureOutputs);
    const order = this.topologicalOrder(tensorKey(outName).node);
    for (const n of order) for (const i of dataInputs(n)) this.countReader(tensorKey(i).key);
    for (const n of order) {
      this.current = n;
      this.convert(n);
    }
    const out = this.values.get(tensorKey(outName).key);
    if (!this.pending || !out || out.kind !== 'ir' || out.node === 'input') {
      throw new InvalidModelError(
        `The output '${outName}' of '${this.name}' is not computed from its input`,
        'Convert a model whose output depends on its input placeholder.',
      );
    }
    if (out.shape.length !== 1) {
      throw new UnsupportedLayerError(
        `The output '${outName}' of '${this.name}' has shape [batch, ${out.shape.join(', ')}], not [batch, classes]`,
        'Convert a classifier whose output is one score per class.',
      );
    }
    return this.pending.build(this.name, this.flat(out), this.inputAffine);
  }

  private countReader(key: string) {
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
  }

  /** The signature's one output, or else the one node that nothing reads. */
  private outputName(signature?: string[]): string {
    if (signature?.length === 1) return signature[0];
    const read = new Set(
      [...this.byName.values()].flatMap((n) => dataInputs(n).map((i) => tensorKey(i).node)),
    );
    const sinks = [...this.byName.values()].filter(
      (n) => !read.has(n.name) && !['Const', 'NoOp', 'Placeholder'].includes(n.op),
    );
    if (sinks.length !== 1) {
      throw new UnsupportedLayerError(
        `'${this.name}' has ${sinks.length} outputs (${sinks.map((n) => n.name).join(', ') || 'none'})`,
        'Convert a model with one output (the class scores).',
      );
    }
    return sinks[0].name;
  }

  /** The nodes the output depends on, each after its inputs (GraphDefs need not be sorted). */
  private topologicalOrder(output: string): TfNode[] {
    const order: TfNode[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: { node: TfNode; next: number }[] = [];
    const visit = (name: string, reader: string) => {
      const node = this.byName.get(name);
      if (!node) {
        throw broken(`${reader} reads '${name}', which no node of '${this.name}' produces`);
      }
      if (state.get(name) === 'open') throw broken(`'${this.name}' has a cycle through '${name}'`);
      if (!state.has(name)) {
        state.set(name, 'open');
        stack.push({ node, next: 0 });
      }
    };
    visit(output, 'The signature’s output');
    while (stack.length) {
      const top = stack[stack.length - 1];
      const inputs = dataInputs(top.node);
      if (top.next < inputs.length) {
        visit(tensorKey(inputs[top.next++]).node, `Node '${top.node.name}'`);
      } else {
        stack.pop();
        state.set(top.node.name, 'done');
        order.push(top.node);
      }
    }
    return order;
  }

  // ---------------------------------------------------------------- helpers

  private where(): string {
    return `${this.current.op} node '${this.current.name}'`;
  }

  private unsupported(problem: string, fix: string): never {
    throw new UnsupportedLayerError(`${this.where()}: ${problem}`, fix);
  }

  private attr(name: string): TfAttr | undefined {
    return this.current.attr?.[name];
  }

  private int(name: string, fallback: number): number {
    const v = this.attr(name)?.i;
    return v === undefined ? fallback : Number(v);
  }

  private float(name: string, fallback: number): number {
    return this.attr(name)?.f ?? fallback;
  }

  private ints(name: string, fallback: number[]): number[] {
    const list = this.attr(name)?.list?.i;
    return Array.isArray(list) ? list.map(Number) : fallback;
  }

  private string(name: string, fallback: string): string {
    const s = this.attr(name)?.s;
    return s === undefined ? fallback : decodeBase64(String(s));
  }

  private strings(name: string): string[] {
    const list = this.attr(name)?.list?.s;
    return Array.isArray(list) ? list.map((s) => decodeBase64(String(s))) : [];
  }

  private value(index: number): Value {
    const name = dataInputs(this.current)[index];
    const v = name === undefined ? undefined : this.values.get(tensorKey(name).key);
    if (!v) {
      const port = name === undefined ? 0 : tensorKey(name).port;
      if (name !== undefined && port > 0) {
        this.unsupported(
          `it reads output ${port} of '${tensorKey(name).node}'; only first outputs are read`,
          'Convert an inference graph (training outputs such as batch statistics unused).',
        );
      }
      throw broken(`${this.where()} has no input ${index + 1}`);
    }
    return v;
  }

  private constant(index: number, what: string): HostTensor {
    const v = this.value(index);
    if (v.kind !== 'const') {
      this.unsupported(
        `its ${what} is computed at run time, not a constant`,
        'Convert with constant weights and shapes (a frozen graph or SavedModel).',
      );
    }
    return v.tensor;
  }

  /** A computed operand; the input's normalisation is fixed once a computing node reads it. */
  private operand(index: number): IrValue {
    const v = this.value(index);
    if (v.kind !== 'ir') {
      this.unsupported(
        'an operand is a constant where a tensor was expected',
        'Fold constant subgraphs before conversion.',
      );
    }
    if (v.node === 'input') {
      const affine = v.affine ?? this.identityAffine();
      if (this.inputAffine && JSON.stringify(this.inputAffine) !== JSON.stringify(affine)) {
        this.unsupported(
          'the input is read both before and after its normalisation',
          'Normalise the input once, right after it, or leave normalisation out of the model.',
        );
      }
      this.inputAffine = affine;
    }
    return v;
  }

  private setOutput(v: Value) {
    this.values.set(`${this.current.name}:0`, v);
  }

  private graphIr(): PendingGraph {
    if (!this.pending) {
      throw broken(`${this.where()} is computed before the model's input is read`);
    }
    return this.pending;
  }

  /** The IR node of an image tensor [H, W, C] (a reshape node if the IR holds it flat). */
  private spatial(v: IrValue): NodeId {
    if (v.shape.length !== 3) {
      this.unsupported(
        `it needs an image tensor [batch, H, W, C] but gets [batch, ${v.shape.join(', ')}]`,
        'Reshape the tensor to an image before this node.',
      );
    }
    if (this.graphIr().shape(v.node).join() === v.shape.join()) return v.node;
    return this.emit('reshape', [v.node], { targetShape: v.shape }, {}, '_reshape');
  }

  /** The IR node of a feature vector (a flatten node if the IR holds an image). */
  private flat(v: IrValue): NodeId {
    if (v.shape.length !== 1) {
      this.unsupported(
        `it needs a [batch, features] tensor but gets [batch, ${v.shape.join(', ')}]`,
        'Flatten the tensor before this node.',
      );
    }
    if (this.graphIr().shape(v.node).length === 1) return v.node;
    return this.emit('flatten', [v.node], {}, {}, '_flatten');
  }

  /** Keras names nodes '<model>/<layer>/<op>': the layer is the readable part. */
  private layerName(): string {
    const parts = this.current.name.split('/');
    return parts.length >= 2 ? parts[parts.length - 2] : parts[0];
  }

  private emit<K extends Op>(
    op: K,
    inputs: NodeId[],
    attrs: OpAttrs[K],
    weights: Record<string, HostTensor> = {},
    suffix = '',
  ): NodeId {
    return this.graphIr().add(`${this.layerName()}${suffix}`, op, inputs, attrs, weights);
  }

  private identityAffine(): InputAffine {
    const channels = this.graphIr().inputShape[2];
    return {
      scale: new Array<number>(channels).fill(1),
      shift: new Array<number>(channels).fill(0),
    };
  }

  /** A constant with one value for all channels, or one per channel on its last axis. */
  private perChannel(c: HostTensor, channels: number, what: string): Float32Array {
    if (c.values.length === 1) return new Float32Array(channels).fill(c.values[0]);
    if (c.values.length === channels && c.dims[c.dims.length - 1] === channels) return c.values;
    this.unsupported(
      `its ${what} of shape [${c.dims.join(', ')}] is not one value per channel (${channels})`,
      'Only per-channel constants (biases, scales, normalisation) are supported.',
    );
  }

  // ---------------------------------------------------------------- ops

  private convert(node: TfNode) {
    const inputs = dataInputs(node);
    if (
      node.op !== 'Const' &&
      inputs.length &&
      inputs.every((i) => this.values.get(tensorKey(i).key)?.kind === 'const')
    ) {
      return this.setOutput({ kind: 'const', tensor: this.foldConstant(node) });
    }
    if (PASSTHROUGH.has(node.op)) return this.setOutput(this.value(0));
    switch (node.op) {
      case 'Const':
        return this.setOutput({ kind: 'const', tensor: this.constNode(node) });
      case 'Placeholder':
        return this.placeholder();
      case 'Conv2D':
      case 'DepthwiseConv2dNative':
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
      case '_FusedDepthwiseConv2dNative':
        return this.conv();
      case 'MatMul':
      case '_FusedMatMul':
        return this.matMul();
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
        return this.arithmetic();
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3':
        return this.batchNorm();
      case 'Relu':
      case 'Relu6':
      case 'Elu':
      case 'Sigmoid':
      case 'Tanh':
      case 'LeakyRelu': {
        const x = this.operand(0);
        return this.setOutput({
          kind: 'ir',
          node: this.activation(node.op, x.node),
          shape: x.shape,
        });
      }
      case 'Softmax': {
        const x = this.operand(0);
        const id = this.emit('activation', [this.flat(x)], { fn: 'softmax' }, {}, '_act');
        return this.setOutput({ kind: 'ir', node: id, shape: x.shape });
      }
      case 'MaxPool':
      case 'AvgPool':
        return this.pool();
      case 'Mean':
        return this.mean();
      case 'Reshape':
        return this.reshape(Array.from(this.constant(1, 'shape').values));
      case 'Squeeze':
        return this.squeeze();
      case 'ExpandDims':
        return this.expandDims();
      case 'ConcatV2':
        return this.concat();
      case 'Pad':
      case 'PadV2':
        return this.pad();
      default:
        this.unsupported(
          'this op is not supported',
          `Supported ops: ${SUPPORTED}. Replace it before conversion, or convert the Keras model as a Layers model (--output_format=tfjs_layers_model).`,
        );
    }
  }

  private constNode(node: TfNode): HostTensor {
    const fromManifest = this.constants.get(node.name);
    if (fromManifest) return fromManifest;
    const t = node.attr?.value?.tensor;
    const inline = t?.floatVal ?? t?.intVal;
    if (t && inline) {
      const dims = (Array.isArray(t.tensorShape?.dim) ? t.tensorShape.dim : []).map((d) =>
        Number(d?.size),
      );
      const values = Float32Array.from(Array.isArray(inline) ? inline.map(Number) : []);
      const count = size(dims);
      if (count === values.length) return { dims, values };
      // TensorFlow stores a constant filled with one value as that value; only small ones inline.
      if (values.length === 1 && Number.isSafeInteger(count) && count >= 0 && count <= 2 ** 16) {
        return { dims, values: new Float32Array(count).fill(values[0]) };
      }
    }
    throw broken(`Const node '${node.name}' has no entry in the weights manifest`);
  }

  /** Evaluates a node whose inputs are all constants (shapes and weights computed at load). */
  private foldConstant(node: TfNode): HostTensor {
    const arg = (i: number) => this.constant(i, 'operand');
    if (PASSTHROUGH.has(node.op) || node.op === 'Cast') return arg(0);
    switch (node.op) {
      case 'Reshape': {
        const x = arg(0);
        const target = Array.from(arg(1).values);
        const known = size(target.filter((d) => d !== -1));
        const dims = target.map((d) => (d === -1 ? x.values.length / known : d));
        if (size(dims) !== x.values.length || dims.some((d) => !Number.isInteger(d) || d < 0)) {
          this.unsupported(
            `it reshapes a constant of shape [${x.dims.join(', ')}] to [${target.join(', ')}]`,
            'The shapes do not fit; convert the model again.',
          );
        }
        return { dims, values: x.values };
      }
      case 'Transpose': {
        const x = arg(0);
        const perm = Array.from(arg(1).values);
        if (
          perm.length !== x.dims.length ||
          [...perm].sort((a, b) => a - b).some((p, i) => p !== i)
        ) {
          this.unsupported(
            `permutation [${perm.join(', ')}] of a constant of shape [${x.dims.join(', ')}]`,
            'The permutation does not fit; convert the model again.',
          );
        }
        return transposeHost(x, perm);
      }
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
      case 'Sub':
      case 'Mul':
      case 'RealDiv': {
        const f = ARITHMETIC[TF_ARITHMETIC[node.op]];
        return broadcastBinary(arg(0), arg(1), f, () => this.where());
      }
      default:
        this.unsupported(
          'it computes a constant with an op this importer cannot evaluate',
          `Freeze and optimise the graph before conversion; ops: ${SUPPORTED}.`,
        );
    }
  }

  private placeholder() {
    if (this.pending) {
      this.unsupported('the model has a second input', 'Convert a model with one image input.');
    }
    if (this.attr('dtype')?.type && this.attr('dtype')?.type !== 'DT_FLOAT') {
      this.unsupported(
        `its type is ${this.attr('dtype')?.type}`,
        'Convert a model taking float32 images.',
      );
    }
    const shape = this.attr('shape')?.shape;
    const dims = (Array.isArray(shape?.dim) ? shape.dim : []).map((d) => Number(d?.size ?? -1));
    const rest = dims.slice(1);
    if (!shape || shape.unknownRank || dims.length < 2 || rest.some((d) => !(d > 0))) {
      this.unsupported(
        `the input has shape [${dims.map((d) => (d > 0 ? d : '?')).join(', ')}]`,
        'Convert the model with a fixed image size, e.g. [batch, 28, 28, 1].',
      );
    }
    if (dims[0] > 1) {
      this.unsupported(
        `the input fixes the batch to ${dims[0]}`,
        'Convert with a dynamic batch (-1) or a batch of 1.',
      );
    }
    let inputShape: number[];
    if (rest.length === 3) inputShape = rest;
    else if (rest.length === 2)
      inputShape = [...rest, 1]; // [batch, H, W]: one channel
    else {
      const side = Math.round(Math.sqrt(rest[0]));
      if (rest.length !== 1 || side * side !== rest[0]) {
        this.unsupported(
          `the input has shape [batch, ${rest.join(', ')}]`,
          'Convert a model with an image input: [batch, H, W, C], [batch, H, W] or [batch, H·W] for a square one-channel image.',
        );
      }
      inputShape = [side, side, 1]; // a flattened square image (an MLP)
    }
    this.pending = new PendingGraph(inputShape);
    // TensorFlow's shape is kept: the IR input holds the same values in image form.
    this.setOutput({ kind: 'ir', node: 'input', shape: rest });
  }

  private requireNhwc() {
    const format = this.string('data_format', 'NHWC');
    if (format !== 'NHWC') {
      this.unsupported(
        `data_format ${format}`,
        'Convert the model in NHWC layout (TensorFlow’s default on CPU).',
      );
    }
  }

  /** [1, h, w, 1] attributes (strides, dilations, ksize) as [h, w]. */
  private spatialPair(name: string): [number, number] {
    const v = this.ints(name, [1, 1, 1, 1]);
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) {
      this.unsupported(
        `${name} [${v.join(', ')}]`,
        `Only ${name} over height and width are supported.`,
      );
    }
    return [v[1], v[2]];
  }

  /** 'SAME' / 'VALID', or an explicit zero pad node before a 'valid' op. */
  private padding(x: NodeId): { input: NodeId; padding: 'same' | 'valid' } {
    const padding = this.string('padding', 'VALID');
    if (padding === 'SAME' || padding === 'VALID') {
      return { input: x, padding: padding === 'SAME' ? 'same' : 'valid' };
    }
    const p = this.ints('explicit_paddings', []);
    if (padding !== 'EXPLICIT' || p.length !== 8 || p[0] || p[1] || p[6] || p[7]) {
      this.unsupported(
        `padding ${padding} [${p.join(', ')}]`,
        'Use SAME, VALID or explicit padding of height and width.',
      );
    }
    const pad = this.emit(
      'zeroPad',
      [x],
      {
        padding: [
          [p[2], p[3]],
          [p[4], p[5]],
        ],
      },
      {},
      '_pad',
    );
    return { input: pad, padding: 'valid' };
  }

  private conv() {
    const op = this.current.op;
    const fused = op.includes('Fused');
    const depthwise = op.includes('Depthwise');
    this.requireNhwc();
    const x = this.spatial(this.operand(0));
    const filter = this.constant(1, 'filter');
    const strides = this.spatialPair('strides');
    const dilations = this.spatialPair('dilations');
    const { input, padding } = this.padding(x);
    const channels = this.graphIr().shape(x)[2];
    if (filter.dims.length !== 4 || filter.dims[2] !== channels) {
      this.unsupported(
        `its filter has shape [${filter.dims.join(', ')}] for ${channels} input channels`,
        'The filter does not fit the input; convert the model again.',
      );
    }
    const [kh, kw, , out] = filter.dims;
    const common = {
      kernelSize: [kh, kw] as [number, number],
      strides,
      padding,
      dilations,
      useBias: false,
    };
    const id = depthwise
      ? this.emit(
          'depthwiseConv2d',
          [input],
          { ...common, depthMultiplier: out },
          { depthwiseKernel: filter },
        )
      : this.emit('conv2d', [input], { ...common, filters: out }, { kernel: filter });
    this.finishLayer(id, fused);
  }

  private matMul() {
    if (this.attr('transpose_a')?.b) {
      this.unsupported('transpose_a is set', 'Multiply the input untransposed.');
    }
    const x = this.flat(this.operand(0));
    let kernel = this.constant(1, 'weight');
    if (kernel.dims.length !== 2) {
      this.unsupported(
        `its weight has shape [${kernel.dims.join(', ')}]`,
        'Multiply by a 2-D weight matrix.',
      );
    }
    if (this.attr('transpose_b')?.b) kernel = transposeHost(kernel, [1, 0]);
    const [rows, units] = kernel.dims;
    if (rows !== this.graphIr().shape(x)[0]) {
      this.unsupported(
        `its weight has ${rows} rows for ${this.graphIr().shape(x)[0]} input features`,
        'The weight does not fit the input; convert the model again.',
      );
    }
    const id = this.emit('dense', [x], { units, useBias: false }, { kernel });
    this.finishLayer(id, this.current.op === '_FusedMatMul');
  }

  /**
   * A conv or dense layer's fused ops (grappler's remapper writes BiasAdd or FusedBatchNorm,
   * then an activation, into _FusedConv2D/_FusedMatMul with their operands as extra inputs).
   */
  private finishLayer(id: NodeId, fused: boolean) {
    const g = this.graphIr();
    const outChannels = g.shape(id)[g.shape(id).length - 1];
    let last = id;
    const ops = fused ? this.strings('fused_ops') : [];
    const args = fused ? dataInputs(this.current).slice(2) : [];
    if (fused && args.length !== this.int('num_args', args.length)) {
      throw broken(
        `${this.where()} has ${args.length} extra inputs but num_args ${this.int('num_args', 0)}`,
      );
    }
    let rest = ops;
    if (ops[0] === 'BiasAdd') {
      this.setBias(id, this.perChannel(this.constant(2, 'bias'), outChannels, 'bias'));
      rest = ops.slice(1);
    } else if (ops[0] === 'FusedBatchNorm') {
      const param = (k: number, what: string) => ({
        dims: [outChannels],
        values: this.perChannel(this.constant(2 + k, what), outChannels, what),
      });
      last = this.emit(
        'batchNorm',
        [id],
        { epsilon: this.float('epsilon', 1e-4), momentum: 0.99 },
        {
          gamma: param(0, 'scale'),
          beta: param(1, 'offset'),
          movingMean: param(2, 'mean'),
          movingVariance: param(3, 'variance'),
        },
        '_bn',
      );
      rest = ops.slice(1);
    }
    if (
      rest.length > 1 ||
      (rest.length === 1 && !(rest[0] in ACTIVATIONS) && rest[0] !== 'LeakyRelu')
    ) {
      this.unsupported(
        `fused ops [${ops.join(', ')}]`,
        'Supported fusions: BiasAdd or FusedBatchNorm, then Relu, Relu6, Elu, LeakyRelu, Sigmoid or Tanh.',
      );
    }
    if (rest.length) last = this.activation(rest[0], last);
    const shape = g.shape(last);
    if (last === id) this.layerOutputs.set(id, `${this.current.name}:0`);
    this.setOutput({ kind: 'ir', node: last, shape });
  }

  private setBias(layer: NodeId, add: Float32Array) {
    const p = this.graphIr().node(layer);
    const old = p.weights.bias?.values;
    p.weights.bias = { dims: [add.length], values: add.map((v, i) => v + (old?.[i] ?? 0)) };
    (p.node.attrs as { useBias: boolean }).useBias = true;
  }

  private activation(op: string, x: NodeId): NodeId {
    if (op === 'LeakyRelu') {
      return this.emit(
        'leakyRelu',
        [x],
        { alpha: this.float('leakyrelu_alpha', this.float('alpha', 0.2)) },
        {},
        '_act',
      );
    }
    const fn = ACTIVATIONS[op as keyof typeof ACTIVATIONS];
    return this.emit('activation', [x], { fn }, {}, '_act');
  }

  /** BiasAdd/Add/Sub/Mul/RealDiv: a residual add, the input's normalisation, or a layer's bias or scale. */
  private arithmetic() {
    const op = this.current.op;
    const [a, b] = [this.value(0), this.value(1)];
    if (a.kind === 'ir' && b.kind === 'ir') {
      if (op !== 'Add' && op !== 'AddV2') {
        this.unsupported(
          'it combines two computed tensors',
          'Only Add (a residual connection) of two tensors is supported.',
        );
      }
      const [x, y] = [this.operand(0), this.operand(1)];
      if (x.shape.join() !== y.shape.join()) {
        this.unsupported(
          `it adds [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`,
          'Add tensors of the same shape.',
        );
      }
      const ir = (v: IrValue) => (v.shape.length === 1 ? this.flat(v) : this.spatial(v));
      return this.setOutput({
        kind: 'ir',
        node: this.emit('add', [ir(x), ir(y)], {}),
        shape: x.shape,
      });
    }
    const xIndex = a.kind === 'ir' ? 0 : 1;
    const x = (xIndex === 0 ? a : b) as IrValue;
    const c = ((xIndex === 0 ? b : a) as ConstValue).tensor;
    const scaling = op === 'Mul' || op === 'RealDiv';
    if (xIndex === 1 && (op === 'Sub' || op === 'RealDiv')) {
      this.unsupported(
        'the tensor is the subtrahend or divisor',
        'Only x − c and x / c by constants are supported.',
      );
    }
    const channels =
      x.node === 'input' ? this.graphIr().inputShape[2] : x.shape[x.shape.length - 1];
    const values = this.perChannel(c, channels, 'constant');
    const k = (v: number) => (op === 'Sub' ? -v : op === 'RealDiv' ? 1 / v : v);
    if (x.node === 'input') {
      // The model normalises its input itself: fold it into the preprocessing.
      const { scale, shift } = x.affine ?? this.identityAffine();
      const affine = scaling
        ? {
            scale: scale.map((s, i) => s * k(values[i])),
            shift: shift.map((s, i) => s * k(values[i])),
          }
        : { scale, shift: shift.map((s, i) => s + k(values[i])) };
      return this.setOutput({ ...x, affine });
    }
    const own = dataInputs(this.current)[xIndex];
    const layer = [...this.layerOutputs].find(([, t]) => t === tensorKey(own).key)?.[0];
    if (layer === undefined || this.readers.get(tensorKey(own).key) !== 1) {
      this.unsupported(
        `it applies a constant to '${x.node}', which is neither the input (normalisation) nor a layer's output (bias, scale)`,
        'Fold the constant into the neighbouring layer before conversion, or leave it out of the model.',
      );
    }
    if (scaling) this.scaleLayer(layer, Float32Array.from(values, k));
    else this.setBias(layer, Float32Array.from(values, k));
    this.layerOutputs.set(layer, `${this.current.name}:0`);
    this.setOutput(x);
  }

  /** y·c of a conv or dense layer: its kernel's output columns (the last axis) and bias times c. */
  private scaleLayer(layer: NodeId, c: Float32Array) {
    const p = this.graphIr().node(layer);
    for (const [name, w] of Object.entries(p.weights)) {
      p.weights[name] = { dims: w.dims, values: w.values.map((v, i) => v * c[i % c.length]) };
    }
  }

  private batchNorm() {
    this.requireNhwc();
    if (this.attr('is_training')?.b) {
      this.unsupported(
        'is_training is set',
        'Convert the inference graph (Keras: model.save after training).',
      );
    }
    const x = this.operand(0);
    const node = x.shape.length === 1 ? this.flat(x) : this.spatial(x);
    const channels = x.shape[x.shape.length - 1];
    const param = (i: number, what: string) => ({
      dims: [channels],
      values: this.perChannel(this.constant(i, what), channels, what),
    });
    const id = this.emit(
      'batchNorm',
      [node],
      { epsilon: this.float('epsilon', 1e-4), momentum: 0.99 },
      {
        gamma: param(1, 'scale'),
        beta: param(2, 'offset'),
        movingMean: param(3, 'mean'),
        movingVariance: param(4, 'variance'),
      },
    );
    this.setOutput({ kind: 'ir', node: id, shape: x.shape });
  }

  private pool() {
    this.requireNhwc();
    const x = this.spatial(this.operand(0));
    const padding = this.string('padding', 'VALID');
    if (padding !== 'SAME' && padding !== 'VALID') {
      this.unsupported(`padding ${padding}`, 'Pool with SAME or VALID padding.');
    }
    const attrs = {
      poolSize: this.spatialPair('ksize'),
      strides: this.spatialPair('strides'),
      padding: padding === 'SAME' ? ('same' as const) : ('valid' as const),
    };
    const id =
      this.current.op === 'MaxPool'
        ? this.emit('maxPool', [x], attrs)
        : this.emit('avgPool', [x], attrs);
    this.setOutput({ kind: 'ir', node: id, shape: this.graphIr().shape(id) });
  }

  /** Mean over H and W: global average pooling (keep_dims leaves [1, 1, C]). */
  private mean() {
    const x = this.operand(0);
    const axes = Array.from(this.constant(1, 'axes').values, (a) => (a < 0 ? a + 4 : a)).sort(
      (a, b) => a - b,
    );
    if (x.shape.length !== 3 || axes.join() !== '1,2') {
      this.unsupported(
        `a mean over axes [${axes.join(', ')}] of [batch, ${x.shape.join(', ')}]`,
        'Only the mean over height and width of an image (global average pooling) is supported.',
      );
    }
    const id = this.emit('globalAvgPool', [this.spatial(x)], {});
    const c = x.shape[2];
    this.setOutput({ kind: 'ir', node: id, shape: this.attr('keep_dims')?.b ? [1, 1, c] : [c] });
  }

  /** A new TensorFlow shape for the same values: no IR node until a reader needs it. */
  private reshape(target: number[]) {
    const x = this.operand(0);
    const features = size(x.shape);
    const rest = target.slice(1);
    const known = size(rest.filter((d) => d !== -1));
    const resolved = rest.map((d) => (d === -1 ? features / known : d));
    // The batch entry may be -1 or a fixed 1: both mean "the batch" here.
    const batchOk = target[0] === 1 || (target[0] === -1 && !rest.includes(-1));
    if (
      !batchOk ||
      size(resolved) !== features ||
      resolved.some((d) => !Number.isInteger(d) || d < 1)
    ) {
      this.unsupported(
        `reshaping [batch, ${x.shape.join(', ')}] to [${target.join(', ')}] changes the batch`,
        'Keep the batch as the first axis.',
      );
    }
    this.setOutput({ ...x, shape: resolved });
  }

  private squeeze() {
    const x = this.operand(0);
    const axes = this.ints('squeeze_dims', []).map((a) => (a < 0 ? a + x.shape.length + 1 : a));
    if (axes.includes(0)) this.unsupported('it squeezes the batch', 'Keep the batch axis.');
    const shape = x.shape.filter((d, i) => (axes.length ? !axes.includes(i + 1) : d !== 1));
    this.reshape([-1, ...shape]);
  }

  private expandDims() {
    const x = this.operand(0);
    const raw = this.constant(1, 'axis').values[0];
    const axis = raw < 0 ? raw + x.shape.length + 2 : raw;
    if (!(axis >= 1 && axis <= x.shape.length + 1)) {
      this.unsupported(
        `it inserts axis ${raw} into [batch, ${x.shape.join(', ')}]`,
        'Keep the batch axis first.',
      );
    }
    this.reshape([-1, ...x.shape.slice(0, axis - 1), 1, ...x.shape.slice(axis - 1)]);
  }

  private concat() {
    const n = dataInputs(this.current).length - 1;
    if (n < 1) throw broken(`${this.where()} has no tensors to join`);
    const xs = Array.from({ length: n }, (_, i) => this.operand(i));
    const rank = xs[0].shape.length;
    const raw = this.constant(n, 'axis').values[0];
    const axis = raw < 0 ? raw + rank + 1 : raw;
    if (axis === 0 || xs.some((x) => x.shape.length !== rank) || (rank !== 1 && rank !== 3)) {
      this.unsupported(
        `it joins [${xs.map((x) => `[batch, ${x.shape.join(', ')}]`).join(', ')}] on axis ${raw}`,
        'Concatenate images or feature vectors along a non-batch axis.',
      );
    }
    const ids = xs.map((x) => (rank === 1 ? this.flat(x) : this.spatial(x)));
    const id = this.emit('concat', ids, { axis });
    this.setOutput({ kind: 'ir', node: id, shape: this.graphIr().shape(id) });
  }

  /** Zero padding of H and W. */
  private pad() {
    const x = this.spatial(this.operand(0));
    const p = Array.from(this.constant(1, 'paddings').values);
    const value = this.current.op === 'PadV2' ? this.constant(2, 'constant value').values[0] : 0;
    if (p.length !== 8 || p[0] || p[1] || p[6] || p[7] || value !== 0 || p.some((v) => v < 0)) {
      this.unsupported(
        `padding by [${p.join(', ')}] with ${value}`,
        'Only zero padding of height and width is supported.',
      );
    }
    const id = this.emit('zeroPad', [x], {
      padding: [
        [p[2], p[3]],
        [p[4], p[5]],
      ],
    });
    this.setOutput({ kind: 'ir', node: id, shape: this.graphIr().shape(id) });
  }
}

/** A node's data inputs ('^name' control dependencies left out). */
function dataInputs(n: TfNode): string[] {
  return (Array.isArray(n.input) ? n.input : []).filter(
    (i) => typeof i === 'string' && !i.startsWith('^'),
  );
}

/** 'conv/BiasAdd:1' → node 'conv/BiasAdd', port 1, key 'conv/BiasAdd:1' (port 0 by default). */
function tensorKey(name: string): { node: string; port: number; key: string } {
  const m = /^(.*):(\d+)$/.exec(name);
  const node = m ? m[1] : name;
  const port = m ? Number(m[2]) : 0;
  return { node, port, key: `${node}:${port}` };
}
