/**
 * Both builds of our kernels (scripts/build-wasm.mjs): with relaxed SIMD, what Chromium, Firefox
 * and the CLI run, and without, for engines that lack it. The other tests run whichever this
 * engine takes (vitest.setup.ts enables relaxed SIMD, as the CLI does); here each build computes
 * a filter gradient, whose inner loop is all multiply-adds, against a plain reference.
 */
import { describe, expect, it } from 'vitest';

import { kernelBuild } from './wasm-simd';

const [n, h, w, ci, fh, fw, co] = [2, 6, 7, 5, 3, 3, 9];
const [oh, ow] = [h - fh + 1, w - fw + 1];

function random(size: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: size }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

/** dW[i, j, c, o] = Σ x[b, y + i, x + j, c] · dy[b, y, x, o] (stride 1, valid). */
function reference(x: Float32Array, dy: Float32Array): Float64Array {
  const dw = new Float64Array(fh * fw * ci * co);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let i = 0; i < fh; i++)
          for (let j = 0; j < fw; j++)
            for (let c = 0; c < ci; c++)
              for (let o = 0; o < co; o++) {
                const xv = x[((b * h + y + i) * w + xx + j) * ci + c];
                dw[((i * fw + j) * ci + c) * co + o] += xv * dy[((b * oh + y) * ow + xx) * co + o];
              }
  return dw;
}

describe('kernel builds', () => {
  it('the build with relaxed SIMD runs here, as in the CLI', () => {
    expect(WebAssembly.validate(kernelBuild('plain', 'relaxed'))).toBe(true);
  });

  for (const simd of ['relaxed', 'baseline'] as const) {
    it(`computes a filter gradient ${simd === 'relaxed' ? 'with' : 'without'} relaxed SIMD`, () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
      const module = new WebAssembly.Module(kernelBuild('plain', simd));
      const kernels = new WebAssembly.Instance(module, {
        env: { memory },
      }).exports as { convFilterGrad: (...args: number[]) => void };
      const x = random(n * h * w * ci, 1);
      const dy = random(n * oh * ow * co, 2);
      const [xAt, dyAt, dwAt] = [0, 8192, 16384];
      new Float32Array(memory.buffer, xAt, x.length).set(x);
      new Float32Array(memory.buffer, dyAt, dy.length).set(dy);
      const geometry = [n, h, w, ci, oh, ow, co, fh, fw, 1, 1, 0, 0];
      kernels.convFilterGrad(xAt, dyAt, dwAt, ...geometry, 0, ci, 0, co);
      const dw = new Float32Array(memory.buffer, dwAt, fh * fw * ci * co);
      const want = reference(x, dy);
      const error = Math.max(...want.map((v, k) => Math.abs(v - dw[k])));
      expect(error).toBeLessThan(1e-4);
    });
  }
});
