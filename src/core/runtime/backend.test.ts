import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { initBackend, usableBackends } from './backend';
import { BackendUnavailableError } from './errors';

describe('backend selection in Node', () => {
  it('lists wasm and cpu as usable', async () => {
    expect(await usableBackends()).toEqual(['wasm', 'cpu']);
  });

  it('initialises wasm with the training kernels, single-threaded', async () => {
    const info = await initBackend('wasm');
    expect(info).toMatchObject({ name: 'wasm', threads: 1 });
    // With SIMD our convolution kernels run too, on the calling thread.
    expect(info.reason).toMatch(
      /^wasm: requested \((SIMD, 1 thread; our convolution kernels on 1 thread, fused multiply-adds|no SIMD, 1 thread)\)$/,
    );
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('refuses a backend that cannot run here, saying why', async () => {
    const error = await initBackend('webgl').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toBe("Backend 'webgl' is not available: not in Node");
  });

  it("'auto' times the candidates with the caller's step and keeps the fastest", async () => {
    const calls: string[] = [];
    const info = await initBackend('auto', { timeStep: () => void calls.push(tf.getBackend()) });
    expect(info.name).toBe('wasm');
    expect(Object.keys(info.timingsMs ?? {})).toEqual(['wasm']);
    expect(calls).toEqual(['wasm', 'wasm', 'wasm', 'wasm']);
    expect(info.reason).toMatch(
      /^auto: fastest measured step: wasm \d+ ms \(SIMD, 1 thread; our convolution kernels on 1 thread, fused multiply-adds\); webgpu: .*; webgl: not in Node$/,
    );
  });

  it("'auto' times a LeNet-5 step by default", async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.timingsMs?.wasm).toBeGreaterThan(0);
  });
});
