// Huffman coding (Huffman 1952) of the symbol streams of Deep Compression (Han, Mao & Dally,
// ICLR 2016, §4): the weights' cluster indices and the sparse relative indices, both skewed.
// Codes are canonical (DEFLATE's convention, RFC 1951 §3.2.2), so a table is its code lengths,
// stored as the count of codes per length and the symbols in code order.

/** MSB-first bit writer that also writes whole bytes, varints and float32 once byte-aligned. */
export class BitWriter {
  private buf = new Uint8Array(256);
  private length = 0;
  private acc = 0;
  private nbits = 0;

  private push(byte: number): void {
    if (this.length === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = byte;
  }

  /** The `n` low bits of `value` (n ≤ 24), most significant first. */
  bits(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.nbits === 8) {
        this.push(this.acc);
        this.acc = 0;
        this.nbits = 0;
      }
    }
  }

  /** Pads the last byte with zero bits. */
  align(): void {
    if (this.nbits > 0) this.bits(0, 8 - this.nbits);
  }

  byte(b: number): void {
    this.align();
    this.push(b & 0xff);
  }

  /** Unsigned LEB128. */
  varint(v: number): void {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`varint: ${v} is not a count`);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  /** Little-endian, as TF.js weight shards. */
  float32s(values: ArrayLike<number>): void {
    this.align();
    const view = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < values.length; i++) {
      view.setFloat32(0, values[i], true);
      for (let b = 0; b < 4; b++) this.push(view.getUint8(b));
    }
  }

  /** Bytes written so far (a partial last byte counts). */
  get size(): number {
    return this.length + (this.nbits > 0 ? 1 : 0);
  }

  finish(): Uint8Array {
    this.align();
    return this.buf.slice(0, this.length);
  }
}

export class BitReader {
  private pos = 0;
  private bit = 0;

  constructor(private bytes: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new RangeError(`Truncated stream: needed ${n} more byte(s) at byte ${this.pos}`);
    }
  }

  readBit(): number {
    this.need(1);
    const b = (this.bytes[this.pos] >>> (7 - this.bit)) & 1;
    if (++this.bit === 8) {
      this.bit = 0;
      this.pos++;
    }
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.readBit();
    return v;
  }

  align(): void {
    if (this.bit > 0) {
      this.bit = 0;
      this.pos++;
    }
  }

  byte(): number {
    this.align();
    this.need(1);
    return this.bytes[this.pos++];
  }

  varint(): number {
    let v = 0;
    for (let scale = 1; ; scale *= 0x80) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
    }
  }

  float32s(count: number): Float32Array {
    this.align();
    this.need(count * 4);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, count * 4);
    this.pos += count * 4;
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  }

  get done(): boolean {
    return this.pos === this.bytes.length && this.bit === 0;
  }
}

/**
 * Huffman code lengths for symbol frequencies (0 for a symbol that never occurs). Ties are
 * broken by symbol (leaves before merged nodes), so the code is a function of the frequencies.
 * A lone symbol gets a 1-bit code, so that every occurrence still takes a bit.
 */
export function huffmanCodeLengths(freqs: ArrayLike<number>): Uint8Array {
  const lengths = new Uint8Array(freqs.length);
  const leaves = Array.from({ length: freqs.length }, (_, s) => s)
    .filter((s) => freqs[s] > 0)
    .sort((a, b) => freqs[a] - freqs[b] || a - b);
  if (leaves.length === 1) lengths[leaves[0]] = 1;
  if (leaves.length <= 1) return lengths;
  // Two-queue construction: leaves sorted by weight, merged nodes come out in weight order.
  const weight: number[] = leaves.map((s) => freqs[s]);
  const parent: number[] = leaves.map(() => -1);
  const merged: number[] = [];
  let li = 0;
  let mi = 0;
  const take = () =>
    mi >= merged.length || (li < leaves.length && weight[li] <= weight[merged[mi]])
      ? li++
      : merged[mi++];
  for (let made = 0; made < leaves.length - 1; made++) {
    const a = take();
    const b = take();
    const node = weight.length;
    weight.push(weight[a] + weight[b]);
    parent.push(-1);
    parent[a] = node;
    parent[b] = node;
    merged.push(node);
  }
  const depth = new Array<number>(weight.length).fill(0);
  for (let node = weight.length - 2; node >= 0; node--) depth[node] = depth[parent[node]] + 1;
  leaves.forEach((s, i) => (lengths[s] = depth[i]));
  return lengths;
}

