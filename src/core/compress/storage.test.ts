import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { kmeans1d } from './kmeans';
import { decodeModel, encodeTensors, relativeIndices, type StoredTensor } from './storage';

/** A pruned (90 % zeros) and shared (15 values + 0) kernel, a bias, as the pipeline leaves them. */
function prunedShared(n: number, gapBits: number, seed: number): StoredTensor[] {
  const rng = new Rng(seed);
  const raw = Float32Array.from({ length: n }, () => (rng.next() < 0.1 ? rng.normal(0, 0.1) : 0));
  const nz = raw.filter((v) => v !== 0);
  const { centroids, assignments } = kmeans1d(nz, 15, { init: 'linear', iters: 30 });
  const shared = Float32Array.from(centroids);
  let j = 0;
  const values = raw.map((v) => (v === 0 ? 0 : shared[assignments[j++]]));
  return [
    { node: 'fc1', weight: 'kernel', shape: [n / 10, 10], values, indexBits: gapBits },
    {
      node: 'fc1',
      weight: 'bias',
      shape: [10],
      values: Float32Array.from({ length: 10 }, (_, i) => i / 7),
    },
  ];
}

const bitExact = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

describe('Deep Compression storage format', () => {
  it('relative indices: gaps to the previous non-zero, a filler zero where a gap is too long', () => {
    const values = new Float32Array(300);
    values[0] = 1;
    values[3] = 2;
    values[299] = 3;
    // b = 5: gaps up to 32. 3 → 299 is 296 = 9 fillers (every 32 positions) + a gap of 8.
    const { gaps, positions, fillers } = relativeIndices(values, 5);
    expect(fillers).toBe(9);
    expect(Array.from(gaps)).toEqual([0, 2, ...new Array(9).fill(31), 7]);
    expect(positions[2]).toBe(35);
    expect(positions.at(-1)).toBe(299);
    expect(relativeIndices(values, 8).fillers).toBe(1);
  });

  it.each([false, true])('round trip is bit-exact (huffman %s), fillers included', (huffman) => {
    const tensors = prunedShared(4000, 5, 3);
    const encoded = encodeTensors(tensors, { huffman });
    const decoded = decodeModel(encoded.bytes);
    expect(decoded.map((d) => d.shape)).toEqual(tensors.map((t) => t.shape));
    for (const [i, t] of tensors.entries())
      expect(bitExact(decoded[i].values, t.values)).toBe(true);
    const [kernel, bias] = encoded.tensors;
    expect(kernel.layout).toBe('sparse-codebook');
    expect(kernel.codebook).toBe(16);
    expect(kernel.weightBits).toBe(4);
    expect(kernel.fillers).toBeGreaterThan(0);
    expect(kernel.entries).toBe(kernel.nonZeros + kernel.fillers);
    expect(bias.layout).toBe('float32');
    // The breakdown accounts for every byte.
    const parts = encoded.tensors.reduce((s, t) => s + t.bytes, encoded.headerBytes);
    expect(parts).toBe(encoded.bytes.length);
    for (const t of encoded.tensors) {
      expect(t.headerBytes + t.codebookBytes + t.weightBytes + t.gapBytes + t.tableBytes).toBe(
        t.bytes,
      );
    }
    if (!huffman) {
      // Fixed length: a' entries × (5 + 4) bits, packed per stream, and 15 float32 centroids.
      expect(kernel.gapBytes).toBe(Math.ceil((kernel.entries * 5) / 8));
      expect(kernel.weightBytes).toBe(Math.ceil((kernel.entries * 4) / 8));
      expect(kernel.codebookBytes).toBe(15 * 4);
    }
  });

  it('Huffman coding makes the skewed streams smaller than fixed length', () => {
    const tensors = prunedShared(20000, 5, 4);
    const fixed = encodeTensors(tensors, { huffman: false });
    const coded = encodeTensors(tensors, { huffman: true });
    // Geometric gaps (mean 10 of 32) and bell-shaped cluster sizes: about 9 % saved here.
    expect(coded.bytes.length).toBeLessThan(fixed.bytes.length * 0.95);
    expect(coded.tensors[0].tableBytes).toBeGreaterThan(0);
  });

  it('unshared sparse weights are stored as float32 values; dense ones as plain float32', () => {
    const rng = new Rng(5);
    const sparse = Float32Array.from({ length: 2000 }, () => (rng.next() < 0.2 ? rng.normal() : 0));
    const dense = Float32Array.from({ length: 500 }, () => rng.normal());
    const tensors: StoredTensor[] = [
      { node: 'conv1', weight: 'kernel', shape: [2000], values: sparse, indexBits: 8 },
      { node: 'conv2', weight: 'kernel', shape: [500], values: dense, indexBits: 8 },
    ];
    const encoded = encodeTensors(tensors, { huffman: false });
    expect(encoded.tensors.map((t) => t.layout)).toEqual(['sparse-float32', 'float32']);
    const [a, b] = decodeModel(encoded.bytes);
    expect(bitExact(a.values, sparse) && bitExact(b.values, dense)).toBe(true);
    expect(encoded.nonZeros).toBe(sparse.filter((v) => v !== 0).length + 500);
  });

  it('refuses a stream that is not one, or was cut short', () => {
    const bytes = encodeTensors(prunedShared(1000, 5, 6), { huffman: true }).bytes;
    expect(() => decodeModel(bytes.slice(0, bytes.length - 3))).toThrow(/Truncated/);
    expect(() => decodeModel(Uint8Array.of(1, 2, 3, 4, 5))).toThrow(/Not a Deep Compression/);
  });
});
