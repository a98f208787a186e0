import type { Graph, NodeId, Op, OpAttrs, Padding } from '../../graph';
import { InvalidModelError, UnsupportedLayerError } from '../../runtime/errors';
import { MAX_MODEL_BYTES } from '../load';
import { PendingGraph, type ConstValue, type InputAffine } from '../pending-graph';
import {
  attributeNames,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrTensor,
  hostTensor,
  int,
  onnx,
  permuteFlattenedRows,
  reshapeHost,
  samePads,
  size,
  transposeHost,
  type HostTensor,
  type ModelProto,
  type NodeProto,
} from './proto';

/** The oldest opset whose operator semantics this importer follows. */
const MIN_OPSET = 7;

/**
 * How an ONNX tensor (batch left out) lays out the data of the IR value it stands for:
 * `nchw` is the IR's [H, W, C] seen as [C, H, W]; `nhwc` is the same order; `flat` is a feature
 * vector, whose features come in C, H, W order when `chw` is set (ONNX flattened an NCHW map that
 * the IR flattens H, W, C: the next dense layer's rows are permuted to match).
 */
type Layout =
  { kind: 'nchw' } | { kind: 'nhwc' } | { kind: 'flat'; chw?: [number, number, number] };

interface IrValue {
  kind: 'ir';
  node: NodeId;
  layout: Layout;
  /** The ONNX tensor's shape without the batch. */
  shape: number[];
  /** Only on the network input: the per-channel x·scale + shift applied to it so far. */
  affine?: InputAffine;
}

type Value = IrValue | ConstValue;

const SUPPORTED =
  'Conv, Gemm, MatMul, Add, Mul, Sub, Div, Relu, LeakyRelu, Clip, Sigmoid, Tanh, MaxPool, AveragePool, ' +
  'GlobalAveragePool, BatchNormalization, Flatten, Reshape, Transpose, Concat, Softmax, Constant, Identity, Dropout, Pad (zeros)';

const notOnnx = (problem: string) =>
  new InvalidModelError(
    problem,
    'Choose a model saved as .onnx (torch.onnx.export, tf2onnx, or this workbench’s export).',
  );

/** Reads an ONNX model (one .onnx file's bytes) into the IR; its weights become variables. */
export function graphFromOnnx(bytes: Uint8Array, name: string): Graph {
  if (bytes.length > MAX_MODEL_BYTES) {
    throw new InvalidModelError(
      `'${name}' is larger than ${MAX_MODEL_BYTES / 2 ** 20} MiB`,
      'Compress a smaller model; browser training of larger ones is not practical.',
    );
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw notOnnx(
      `'${name}' is not a readable ONNX model: the file is truncated or not ONNX (${(e as Error).message})`,
    );
  }
  if (!model.graph || !model.graph.node?.length || !model.graph.output?.length) {
    throw notOnnx(`'${name}' is not an ONNX model: it holds no graph of operators`);
  }
  return new OnnxImporter(model, name).graph();
}

class OnnxImporter {
  private readonly values = new Map<string, Value>();
  /** The IR being built; made once the input's shape is known. */
  private ir!: PendingGraph;
  /** How many nodes (and graph outputs) read each ONNX tensor. */
  private readonly readers = new Map<string, number>();
  private readonly opset: number;
  private inputAffine?: InputAffine;
  private current: NodeProto = {};
  /** The IR node standing for the ONNX input: 'input', or its flatten for a [batch, H·W] input. */
  private inputNode: NodeId = 'input';
  /** Conv/dense IR nodes → the ONNX tensor each computes (where a bias may be folded in). */
  private readonly layerOutputs = new Map<NodeId, string>();

