// The module scripts/build-wasm.mjs compiles: every kernel of wasm/, on the backend's memory.
export {
  convFilterGrad,
  convFilterGradSingleChannel,
  convForward,
  convForwardSingleChannel,
  convInputGrad,
} from './conv';
export { convFilterGradOneOutput, convForwardOneOutput } from './conv-one-output';
export { convFilterGradWinograd, convWinograd } from './winograd';
export { adamUpdate } from './adam';
export { channelAffine, channelDeviationSums, channelSums, leakyRelu } from './channels';
export { padSpatial, upsampleNearest } from './pad';
export { maxPoolGrad, maxPoolGradTiled } from './pool';