/** Canonical codes for code lengths: shorter codes first, then by symbol (RFC 1951 §3.2.2). */
export function canonicalCodes(lengths: ArrayLike<number>): Uint32Array {
  const max = Math.max(0, ...Array.from(lengths));
  const count = new Uint32Array(max + 1);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] > 0) count[lengths[s]]++;
  const next = new Uint32Array(max + 1);
  for (let len = 1, code = 0; len <= max; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] > 0) codes[s] = next[lengths[s]]++;
  return codes;
}

/** Bits to write one symbol of an alphabet of `size` symbols at fixed length. */
export function fixedBits(size: number): number {
  return Math.max(1, Math.ceil(Math.log2(size)));
}

/**
 * Writes the table (the longest length, the count of codes of each length, then the used
 * symbols in code order at fixed length) and the coded symbols, and aligns to a byte. The two
 * parts' bytes are returned for the storage breakdown.
 */
export function writeHuffman(
  w: BitWriter,
  symbols: ArrayLike<number>,
  alphabetSize: number,
): { tableBytes: number; streamBytes: number } {
  const freqs = new Float64Array(alphabetSize);
  for (let i = 0; i < symbols.length; i++) freqs[symbols[i]]++;
  const lengths = huffmanCodeLengths(freqs);
  const codes = canonicalCodes(lengths);
  const start = w.size;
  const max = Math.max(0, ...lengths);
  // Reached only by Fibonacci-like frequencies summing past 2^31; the decoder reads codes as int32.
  if (max > 31)
    throw new RangeError(`Huffman code of ${max} bits: the stream is too skewed to code`);
  w.byte(max);
  for (let len = 1; len <= max; len++) w.varint(lengths.filter((l) => l === len).length);
  const width = fixedBits(alphabetSize);
  for (let len = 1; len <= max; len++) {
    for (let s = 0; s < alphabetSize; s++) if (lengths[s] === len) w.bits(s, width);
  }
  w.align();
  const tableBytes = w.size - start;
  for (let i = 0; i < symbols.length; i++) w.bits(codes[symbols[i]], lengths[symbols[i]]);
  w.align();
  return { tableBytes, streamBytes: w.size - start - tableBytes };
}

/** Reads what writeHuffman wrote: `count` symbols of an alphabet of `alphabetSize`. */
export function readHuffman(r: BitReader, count: number, alphabetSize: number): Int32Array {
  const max = r.byte();
  const perLength = Int32Array.from({ length: max + 1 }, (_, len) => (len === 0 ? 0 : r.varint()));
  const used = perLength.reduce((a, b) => a + b, 0);
  const width = fixedBits(alphabetSize);
  const bySymbolOrder = Int32Array.from({ length: used }, () => r.bits(width));
  r.align();
  const out = new Int32Array(count);
  // Canonical decoding one bit at a time (zlib's puff.c): codes of each length are consecutive.
  for (let i = 0; i < count; i++) {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; ; len++) {
      if (len > max) throw new RangeError('Huffman stream holds a code its table does not');
      code |= r.readBit();
      const n = perLength[len];
      if (code - first < n) {
        out[i] = bySymbolOrder[index + code - first];
        break;
      }
      index += n;
      first = (first + n) << 1;
      code <<= 1;
    }
  }
  r.align();
  return out;
}

/** A self-contained Huffman coding of a symbol stream (table + codes), bytes. */
export function huffmanEncode(symbols: ArrayLike<number>, alphabetSize: number): Uint8Array {
  const w = new BitWriter();
  writeHuffman(w, symbols, alphabetSize);
  return w.finish();
}

export function huffmanDecode(bytes: Uint8Array, count: number, alphabetSize: number): Int32Array {
  return readHuffman(new BitReader(bytes), count, alphabetSize);
}
