/**
 * Where the time of a LeNet-5 training step goes on the WASM backend (batch 64, Adam, Node,
 * single-threaded): median ms per step and ms per kernel from tf.profile, first with the stock
 * kernels plus only the missing Conv2DBackpropFilter ("before"), then with every kernel of
 * src/core/runtime/wasm-kernels.ts ("after"), then the CPU backend once for scale.
 *
 *   npx tsx scripts/profile-wasm.ts [--input 32|28] [--steps 30]
 */
import * as tf from '@tensorflow/tfjs';

import { createLenetStep, type LenetStep } from '../src/core/runtime/lenet-step';
import { timeRepeated } from '../src/core/runtime/timing';
import { replaceKernel } from '../src/core/runtime/wasm-calls';
import { enableRelaxedSimd } from '../src/core/runtime/wasm-node';
import { registerWasmTrainingKernels, wasmTrainingKernels } from '../src/core/runtime/wasm-kernels';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

// The kernels the CLI runs: the build with fused multiply-adds.
enableRelaxedSimd();

const inputSize = option('input', 32);
const steps = option('steps', 30);

/** ms per kernel name over one step, summed over its calls, largest first. */
async function kernelTimes(step: LenetStep): Promise<[string, number, number][]> {
  const info = await tf.profile(() => void step.run());
  const byName = new Map<string, [number, number]>();
  for (const k of info.kernels) {
    const [ms, calls] = byName.get(k.name) ?? [0, 0];
    byName.set(k.name, [ms + (k.kernelTimeMs as number), calls + 1]);
  }
  return [...byName]
    .map(([name, [ms, calls]]) => [name, ms, calls] as [string, number, number])
    .sort((a, b) => b[1] - a[1]);
}

async function report(
  label: string,
  backend: string,
  warmup: number,
  count: number,
): Promise<number> {
  await tf.setBackend(backend);
  const step = createLenetStep({ batchSize: 64, inputSize });
  const { samples, median: ms } = await timeRepeated(() => step.run(), { steps: count, warmup });
  const kernels = await kernelTimes(step);
  step.dispose();
  console.log(
    `\n${label}: ${ms.toFixed(1)} ms/step (median of ${count}, min ${Math.min(...samples).toFixed(1)})`,
  );
  const total = kernels.reduce((sum, [, t]) => sum + t, 0);
  for (const [name, t, calls] of kernels.filter(([, t]) => t >= 0.05)) {
    const share = ((100 * t) / total).toFixed(0).padStart(3);
    console.log(`  ${name.padEnd(28)} ${t.toFixed(2).padStart(7)} ms ${share}%  ${calls}×`);
  }
  return ms;
}

console.log(`LeNet-5, ${inputSize}x${inputSize}x1, batch 64, Adam; Node ${process.version}`);
// The stock backend cannot train a conv net at all without Conv2DBackpropFilter.
await tf.setBackend('wasm');
replaceKernel(wasmTrainingKernels().find((k) => k.kernelName === 'Conv2DBackpropFilter')!);
const before = await report('wasm, stock kernels + Conv2DBackpropFilter', 'wasm', 5, steps);
registerWasmTrainingKernels();
const after = await report('wasm, all training kernels', 'wasm', 5, steps);
await report('cpu (stock)', 'cpu', 1, 3);
console.log(
  `\nwasm training kernels: ${before.toFixed(1)} → ${after.toFixed(1)} ms/step (${(before / after).toFixed(2)}x)`,
);