  constructor(
    private readonly model: ModelProto,
    private readonly name: string,
  ) {
    const opsets = (model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = opsets.length ? Math.max(...opsets.map((o) => int(o.version))) : 0;
    if (this.opset < MIN_OPSET) {
      throw new UnsupportedLayerError(
        `'${name}' uses ONNX opset ${this.opset || 'unknown'}; opset ${MIN_OPSET} or newer is read`,
        'Export the model again with a newer opset (e.g. torch.onnx.export(..., opset_version=13)).',
      );
    }
  }

  graph(): Graph {
    const g = this.model.graph!;
    for (const t of g.initializer ?? []) {
      this.values.set(t.name ?? '', {
        kind: 'const',
        tensor: hostTensor(t, `Initializer '${t.name}'`),
      });
    }
    for (const n of g.node ?? []) for (const i of n.input ?? []) this.countReader(i);
    for (const o of g.output ?? []) this.countReader(o.name ?? '');
    this.addInput();
    for (const node of g.node ?? []) {
      this.current = node;
      this.convert(node);
    }
    if (g.output!.length !== 1) {
      throw new UnsupportedLayerError(
        `'${this.name}' has ${g.output!.length} outputs`,
        'Export a model with one output (the class scores).',
      );
    }
    const outName = g.output![0].name ?? '';
    const out = this.values.get(outName);
    if (!out || out.kind !== 'ir' || out.node === this.inputNode) {
      throw new InvalidModelError(
        `The output '${outName}' of '${this.name}' is not computed from its input`,
        'Export the model with its input connected to its output.',
      );
    }
    if (out.layout.kind !== 'flat' || out.layout.chw || out.shape.length !== 1) {
      throw new UnsupportedLayerError(
        `The output '${outName}' of '${this.name}' has shape [batch, ${out.shape.join(', ')}], not [batch, classes]`,
        'Export a classifier whose output is one score per class.',
      );
    }
    return this.ir.build(this.name, out.node, this.inputAffine);
  }

  private countReader(name: string) {
    if (name) this.readers.set(name, (this.readers.get(name) ?? 0) + 1);
  }

  // ------------------------------------------------------------------ helpers

  private where(): string {
    const n = this.current;
    return `${n.opType} node '${n.name || n.output?.[0] || '?'}'`;
  }

  private unsupported(problem: string, fix: string): never {
    throw new UnsupportedLayerError(`${this.where()}: ${problem}`, fix);
  }

  private value(name: string | undefined | null): Value {
    const v = name ? this.values.get(name) : undefined;
    if (!v) {
      throw new InvalidModelError(
        `${this.where()} reads '${name ?? ''}', which no earlier node or initializer produces`,
        'The graph is not topologically sorted or is missing a tensor; export the model again.',
      );
    }
    return v;
  }

  private constant(index: number, what: string): HostTensor {
    const v = this.value(this.current.input?.[index]);
    if (v.kind !== 'const') {
      this.unsupported(
        `its ${what} is computed at run time, not a constant`,
        'Export with constant weights and shapes (e.g. torch.onnx.export(..., do_constant_folding=True), or onnxsim).',
      );
    }
    return v.tensor;
  }

  private optionalConstant(index: number, what: string): HostTensor | undefined {
    return this.current.input?.[index] ? this.constant(index, what) : undefined;
  }

  /** A computed operand, as a layout-only node (Transpose) reads it. */
  private tensor(index: number): IrValue {
    const v = this.value(this.current.input?.[index]);
    if (v.kind !== 'ir') {
      this.unsupported(
        'an operand is a constant where a tensor was expected',
        'Fold constant subgraphs before export (onnxsim).',
      );
    }
    return v;
  }

  /** A computed operand of a computing node: the input's normalisation is fixed once one reads it. */
  private operand(index: number): IrValue {
    const v = this.tensor(index);
    if (v.node === this.inputNode) {
      const affine = v.affine ?? this.identityAffine();
      const seen = this.inputAffine;
      if (seen && JSON.stringify(seen) !== JSON.stringify(affine)) {
        this.unsupported(
          'the input is read both before and after its normalisation',
          'Normalise the input once, right after it, or leave normalisation out of the model.',
        );
      }
      this.inputAffine = affine;
    }
    return v;
  }

  private spatial(index: number): IrValue & { layout: { kind: 'nchw' } } {
    const v = this.operand(index);
    if (v.layout.kind !== 'nchw') {
      this.unsupported(
        v.layout.kind === 'nhwc'
          ? 'it reads an NHWC tensor, but ONNX convolutions and pooling take NCHW'
          : `it needs an image tensor but gets shape [batch, ${v.shape.join(', ')}]`,
        'Transpose the input to NCHW before this node (tf2onnx --inputs-as-nchw, or a Transpose [0, 3, 1, 2]).',
      );
    }
    return v as IrValue & { layout: { kind: 'nchw' } };
  }

  private flat(index: number): IrValue & { layout: { kind: 'flat' } } {
    const v = this.operand(index);
    if (v.layout.kind !== 'flat' || v.shape.length !== 1) {
      this.unsupported(
        `it needs a [batch, features] tensor but gets [batch, ${v.shape.join(', ')}]`,
        'Flatten the tensor before this node.',
      );
    }
    return v as IrValue & { layout: { kind: 'flat' } };
  }

  private setOutput(v: Value, index = 0) {
    const name = this.current.output?.[index];
    if (name) this.values.set(name, v);
  }

  /** Only the first output is supported; others (Dropout's mask, MaxPool's indices) must be unread. */
  private requireSingleOutput() {
    for (const extra of (this.current.output ?? []).slice(1)) {
      if (extra && this.readers.has(extra)) {
        this.unsupported(
          `its output '${extra}' is used`,
          'Export an inference graph (model.eval()).',
        );
      }
    }
  }

  private requireAttributes(allowed: string[]) {
    const extra = attributeNames(this.current).filter((a) => !allowed.includes(a));
    if (extra.length) {
      this.unsupported(
        `attribute ${extra.join(', ')} is not supported`,
        `Supported attributes: ${allowed.join(', ') || 'none'}.`,
      );
    }
  }

  private emit<K extends Op>(
    op: K,
    inputs: NodeId[],
    attrs: OpAttrs[K],
    weights: Record<string, HostTensor> = {},
    suffix = '',
  ): NodeId {
    const n = this.current;
    return this.ir.add(`${n.name || n.output?.[0] || op}${suffix}`, op, inputs, attrs, weights);
  }

  /** A new node's value, computed elementwise from `x` (same layout and shape). */
  private derived(x: IrValue, node: NodeId): IrValue {
    return { kind: 'ir', node, layout: x.layout, shape: x.shape };
  }

  private irShape(v: IrValue): number[] {
    return this.ir.shape(v.node);
  }

  // ------------------------------------------------------------------ input

  private addInput() {
    const g = this.model.graph!;
    const initializers = new Set((g.initializer ?? []).map((t) => t.name));
    const inputs = (g.input ?? []).filter((i) => !initializers.has(i.name));
    if (inputs.length !== 1) {
      throw new UnsupportedLayerError(
        `'${this.name}' has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')})`,
        'Export a model with one image input.',
      );
    }
    const input = inputs[0];
    const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) =>
      d.dimValue == null ? 0 : int(d.dimValue),
    );
    const rest = dims.slice(1);
    if (dims.length < 2 || rest.some((d) => d <= 0)) {
      throw new UnsupportedLayerError(
        `The input '${input.name}' has shape [${dims.map((d) => d || '?').join(', ')}]`,
        'Export the model with a fixed image size, e.g. [batch, 1, 28, 28] or [batch, 28, 28, 1].',
      );
    }
    if (dims[0] > 1) {
      throw new UnsupportedLayerError(
        `The input '${input.name}' fixes the batch to ${dims[0]}`,
        'Export with a dynamic batch (dynamic_axes) or a batch of 1.',
      );
    }
    let inputShape: number[];
    let layout: Layout;
    if (rest.length === 3) {
      layout = { kind: this.inputIsNhwc(input.name ?? '') ? 'nhwc' : 'nchw' };
      inputShape = layout.kind === 'nhwc' ? rest : [rest[1], rest[2], rest[0]];
    } else if (rest.length === 2) {
      inputShape = [...rest, 1]; // [batch, H, W]: a one-channel image
      layout = { kind: 'nhwc' };
    } else {
      const side = Math.round(Math.sqrt(rest[0]));
      if (rest.length !== 1 || side * side !== rest[0]) {
        throw new UnsupportedLayerError(
          `The input '${input.name}' has shape [batch, ${rest.join(', ')}]`,
          'Export the model with an image input: [batch, C, H, W], [batch, H, W, C] or [batch, H·W] for a square one-channel image.',
        );
      }
      inputShape = [side, side, 1]; // a flattened square one-channel image (an MLP)
      layout = { kind: 'flat' };
    }
    this.ir = new PendingGraph(inputShape);
    if (layout.kind === 'flat') {
      this.current = { name: 'input_flatten', opType: 'Flatten' };
      // A scalar normalisation after it commutes with this flatten.
      this.inputNode = this.emit('flatten', ['input'], {});
    }
    this.values.set(input.name ?? '', { kind: 'ir', node: this.inputNode, layout, shape: rest });
  }

  /** A rank-4 input is NHWC when the first layout-defining node after it is Transpose [0, 3, 1, 2]. */
  private inputIsNhwc(name: string): boolean {
    const nodes = this.model.graph!.node ?? [];
    const elementwise = new Set(['Sub', 'Div', 'Mul', 'Add', 'Identity']);
    let frontier = [name];
    for (let depth = 0; depth < 8 && frontier.length; depth++) {
      const next: string[] = [];
      for (const n of nodes.filter((n) => n.input?.some((i) => frontier.includes(i)))) {
        if (n.opType === 'Transpose') return (attrInts(n, 'perm') ?? []).join() === '0,3,1,2';
        if (!elementwise.has(n.opType ?? '')) return false;
        next.push(...(n.output ?? []));
      }
      frontier = next;
    }
    return false;
  }

  // ------------------------------------------------------------------ operators

  private convert(node: NodeProto) {
    if (node.domain && node.domain !== 'ai.onnx') {
      this.unsupported(
        `operator domain '${node.domain}' is not supported`,
        `Supported operators (default domain): ${SUPPORTED}.`,
      );
    }
    const inputs = (node.input ?? []).filter((i) => i);
    if (
      node.opType !== 'Constant' &&
      inputs.length &&
      inputs.every((i) => this.value(i).kind === 'const')
    ) {
      return this.setOutput({ kind: 'const', tensor: this.foldConstant(node) });
    }
    switch (node.opType) {
      case 'Constant':
        return this.setOutput({ kind: 'const', tensor: this.constantNode(node) });
      case 'Identity':
        return this.setOutput(this.value(node.input?.[0]));
      case 'Dropout': {
        this.requireSingleOutput();
        const ratio =
          this.opset < 12
            ? attrFloat(node, 'ratio', 0.5)
            : (this.optionalConstant(1, 'ratio')?.values[0] ?? 0.5);
        const x = this.operand(0);
        return this.setOutput(this.derived(x, this.emit('dropout', [x.node], { rate: ratio })));
      }
      case 'Conv':
        return this.conv(node);
      case 'Gemm':
      case 'MatMul':
        return this.dense(node);
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return this.arithmetic(node);
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh': {
        const x = this.operand(0);
        const fn = ({ Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh' } as const)[node.opType];
        return this.setOutput(this.derived(x, this.emit('activation', [x.node], { fn })));
      }
      case 'LeakyRelu': {
        const x = this.operand(0);
        const alpha = attrFloat(node, 'alpha', 0.01);
        return this.setOutput(this.derived(x, this.emit('leakyRelu', [x.node], { alpha })));
      }
      case 'Clip':
        return this.clip(node);
      case 'Softmax': {
        const x = this.flat(0);
        const axis = attrInt(node, 'axis', this.opset < 13 ? 1 : -1);
        if (axis !== 1 && axis !== -1)
          this.unsupported(`softmax over axis ${axis}`, 'Take the softmax over the class axis.');
        return this.setOutput(
          this.derived(x, this.emit('activation', [x.node], { fn: 'softmax' })),
        );
      }
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(node);
      case 'GlobalAveragePool': {
        const x = this.spatial(0);
        const id = this.emit('globalAvgPool', [x.node], {});
        return this.setOutput({
          kind: 'ir',
          node: id,
          layout: { kind: 'flat' },
          shape: [x.shape[0], 1, 1],
        });
      }
      case 'BatchNormalization':
        return this.batchNorm(node);
      case 'Flatten': {
        const axis = attrInt(node, 'axis', 1);
        if (axis !== 1)
          this.unsupported(`axis ${axis}`, 'Flatten everything after the batch (axis 1).');
        return this.setOutput(this.flatten(this.operand(0)));
      }
      case 'Reshape':
        return this.reshape();
      case 'Transpose':
        return this.transpose(node);
      case 'Concat':
        return this.concat(node);
      case 'Pad':
        return this.pad(node);
      default:
        this.unsupported(
          'this operator is not supported',
          `Supported operators: ${SUPPORTED}. Replace it before export, or fold it (onnxsim).`,
        );
    }
  }

  private constantNode(node: NodeProto): HostTensor {
    const t = attrTensor(node, 'value');
    if (t) return hostTensor(t, this.where());
    const ints = attrInts(node, 'value_ints');
    if (ints) return { dims: [ints.length], values: Float32Array.from(ints) };
    const names = attributeNames(node);
    if (names.includes('value_float') || names.includes('value_int')) {
      const v = names.includes('value_float')
        ? attrFloat(node, 'value_float', 0)
        : attrInt(node, 'value_int', 0);
      return { dims: [], values: Float32Array.of(v) };
    }
    const a = node.attribute?.find((x) => x.name === 'value_floats');
    if (a) return { dims: [a.floats?.length ?? 0], values: Float32Array.from(a.floats ?? []) };
    this.unsupported(
      `its value (${names.join(', ')}) is not a dense tensor`,
      'Store the constant as a dense tensor.',
    );
  }

  /** Evaluates a node whose inputs are all constants (weights reshaped or transposed before use). */
  private foldConstant(node: NodeProto): HostTensor {
    const arg = (i: number) => (this.value(node.input?.[i]) as ConstValue).tensor;
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        return arg(0);
      case 'Reshape': {
        const x = arg(0);
        const target = Array.from(arg(1).values, (d, i) => (d === 0 ? x.dims[i] : d));
        const known = size(target.filter((d) => d !== -1));
        const dims = target.map((d) => (d === -1 ? x.values.length / known : d));
        if (size(dims) !== x.values.length || dims.some((d) => !Number.isInteger(d) || d < 0)) {
          this.unsupported(
            `it reshapes a constant of shape [${x.dims.join(', ')}] to [${target.join(', ')}]`,
            'The shapes do not fit; export the model again.',
          );
        }
        return reshapeHost(x, dims);
      }
      case 'Flatten': {
        const x = arg(0);
        const axis = attrInt(node, 'axis', 1);
        return reshapeHost(x, [size(x.dims.slice(0, axis)), size(x.dims.slice(axis))]);
      }
      case 'Transpose': {
        const x = arg(0);
        const perm = attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i);
        if (perm.length !== x.dims.length || !x.dims.every((_, i) => perm.includes(i))) {
          this.unsupported(
            `perm [${perm.join(', ')}] is not a permutation of the axes of [${x.dims.join(', ')}]`,
            'The file is corrupt; export the model again.',
          );
        }
        return transposeHost(x, perm);
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const f = ARITHMETIC[node.opType.toLowerCase() as keyof typeof ARITHMETIC];
        return broadcastBinary(arg(0), arg(1), f, () => this.where());
      }
      default:
        this.unsupported(
          'it computes a constant with an operator this importer cannot evaluate',
          `Fold constants before export (onnxsim); operators: ${SUPPORTED}.`,
        );
    }
  }

  /** ONNX pads [top, left, bottom, right] (or auto_pad) as an IR padding, with an explicit zero pad when neither 'same' nor 'valid' fits. */
  private padding(
    node: NodeProto,
    [h, w]: number[],
    kernel: number[],
    strides: number[],
    dilations: number[],
  ): { padding: Padding; explicit?: [[number, number], [number, number]] } {
    const same = [
      samePads(h, kernel[0], strides[0], dilations[0]),
      samePads(w, kernel[1], strides[1], dilations[1]),
    ];
    const auto = attrString(node, 'auto_pad', 'NOTSET');
    let pads: number[];
    if (auto === 'SAME_UPPER') pads = [same[0][0], same[1][0], same[0][1], same[1][1]];
    else if (auto === 'SAME_LOWER') pads = [same[0][1], same[1][1], same[0][0], same[1][0]];
    else if (auto === 'VALID') pads = [0, 0, 0, 0];
    else pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4)
      this.unsupported(
        `pads ${pads.join(', ')}`,
        'Only 2-D convolutions and pooling are supported.',
      );
    if (pads.every((p) => p === 0)) return { padding: 'valid' };
    if (pads.join() === [same[0][0], same[1][0], same[0][1], same[1][1]].join())
      return { padding: 'same' };
    return {
      padding: 'valid',
      explicit: [
        [pads[0], pads[2]],
        [pads[1], pads[3]],
      ],
    };
  }

  private conv(node: NodeProto) {
    this.requireAttributes(['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad']);
    const x = this.spatial(0);
    const w = this.constant(1, 'weight');
    const bias = this.optionalConstant(2, 'bias');
    const [hIn, wIn, cIn] = this.irShape(x);
    if (w.dims.length !== 4)
      this.unsupported(
        `its weight has shape [${w.dims.join(', ')}]`,
        'Only 2-D convolutions are supported.',
      );
    const [out, perGroup, kh, kw] = w.dims;
    const strides = attrInts(node, 'strides') ?? [1, 1];
    const dilations = attrInts(node, 'dilations') ?? [1, 1];
    const group = attrInt(node, 'group', 1);
    const pad = this.padding(node, [hIn, wIn], [kh, kw], strides, dilations);
    let input = x.node;
    if (pad.explicit) input = this.emit('zeroPad', [input], { padding: pad.explicit }, {}, '_pad');
    const common = {
      kernelSize: [kh, kw] as [number, number],
      strides: strides as [number, number],
      padding: pad.padding,
      dilations: dilations as [number, number],
      useBias: !!bias,
    };
    let id: NodeId;
    if (group === 1 && perGroup === cIn) {
      const weights: Record<string, HostTensor> = { kernel: transposeHost(w, [2, 3, 1, 0]) };
      if (bias) weights.bias = bias;
      id = this.emit('conv2d', [input], { ...common, filters: out }, weights);
    } else if (group === cIn && perGroup === 1 && out % cIn === 0) {
      const m = out / cIn;
      const weights: Record<string, HostTensor> = {
        depthwiseKernel: transposeHost(reshapeHost(w, [cIn, m, kh, kw]), [2, 3, 0, 1]),
      };
      if (bias) weights.bias = bias;
      id = this.emit('depthwiseConv2d', [input], { ...common, depthMultiplier: m }, weights);
    } else {
      this.unsupported(
        `group ${group} with ${cIn} input channels and weight [${w.dims.join(', ')}]`,
        'Only ordinary (group 1) and depthwise (group = channels) convolutions are supported.',
      );
    }
    const [h, wo, c] = this.ir.shape(id);
    this.layerOutputs.set(id, node.output?.[0] ?? '');
    this.setOutput({ kind: 'ir', node: id, layout: { kind: 'nchw' }, shape: [c, h, wo] });
  }

  private pool(node: NodeProto) {
    const max = node.opType === 'MaxPool';
    this.requireSingleOutput();
    const x = this.spatial(0);
    const [h, w] = this.irShape(x);
    const kernel = attrInts(node, 'kernel_shape') ?? [];
    const strides = attrInts(node, 'strides') ?? [1, 1];
    if (kernel.length !== 2)
      this.unsupported(`kernel_shape [${kernel.join(', ')}]`, 'Only 2-D pooling is supported.');
    if ((attrInts(node, 'dilations') ?? [1, 1]).some((d) => d !== 1))
      this.unsupported('dilated pooling', 'Use undilated pooling.');
    const pad = this.padding(node, [h, w], kernel, strides, [1, 1]);
    const includePad = attrInt(node, 'count_include_pad', 0) === 1;
    let input = x.node;
    let padding = pad.padding;
    if (padding === 'same' && !max && includePad) {
      // TF's 'same' average leaves the padding out of the count; ONNX here counts it: pad with zeros.
      pad.explicit = [samePads(h, kernel[0], strides[0], 1), samePads(w, kernel[1], strides[1], 1)];
      padding = 'valid';
    }
    if (pad.explicit) {
      if (max || !includePad) {
        this.unsupported(
          `pads [${attrInts(node, 'pads')?.join(', ')}] are neither 'same' nor 'valid'`,
          'Pad symmetrically as TensorFlow’s "same" does, or pad with a Pad node before pooling.',
        );
      }
      input = this.emit('zeroPad', [input], { padding: pad.explicit }, {}, '_pad');
    }
    const attrs = {
      poolSize: kernel as [number, number],
      strides: strides as [number, number],
      padding,
    };
    const id = max ? this.emit('maxPool', [input], attrs) : this.emit('avgPool', [input], attrs);
    const [ho, wo, c] = this.ir.shape(id);
    if (attrInt(node, 'ceil_mode', 0) === 1) {
      const padded = pad.explicit ? this.ir.shape(input) : [h, w];
      const ceilOut =
        padding === 'same'
          ? [ho, wo]
          : [0, 1].map((a) => Math.ceil((padded[a] - kernel[a]) / strides[a]) + 1);
      if (ceilOut[0] !== ho || ceilOut[1] !== wo)
        this.unsupported('ceil_mode 1 changes the output size', 'Export with ceil_mode=False.');
    }
    this.setOutput({ kind: 'ir', node: id, layout: { kind: 'nchw' }, shape: [c, ho, wo] });
  }

  private batchNorm(node: NodeProto) {
    this.requireSingleOutput();
    if (attrInt(node, 'training_mode', 0) !== 0)
      this.unsupported('training_mode 1', 'Export the model in eval mode.');
    if (this.opset < 9 && attrInt(node, 'spatial', 1) !== 1)
      this.unsupported('spatial 0', 'Export with spatial=1 (per-channel statistics).');
    const x = this.operand(0);
    if (x.layout.kind === 'nhwc')
      this.unsupported(
        'it normalises axis 1 of an NHWC tensor',
        'Transpose to NCHW before the BatchNormalization.',
      );
    const chw = x.layout.kind === 'flat' ? x.layout.chw : undefined;
    const param = (i: number, what: string) => {
      const t = this.constant(i, what);
      return chw
        ? reshapeHost(permuteFlattenedRows(reshapeHost(t, [t.values.length, 1]), chw), t.dims)
        : t;
    };
    const weights = {
      gamma: param(1, 'scale'),
      beta: param(2, 'bias'),
      movingMean: param(3, 'mean'),
      movingVariance: param(4, 'variance'),
    };
    const attrs = {
      epsilon: attrFloat(node, 'epsilon', 1e-5),
      momentum: attrFloat(node, 'momentum', 0.9),
    };
    this.setOutput(this.derived(x, this.emit('batchNorm', [x.node], attrs, weights)));
  }

  /** Gemm (with transB, alpha, beta) and MatMul by a constant become a dense layer. */
  private dense(node: NodeProto) {
    const x = this.flat(0);
    let kernel = this.constant(1, 'weight');
    if (kernel.dims.length !== 2)
      this.unsupported(
        `its weight has shape [${kernel.dims.join(', ')}]`,
        'Multiply by a 2-D weight matrix.',
      );
    let bias: HostTensor | undefined;
    if (node.opType === 'Gemm') {
      if (attrInt(node, 'transA', 0) !== 0)
        this.unsupported('transA 1', 'Export with the input untransposed.');
      if (attrInt(node, 'transB', 0) === 1) kernel = transposeHost(kernel, [1, 0]);
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      kernel = { dims: kernel.dims, values: kernel.values.map((v) => v * alpha) };
      const c = this.optionalConstant(2, 'bias');
      if (c) bias = this.perChannel(c, [kernel.dims[1]], 0, beta);
    }
    const [rows, units] = kernel.dims;
    if (rows !== x.shape[0])
      this.unsupported(
        `its weight has ${rows} rows for ${x.shape[0]} input features`,
        'The weight does not fit the input; export the model again.',
      );
    if (x.layout.chw) kernel = permuteFlattenedRows(kernel, x.layout.chw);
    const weights: Record<string, HostTensor> = { kernel };
    if (bias) weights.bias = bias;
    const id = this.emit('dense', [x.node], { units, useBias: !!bias }, weights);
    this.layerOutputs.set(id, node.output?.[0] ?? '');
    this.setOutput({ kind: 'ir', node: id, layout: { kind: 'flat' }, shape: [units] });
  }

  /**
   * A constant broadcast over an ONNX tensor of `shape` (no batch) as one value per entry along
   * `axis`, times `scale`; refuses a constant that varies along any other axis.
   */
  private perChannel(
    c: HostTensor,
    shape: number[],
    axis: number,
    scale = 1,
    refusal: [string, string] = [
      'it adds a constant that is not one value per channel',
      'Only biases (one value per channel) are folded.',
    ],
  ): HostTensor {
    const full = [1, ...shape];
    const channels = shape[axis];
    const out = new Float32Array(channels).fill(NaN);
    const expanded = broadcastBinary(
      { dims: full, values: new Float32Array(size(full)) },
      c,
      (_, b) => b,
      () => this.where(),
    );
    if (expanded.dims.join() !== full.join()) {
      this.unsupported(
        `a constant of shape [${c.dims.join(', ')}] does not fit [batch, ${shape.join(', ')}]`,
        'Export the model again.',
      );
    }
    const inner = size(shape.slice(axis + 1));
    expanded.values.forEach((v, i) => {
      const ch = Math.floor(i / inner) % channels;
      if (Number.isNaN(out[ch])) out[ch] = v;
      else if (out[ch] !== v) this.unsupported(...refusal);
    });
    return { dims: [channels], values: out.map((v) => v * scale) };
  }

  /** Add/Sub/Mul/Div: a bias after a layer, the input's normalisation, or a residual Add. */
  private arithmetic(node: NodeProto) {
    const [a, b] = [this.value(node.input?.[0]), this.value(node.input?.[1])];
    if (a.kind === 'ir' && b.kind === 'ir') {
      if (node.opType !== 'Add')
        this.unsupported(
          'it combines two computed tensors',
          'Only Add (a residual connection) of two tensors is supported.',
        );
      const x = this.operand(0);
      const y = this.operand(1);
      if (
        JSON.stringify(x.layout) !== JSON.stringify(y.layout) ||
        x.shape.join() !== y.shape.join()
      ) {
        this.unsupported(
          `it adds [${x.shape.join(', ')}] and [${y.shape.join(', ')}] in different layouts`,
          'Add tensors of the same shape.',
        );
      }
      return this.setOutput(this.derived(x, this.emit('add', [x.node, y.node], {})));
    }
    const xIndex = a.kind === 'ir' ? 0 : 1;
    const x = (xIndex === 0 ? a : b) as IrValue;
    const c = ((xIndex === 0 ? b : a) as ConstValue).tensor;
    if (x.node === this.inputNode) return this.normalisation(node, x, c, xIndex);
    const producer = this.ir.node(x.node);
    const own = node.input?.[xIndex];
    const ownOutput =
      own !== undefined && this.layerOutputs.get(x.node) === own && this.readers.get(own) === 1;
    if ((node.opType === 'Add' || (node.opType === 'Sub' && xIndex === 0)) && ownOutput) {
      // A dense output's features, or a conv's NCHW channels (axis 0 either way).
      const add = this.perChannel(c, x.shape, 0, node.opType === 'Sub' ? -1 : 1);
      const old = producer.weights.bias?.values;
      producer.weights.bias = {
        dims: add.dims,
        values: add.values.map((v, i) => v + (old?.[i] ?? 0)),
      };
      (producer.node.attrs as { useBias: boolean }).useBias = true;
      return this.setOutput(x);
    }
    this.unsupported(
      `it applies a constant to '${x.node}', which is neither the input (normalisation) nor a layer's output (bias)`,
      'Fold the constant into the neighbouring layer before export (onnxsim), or leave it out of the model.',
    );
  }

  private identityAffine(): InputAffine {
    const channels = this.ir.shape('input')[2];
    return {
      scale: new Array<number>(channels).fill(1),
      shift: new Array<number>(channels).fill(0),
    };
  }

  /** Arithmetic by a constant right after the input: the model normalises its input itself. */
  private normalisation(node: NodeProto, x: IrValue, c: HostTensor, xIndex: number) {
    if (xIndex === 1 && node.opType !== 'Add' && node.opType !== 'Mul') {
      this.unsupported('the input is the divisor or subtrahend', 'Normalise as (x − mean) / std.');
    }
    const { scale, shift } = x.affine ?? this.identityAffine();
    const refusal: [string, string] = [
      'it normalises the input with a constant that is not one value per channel',
      'Normalise with one mean and std per channel, or outside the model.',
    ];
    // The channel axis of the ONNX tensor; a flat input has one channel.
    const axis = x.layout.kind === 'nchw' ? 0 : x.layout.kind === 'nhwc' ? 2 : -1;
    const shape = axis < 0 ? [size(x.shape)] : x.shape;
    const values = this.perChannel(c, shape, Math.max(axis, 0), 1, refusal).values;
    // A flat input is one channel: one value for all its features.
    if (axis < 0 && values.some((u) => u !== values[0])) this.unsupported(...refusal);
    const at = (k: number) => (axis < 0 ? values[0] : values[k]);
    const next = {
      Add: { scale, shift: shift.map((b, k) => b + at(k)) },
      Sub: { scale, shift: shift.map((b, k) => b - at(k)) },
      Mul: { scale: scale.map((a, k) => a * at(k)), shift: shift.map((b, k) => b * at(k)) },
      Div: { scale: scale.map((a, k) => a / at(k)), shift: shift.map((b, k) => b / at(k)) },
    }[node.opType as 'Add' | 'Sub' | 'Mul' | 'Div'];
    this.setOutput({ ...x, affine: next });
  }

  private clip(node: NodeProto) {
    const x = this.operand(0);
    const bound = (i: number, attr: string, fallback: number) =>
      this.opset < 11
        ? attrFloat(node, attr, fallback)
        : (this.optionalConstant(i, attr)?.values[0] ?? fallback);
    const min = bound(1, 'min', -Infinity);
    const max = bound(2, 'max', Infinity);
    const fn = min === 0 && max === 6 ? 'relu6' : min === 0 && max >= 3.4e38 ? 'relu' : undefined;
    if (!fn)
      this.unsupported(
        `clipping to [${min}, ${max}]`,
        'Only Clip(0, 6) (ReLU6) and Clip(0, ∞) (ReLU) are supported.',
      );
    this.setOutput(this.derived(x, this.emit('activation', [x.node], { fn })));
  }

  private flatten(x: IrValue): IrValue {
    const features = size(x.shape);
    if (x.layout.kind === 'flat') return { ...x, shape: [features] };
    const [h, w, c] = this.irShape(x);
    const chw =
      x.layout.kind === 'nchw' && c > 1 && h * w > 1
        ? ([c, h, w] as [number, number, number])
        : undefined;
    const id = this.emit('flatten', [x.node], {});
    return { kind: 'ir', node: id, layout: { kind: 'flat', chw }, shape: [features] };
  }

  private reshape() {
    const x = this.operand(0);
    const target = Array.from(this.constant(1, 'shape').values);
    const features = size(x.shape);
    const rest = target.slice(1).map((d, i) => (d === 0 ? x.shape[i] : d));
    const known = size(rest.filter((d) => d !== -1));
    // The batch entry may be -1, 0 (copy) or a fixed 1 (tf2onnx): all mean "the batch" here.
    const batchOk =
      target[0] === 0 ||
      target[0] === 1 ||
      (target[0] === -1 && !rest.includes(-1) && known === features);
    const resolved = rest.map((d) => (d === -1 ? features / known : d));
    if (!batchOk || size(resolved) !== features) {
      this.unsupported(
        `reshaping [batch, ${x.shape.join(', ')}] to [${target.join(', ')}] changes the batch`,
        'Keep the batch as the first axis.',
      );
    }
    if (resolved.join() === x.shape.join()) return this.setOutput(x);
    if (resolved.length === 1) return this.setOutput(this.flatten(x));
    if (resolved.length === 3 && x.layout.kind === 'flat' && !x.layout.chw && resolved[0] === 1) {
      const [, h, w] = resolved;
      const id = this.emit('reshape', [x.node], { targetShape: [h, w, 1] });
      return this.setOutput({ kind: 'ir', node: id, layout: { kind: 'nchw' }, shape: resolved });
    }
    this.unsupported(
      `reshaping [batch, ${x.shape.join(', ')}] to [${target.join(', ')}]`,
      'Only flattening (to [batch, features]) and one-channel images from features are supported.',
    );
  }

  private transpose(node: NodeProto) {
    const x = this.tensor(0);
    const perm = (
      attrInts(node, 'perm') ?? [0, ...x.shape.map((_, i) => x.shape.length - i)]
    ).join();
    const identity = [0, ...x.shape.map((_, i) => i + 1)].join();
    if (perm === identity) return this.setOutput(x);
    const s = x.shape;
    if (perm === '0,3,1,2' && x.layout.kind === 'nhwc') {
      return this.setOutput({ ...x, layout: { kind: 'nchw' }, shape: [s[2], s[0], s[1]] });
    }
    if (perm === '0,2,3,1' && x.layout.kind === 'nchw') {
      return this.setOutput({ ...x, layout: { kind: 'nhwc' }, shape: [s[1], s[2], s[0]] });
    }
    this.unsupported(
      `permutation [${perm}] of a ${x.layout.kind.toUpperCase()} tensor`,
      'Only the NHWC ↔ NCHW transposes ([0, 3, 1, 2] and [0, 2, 3, 1]) are supported.',
    );
  }

  /** Zero padding of H and W (what this workbench's export writes for a zeroPad node). */
  private pad(node: NodeProto) {
    const x = this.spatial(0);
    const pads =
      this.opset < 11
        ? (attrInts(node, 'pads') ?? [])
        : Array.from(this.constant(1, 'pads').values);
    const value =
      this.opset < 11
        ? attrFloat(node, 'value', 0)
        : (this.optionalConstant(2, 'constant_value')?.values[0] ?? 0);
    const mode = attrString(node, 'mode', 'constant');
    const [nb, cb, top, left, ne, ce, bottom, right] = pads;
    if (
      mode !== 'constant' ||
      value !== 0 ||
      pads.length !== 8 ||
      nb ||
      cb ||
      ne ||
      ce ||
      pads.some((p) => p < 0)
    ) {
      this.unsupported(
        `${mode} padding by [${pads.join(', ')}] with ${value}`,
        'Only zero padding of height and width is supported.',
      );
    }
    const id = this.emit('zeroPad', [x.node], {
      padding: [
        [top, bottom],
        [left, right],
      ],
    });
    const [h, w, c] = this.ir.shape(id);
    this.setOutput({ kind: 'ir', node: id, layout: { kind: 'nchw' }, shape: [c, h, w] });
  }

  private concat(node: NodeProto) {
    const xs = (node.input ?? []).map((_, i) => this.operand(i));
    if (xs.length === 0) this.unsupported('it has no inputs', 'Export the model again.');
    const layout = xs[0].layout;
    if (
      xs.some((x) => JSON.stringify(x.layout) !== JSON.stringify(layout)) ||
      (layout.kind === 'flat' && layout.chw)
    ) {
      this.unsupported(
        'it joins tensors of different layouts',
        'Concatenate tensors of the same layout.',
      );
    }
    const rank = xs[0].shape.length + 1;
    const raw = attrInt(node, 'axis', 1);
    const axis = raw < 0 ? raw + rank : raw;
    if (axis === 0)
      this.unsupported('it concatenates along the batch', 'Concatenate along the channels.');
    const irAxis = layout.kind === 'nchw' ? [0, 3, 1, 2][axis] : axis;
    const id = this.emit(
      'concat',
      xs.map((x) => x.node),
      { axis: irAxis },
    );
    const shape = [...xs[0].shape];
    shape[axis - 1] = xs.reduce((sum, x) => sum + x.shape[axis - 1], 0);
    this.setOutput({ kind: 'ir', node: id, layout, shape });
  }
}

