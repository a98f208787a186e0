// The ONNX protobuf messages (onnx-proto's generated protobufjs code) and the host-side
// tensors both directions share: decoding TensorProto, attribute readers, axis permutations.
import onnxProto from 'onnx-proto';
import { InvalidModelError } from '../../runtime/errors';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ModelProto = onnxProto.onnx.IModelProto;

/** A constant on the host: weights, shapes and attributes are small enough to handle in JS. */
export interface HostTensor {
  dims: number[];
  values: Float32Array;
}

/** protobufjs decodes int64 fields as numbers or Long objects. */
export function int(v: number | { toNumber(): number } | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

const DataType = onnx.TensorProto.DataType;

/**
 * Copies `raw` (an unaligned view into the model's bytes; in Node a Buffer, whose slice() would
 * not copy) into a fresh buffer.
 */
function rawAs<T>(
  raw: Uint8Array,
  view: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  what: string,
): T {
  if (raw.length % view.BYTES_PER_ELEMENT !== 0) {
    throw new InvalidModelError(
      `${what} has ${raw.length} bytes of data, not a whole number of ${view.BYTES_PER_ELEMENT}-byte values`,
      'The file is corrupt; export the model again.',
    );
  }
  return new view(new Uint8Array(raw).buffer);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A TensorProto's values as float32 (integers too: they only hold shapes and axes here). */
export function hostTensor(t: TensorProto, what: string): HostTensor {
  const dims = (t.dims ?? []).map(int);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidModelError(
      `${what} has the shape [${dims.join(', ')}]`,
      'The file is corrupt; export the model again.',
    );
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new InvalidModelError(
      `${what} keeps its data in an external file`,
      'Save the model as one .onnx file (onnx.save with save_as_external_data=False).',
    );
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  let values: ArrayLike<number>;
  switch (t.dataType) {
    case DataType.FLOAT:
      values = raw ? rawAs(raw, Float32Array, what) : (t.floatData ?? []);
      break;
    case DataType.DOUBLE:
      values = raw ? rawAs(raw, Float64Array, what) : (t.doubleData ?? []);
      break;
    case DataType.FLOAT16: {
      const halves = raw ? rawAs(raw, Uint16Array, what) : (t.int32Data ?? []);
      values = Array.from(halves, halfToFloat);
      break;
    }
    case DataType.INT64:
      values = raw
        ? Array.from(rawAs(raw, BigInt64Array, what), Number)
        : (t.int64Data ?? []).map(int);
      break;
    case DataType.INT32:
      values = raw ? rawAs(raw, Int32Array, what) : (t.int32Data ?? []);
      break;
    default:
      throw new InvalidModelError(
        `${what} has element type ${DataType[t.dataType ?? 0] ?? t.dataType}`,
        'Only float32/float16/float64 weights and int32/int64 shapes are read; export a float model (not quantized).',
      );
  }
  if (values.length !== size(dims)) {
    throw new InvalidModelError(
      `${what} has ${values.length} values but its shape [${dims.join(', ')}] needs ${size(dims)}`,
      'The file is corrupt; export the model again.',
    );
  }
  return { dims, values: Float32Array.from(values) };
}

type Attribute = onnxProto.onnx.IAttributeProto;

function attribute(node: NodeProto, name: string): Attribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? int(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? (a.f ?? 0) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a ? (a.ints ?? []).map(int) : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return attribute(node, name)?.t ?? undefined;
}

export function attributeNames(node: NodeProto): string[] {
  return (node.attribute ?? []).map((a) => a.name ?? '');
}

/** numpy.transpose of a host tensor. */
export function transposeHost(t: HostTensor, perm: readonly number[]): HostTensor {
  const dims = perm.map((p) => t.dims[p]);
  const inStrides = t.dims.map((_, i) => size(t.dims.slice(i + 1)));
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(t.values.length);
  const index = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let from = 0;
    for (let k = 0; k < dims.length; k++) from += index[k] * strides[k];
    out[o] = t.values[from];
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return { dims, values: out };
}

export const reshapeHost = (t: HostTensor, dims: number[]): HostTensor => ({
  dims,
  values: t.values,
});

/**
 * Reorders the rows of a [features, n] matrix read from a flattened [C, H, W] map (ONNX's NCHW
 * flatten) into the IR's flatten order of the same map stored [H, W, C]; `inverse` goes back.
 */
export function permuteFlattenedRows(
  m: HostTensor,
  [c, h, w]: readonly [number, number, number],
  inverse = false,
): HostTensor {
  const n = m.values.length / (c * h * w);
  const permuted = inverse
    ? transposeHost(reshapeHost(m, [h, w, c, n]), [2, 0, 1, 3])
    : transposeHost(reshapeHost(m, [c, h, w, n]), [1, 2, 0, 3]);
  return reshapeHost(permuted, m.dims);
}

/** TensorFlow's 'same' padding of one axis: [before, after], the extra pixel after. */
export function samePads(size: number, kernel: number, stride: number, dilation: number) {
  const extent = (kernel - 1) * dilation + 1;
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + extent - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
}

// ---------------------------------------------------------------- writing

type AttributeValue =
  number | number[] | string | { int: number } | { ints: number[] } | { tensor: TensorProto };

/** An attribute: a float, floats, a string, or integers and tensors marked { int } / { ints } / { tensor }. */
function attributeProto(name: string, value: AttributeValue): Attribute {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: T.FLOAT, f: value };
  if (typeof value === 'string')
    return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: T.FLOATS, floats: value };
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('tensor' in value) return { name, type: T.TENSOR, t: value.tensor };
  return { name, type: T.INTS, ints: value.ints };
}

export function nodeProto(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttributeValue> = {},
  name = outputs[0],
): NodeProto {
  return {
    opType,
    name,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
  };
}

/** A float32 tensor, or an int64 one (shapes, pads) when `int64`. */
export function tensorProto(name: string, t: HostTensor, int64 = false): TensorProto {
  if (int64) {
    return { name, dims: t.dims, dataType: DataType.INT64, int64Data: Array.from(t.values) };
  }
  const bytes = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
  return { name, dims: t.dims, dataType: DataType.FLOAT, rawData: bytes.slice() };
}

/** A graph input or output: float32 with a dynamic first (batch) axis when `batch` is a name. */
export function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  };
}

export function encodeModel(graph: onnxProto.onnx.IGraphProto, opset: number): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 7,
    producerName: 'Compression Lab',
    opsetImport: [{ domain: '', version: opset }],
    graph,
  }).finish();
}
