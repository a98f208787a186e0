// The Deep Compression storage format (Han, Mao & Dally, ICLR 2016, §2 and §4) as a real byte
// stream: per layer kernel, the non-zeros with RELATIVE indices (the gap to the previous
// non-zero in b_idx bits: 8 for conv, 5 for dense layers; a longer gap gets a filler zero entry),
// each weight as a log2(k)-bit index into the layer's codebook of shared values, and optionally
// Huffman coding of the index and gap streams with their tables. Every other tensor (biases,
// BatchNorm) is float32. What the stream holds is exactly the weights: decodeModel(encodeModel(g))
// gives them back bit for bit (a −0 reads back as 0).
import * as tf from '@tensorflow/tfjs';
import { type Graph, type NodeId } from '../graph';
import { BitReader, BitWriter, fixedBits, readHuffman, writeHuffman } from './huffman';

/**
 * How one tensor is stored. float32: every value. codebook: every value as an index into the
 * tensor's distinct values. sparse-*: (gap, value) entries for the non-zeros (and fillers), the
 * value a float32 or a codebook index (index 0 is the zero of the fillers, not stored).
 */
export type TensorLayout = 'float32' | 'codebook' | 'sparse-float32' | 'sparse-codebook';
const LAYOUTS: readonly TensorLayout[] = [
  'float32',
  'codebook',
  'sparse-float32',
  'sparse-codebook',
];

/** A codebook holds at most 2^8 values (the paper's widest, 8-bit conv layers). */
const MAX_CODEBOOK = 256;
const MAGIC = [0x44, 0x43, 0x4d, 0x50]; // "DCMP"
const VERSION = 1;

export interface StoredTensor {
  node: NodeId;
  weight: string;
  shape: number[];
  values: Float32Array;
  /** b_idx of a compressible kernel; absent: stored as float32 (biases, BatchNorm, …). */
  indexBits?: number;
}

/** Where one tensor's bytes went: the report's storage table. */
export interface TensorStorage {
  node: NodeId;
  weight: string;
  layout: TensorLayout;
  size: number;
  nonZeros: number;
  /** Stored entries of a sparse layout: the non-zeros plus the fillers. */
  entries: number;
  fillers: number;
  /** b_idx of a sparse layout's gaps, else 0. */
  gapBits: number;
  /** Bits per weight at fixed length: log2 of the codebook size, or 32. */
  weightBits: number;
  /** Codebook size k (with a sparse layout's implicit zero), else 0. */
  codebook: number;
  headerBytes: number;
  codebookBytes: number;
  /** The cluster index stream, or the float32 values. */
  weightBytes: number;
  gapBytes: number;
  /** Huffman tables of both streams. */
  tableBytes: number;
  bytes: number;
}

export interface EncodedModel {
  bytes: Uint8Array;
  huffman: boolean;
  tensors: TensorStorage[];
  /** The stream's own header (magic, version, flags, tensor count). */
  headerBytes: number;
  /** Non-zero values over all tensors. */
  nonZeros: number;
}

export interface DecodedTensor {
  shape: number[];
  values: Float32Array;
}

/** b_idx of Deep Compression: 8 bits for conv layers, 5 for fully connected ones. */
function gapBitsOf(op: string): number | undefined {
  if (op === 'conv2d' || op === 'depthwiseConv2d') return 8;
  if (op === 'dense') return 5;
  return undefined;
}

/** Every tensor of the graph in node order (the order the stream keeps), kernels marked. */
export async function readTensors(g: Graph): Promise<StoredTensor[]> {
  const out: StoredTensor[] = [];
  for (const node of g.nodes) {
    for (const [weight, v] of Object.entries(node.weights)) {
      const kernel = weight === 'kernel' || weight === 'depthwiseKernel';
      const indexBits = kernel ? gapBitsOf(node.op) : undefined;
      out.push({
        node: node.id,
        weight,
        shape: [...v.shape],
        values: (await v.data()) as Float32Array,
        ...(indexBits !== undefined && { indexBits }),
      });
    }
  }
  return out;
}

/**
 * Relative indices of the non-zeros: gap g = p_i − p_(i−1) (p_0 = −1) stored as g − 1 in b bits;
 * a gap over 2^b gets a filler entry (value 0) every 2^b positions.
 */
