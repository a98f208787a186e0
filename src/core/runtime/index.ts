export {
  DEFAULT_BROWSER_WASM_PATHS,
  initBackend,
  usableBackends,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
  type WasmPaths,
} from './backend';
export {
  BackendUnavailableError,
  ClabError,
  DivergenceError,
  InvalidInputError,
  InvalidModelError,
  TensorLeakError,
  UnsupportedLayerError,
} from './errors';
export { softmaxCrossEntropy } from './cross-entropy';
export { assertFinite, expectFlatTensorCount } from './guards';
export { createLenetStep, type LenetStep, type LenetStepOptions } from './lenet-step';
export { Rng, type RngState, type Seed } from './rng';
export { registerWasmTrainingKernels, wasmTrainingKernels } from './wasm-kernels';
