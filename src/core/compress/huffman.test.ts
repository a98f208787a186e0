import { describe, expect, it } from 'vitest';
import { Rng } from '../runtime/rng';
import { canonicalCodes, huffmanCodeLengths, huffmanDecode, huffmanEncode } from './huffman';

describe('Huffman coding', () => {
  it('code lengths of a known distribution: 1, 1, 2, 4 → 3, 3, 2, 1', () => {
    expect(Array.from(huffmanCodeLengths([1, 1, 2, 4]))).toEqual([3, 3, 2, 1]);
  });

  it('a dyadic distribution gets −log2 p bits per symbol; unused symbols get none', () => {
    const p = [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 32, 0];
    const lengths = huffmanCodeLengths(p.map((x) => x * 1024));
    expect(Array.from(lengths)).toEqual([...p.slice(0, 6).map((x) => -Math.log2(x)), 0]);
  });

  it('canonical codes are prefix-free and ordered by length, then symbol (RFC 1951 example)', () => {
    // RFC 1951 §3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) → codes 010 … 111, 00, 1110, 1111.
    const codes = canonicalCodes([3, 3, 3, 3, 3, 2, 4, 4]);
    expect(Array.from(codes)).toEqual([2, 3, 4, 5, 6, 0, 14, 15]);
  });

  it('round trip of a skewed stream, shorter than fixed length', () => {
    const rng = new Rng(7);
    // Geometric-like: symbol s with probability ∝ 2^−s over 16 symbols.
    const symbols = Int32Array.from({ length: 5000 }, () => {
      let s = 0;
      while (s < 15 && rng.next() < 0.5) s++;
      return s;
    });
    const bytes = huffmanEncode(symbols, 16);
    expect(Array.from(huffmanDecode(bytes, symbols.length, 16))).toEqual(Array.from(symbols));
    // ≈ 2 bits per symbol against 4 at fixed length.
    expect(bytes.length).toBeLessThan((5000 * 4) / 8 / 1.7);
  });

  it('a single-symbol stream codes every symbol in one bit; an empty stream has a table only', () => {
    const lengths = huffmanCodeLengths([0, 0, 9, 0]);
    expect(Array.from(lengths)).toEqual([0, 0, 1, 0]);
    const symbols = new Int32Array(20).fill(2);
    const bytes = huffmanEncode(symbols, 4);
    expect(Array.from(huffmanDecode(bytes, 20, 4))).toEqual(Array.from(symbols));
    // Table: max length, one count, one 2-bit symbol (3 bytes); 20 bits of codes (3 bytes).
    expect(bytes.length).toBe(6);
    expect(huffmanDecode(huffmanEncode([], 4), 0, 4)).toHaveLength(0);
  });
});