export function relativeIndices(
  values: ArrayLike<number>,
  gapBits: number,
): { gaps: Int32Array; positions: Int32Array; fillers: number } {
  const maxGap = 2 ** gapBits;
  const gaps: number[] = [];
  const positions: number[] = [];
  let fillers = 0;
  let prev = -1;
  for (let p = 0; p < values.length; p++) {
    if (values[p] === 0) continue;
    while (p - prev > maxGap) {
      prev += maxGap;
      gaps.push(maxGap - 1);
      positions.push(prev);
      fillers++;
    }
    gaps.push(p - prev - 1);
    positions.push(p);
    prev = p;
  }
  return { gaps: Int32Array.from(gaps), positions: Int32Array.from(positions), fillers };
}

/** Distinct values, ascending (−0 counts as 0). */
function distinctValues(values: ArrayLike<number>, skipZero: boolean): Float32Array {
  const set = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    if (!(skipZero && values[i] === 0)) set.add(values[i] === 0 ? 0 : values[i]);
  }
  return Float32Array.from(set).sort();
}

interface Plan {
  layout: TensorLayout;
  /** Codebook as stored (a sparse layout's leading zero not included). */
  codebook?: Float32Array;
  sparse?: ReturnType<typeof relativeIndices>;
}

/** The layout with the fewest fixed-length bits the tensor allows. */
function planTensor(t: StoredTensor): Plan {
  if (t.indexBits === undefined) return { layout: 'float32' };
  const n = t.values.length;
  const all = distinctValues(t.values, false);
  const nonZero = distinctValues(t.values, true);
  const sparse = relativeIndices(t.values, t.indexBits);
  const a = sparse.gaps.length;
  const options: [number, Plan][] = [[32 * n, { layout: 'float32' }]];
  if (all.length <= MAX_CODEBOOK) {
    options.push([
      32 * all.length + n * fixedBits(all.length),
      { layout: 'codebook', codebook: all },
    ]);
  }
  options.push([a * (t.indexBits + 32), { layout: 'sparse-float32', sparse }]);
  if (nonZero.length + 1 <= MAX_CODEBOOK) {
    options.push([
      32 * nonZero.length + a * (t.indexBits + fixedBits(nonZero.length + 1)),
      { layout: 'sparse-codebook', codebook: nonZero, sparse },
    ]);
  }
  return options.reduce((best, o) => (o[0] < best[0] ? o : best))[1];
}

/** A symbol stream at fixed length, or Huffman-coded with its table. */
function writeStream(
  w: BitWriter,
  symbols: ArrayLike<number>,
  alphabet: number,
  huffman: boolean,
): { tableBytes: number; streamBytes: number } {
  if (huffman) return writeHuffman(w, symbols, alphabet);
  const start = w.size;
  const width = fixedBits(alphabet);
  for (let i = 0; i < symbols.length; i++) w.bits(symbols[i], width);
  w.align();
  return { tableBytes: 0, streamBytes: w.size - start };
}

function readStream(r: BitReader, count: number, alphabet: number, huffman: boolean): Int32Array {
  if (huffman) return readHuffman(r, count, alphabet);
  const width = fixedBits(alphabet);
  const out = Int32Array.from({ length: count }, () => r.bits(width));
  r.align();
  return out;
}

/** Codebook indices of `values` (index 0 is the zero when `zeroFirst`). */
function codebookIndices(
  values: ArrayLike<number>,
  codebook: Float32Array,
  zeroFirst: boolean,
): Int32Array {
  const index = new Map<number, number>();
  codebook.forEach((c, i) => index.set(c, i + (zeroFirst ? 1 : 0)));
  if (zeroFirst) index.set(0, 0);
  return Int32Array.from(values, (v) => index.get(v)!);
}