/** The arithmetic importers evaluate on constants, by ONNX's names in lower case. */
export const ARITHMETIC = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
};

/** numpy-style broadcasting of a binary operation on host tensors. */
export function broadcastBinary(
  a: HostTensor,
  b: HostTensor,
  f: (x: number, y: number) => number,
  where: () => string,
): HostTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims = da.map((d, i) => {
    if (d !== db[i] && d !== 1 && db[i] !== 1) {
      throw new InvalidModelError(
        `${where()}: shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast`,
        'The file is corrupt; export the model again.',
      );
    }
    return Math.max(d, db[i]);
  });
  const strides = (d: number[]) => d.map((n, i) => (n === 1 ? 0 : size(d.slice(i + 1))));
  const [sa, sb] = [strides(da), strides(db)];
  if (size(dims) > MAX_MODEL_BYTES / 4) {
    throw new InvalidModelError(
      `${where()}: broadcasting [${a.dims.join(', ')}] with [${b.dims.join(', ')}] makes a constant larger than ${MAX_MODEL_BYTES / 2 ** 20} MiB`,
      'The file is corrupt or not a small image classifier.',
    );
  }
  const values = new Float32Array(size(dims));
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < values.length; o++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      ia += index[k] * sa[k];
      ib += index[k] * sb[k];
    }
    values[o] = f(a.values[ia], b.values[ib]);
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return { dims, values };
}
