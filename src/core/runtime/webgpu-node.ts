/**
 * WebGPU in Node: the `webgpu` package (Dawn's Node bindings, ~130 MB with a binary per
 * platform, so not a dependency: `npm install --no-save webgpu`) gives TF.js's WebGPU backend an
 * adapter — a real GPU where a Vulkan, Metal or D3D12 driver has one. Without a GPU, Vulkan's SwiftShader (Chromium ships one: VK_ICD_FILENAMES=
 * /usr/lib/chromium/vk_swiftshader_icd.json) stands in, as slow as in the page.
 */
import * as tf from '@tensorflow/tfjs';

interface DawnModule {
  create(flags: string[]): { requestAdapter(options?: object): Promise<object | null> };
  globals: Record<string, unknown>;
}

export const NODE_WEBGPU_HINT =
  'Install Dawn’s bindings with npm install --no-save webgpu (a GPU driver with Vulkan, Metal or D3D12 is needed; without one, VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json runs it on SwiftShader)';

/**
 * Gives Node a `navigator.gpu` from Dawn and registers TF.js's WebGPU backend on it (the package
 * registers itself where navigator.gpu exists when it is first imported). Returns why it cannot
 * (the package missing, no adapter), or undefined once registered.
 */
export async function registerNodeWebGpu(): Promise<string | undefined> {
  if (tf.findBackendFactory('webgpu') !== null) return undefined;
  let dawn: DawnModule;
  try {
    // A variable specifier: the package is optional, and bundlers must not look for it.
    const name = 'webgpu';
    dawn = (await import(/* @vite-ignore */ name)) as DawnModule;
  } catch {
    return 'the webgpu package is not installed';
  }
  const gpu = dawn.create([]);
  if ((await gpu.requestAdapter()) === null) return 'Dawn found no GPU adapter';
  // GPUBufferUsage and the other constants the backend reads as globals.
  Object.assign(globalThis, dawn.globals);
  const holder = globalThis as { navigator?: object };
  holder.navigator = Object.assign(holder.navigator ?? {}, { gpu });
  await import('@tensorflow/tfjs-backend-webgpu');
  return tf.findBackendFactory('webgpu') === null
    ? 'tfjs-backend-webgpu was imported before navigator.gpu existed'
    : undefined;
}