/** The stream of `tensors`; with `huffman`, both symbol streams of every layer Huffman-coded. */
export function encodeTensors(tensors: StoredTensor[], opts: { huffman: boolean }): EncodedModel {
  const w = new BitWriter();
  for (const b of MAGIC) w.byte(b);
  w.byte(VERSION);
  w.byte(opts.huffman ? 1 : 0);
  w.varint(tensors.length);
  const headerBytes = w.size;
  let nonZeros = 0;
  const storage = tensors.map((t): TensorStorage => {
    const start = w.size;
    const plan = planTensor(t);
    const n = t.values.length;
    const nz = t.values.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
    nonZeros += nz;
    w.byte(LAYOUTS.indexOf(plan.layout));
    w.varint(t.shape.length);
    for (const d of t.shape) w.varint(d);
    const sparse = plan.sparse;
    if (sparse) {
      w.byte(t.indexBits!);
      w.varint(sparse.gaps.length);
    }
    const k = plan.codebook ? plan.codebook.length + (sparse ? 1 : 0) : 0;
    if (plan.codebook) w.varint(k);
    const headerEnd = w.size;
    if (plan.codebook) w.float32s(plan.codebook);
    const codebookBytes = w.size - headerEnd;
    let gaps = { tableBytes: 0, streamBytes: 0 };
    if (sparse) gaps = writeStream(w, sparse.gaps, 2 ** t.indexBits!, opts.huffman);
    // The weights: every value, or those at the stored entries (a filler's is 0).
    const kept = sparse ? Float32Array.from(sparse.positions, (p) => t.values[p]) : t.values;
    let weights = { tableBytes: 0, streamBytes: 0 };
    if (plan.codebook) {
      const indices = codebookIndices(kept, plan.codebook, sparse !== undefined);
      weights = writeStream(w, indices, k, opts.huffman);
    } else {
      const at = w.size;
      w.float32s(kept);
      weights.streamBytes = w.size - at;
    }
    return {
      node: t.node,
      weight: t.weight,
      layout: plan.layout,
      size: n,
      nonZeros: nz,
      entries: sparse?.gaps.length ?? 0,
      fillers: sparse?.fillers ?? 0,
      gapBits: sparse ? t.indexBits! : 0,
      weightBits: plan.codebook ? fixedBits(k) : 32,
      codebook: k,
      headerBytes: headerEnd - start,
      codebookBytes,
      weightBytes: weights.streamBytes,
      gapBytes: gaps.streamBytes,
      tableBytes: gaps.tableBytes + weights.tableBytes,
      bytes: w.size - start,
    };
  });
  return { bytes: w.finish(), huffman: opts.huffman, tensors: storage, headerBytes, nonZeros };
}

/** Encodes every weight of `g` (kernels of conv and dense layers in the Deep Compression format). */
export async function encodeModel(g: Graph, opts: { huffman: boolean }): Promise<EncodedModel> {
  return encodeTensors(await readTensors(g), opts);
}

/** The tensors a stream holds, in the graph's node order. */
export function decodeModel(bytes: Uint8Array): DecodedTensor[] {
  const r = new BitReader(bytes);
  if (MAGIC.some((b) => r.byte() !== b)) throw new RangeError('Not a Deep Compression stream');
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`Stream version ${version}, expected ${VERSION}`);
  const huffman = r.byte() === 1;
  const count = r.varint();
  const out: DecodedTensor[] = [];
  for (let t = 0; t < count; t++) {
    const layout = LAYOUTS[r.byte()];
    if (!layout) throw new RangeError(`Tensor ${t}: unknown layout`);
    const shape = Array.from({ length: r.varint() }, () => r.varint());
    const n = shape.reduce((a, b) => a * b, 1);
    const sparse = layout.startsWith('sparse');
    const gapBits = sparse ? r.byte() : 0;
    const entries = sparse ? r.varint() : n;
    const k = layout.endsWith('codebook') ? r.varint() : 0;
    const codebook = k > 0 ? r.float32s(sparse ? k - 1 : k) : undefined;
    const gaps = sparse ? readStream(r, entries, 2 ** gapBits, huffman) : undefined;
    let kept: Float32Array;
    if (codebook) {
      const table = sparse ? Float32Array.of(0, ...codebook) : codebook;
      kept = Float32Array.from(readStream(r, entries, k, huffman), (i) => table[i]);
    } else {
      kept = r.float32s(entries);
    }
    let values = kept;
    if (gaps) {
      values = new Float32Array(n);
      let p = -1;
      for (let i = 0; i < entries; i++) {
        p += gaps[i] + 1;
        if (p >= n) throw new RangeError(`Tensor ${t}: an entry lies past its ${n} values`);
        values[p] = kept[i];
      }
    }
    out.push({ shape, values });
  }
  if (!r.done) throw new RangeError('Bytes left over after the last tensor');
  return out;
}

/** Writes decoded tensors into the graph's variables (same order and shapes as encoded). */
export function assignDecoded(g: Graph, decoded: DecodedTensor[]): void {
  const variables = g.nodes.flatMap((n) => Object.values(n.weights));
  if (variables.length !== decoded.length) {
    throw new RangeError(
      `The stream holds ${decoded.length} tensors, the graph ${variables.length}`,
    );
  }
  variables.forEach((v, i) => {
    if (v.shape.join() !== decoded[i].shape.join()) {
      throw new RangeError(`Tensor ${i} (${v.name}): shape ${decoded[i].shape} vs ${v.shape}`);
    }
    tf.tidy(() => v.assign(tf.tensor(decoded[i].values, decoded[i].shape)));
  });
}
