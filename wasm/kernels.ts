// The module scripts/build-wasm.mjs compiles: every kernel of wasm/, on the backend's memory.
export { convFilterGrad, convForward } from './conv';
export { adamUpdate } from './adam';
export { maxPoolGrad } from './pool';
