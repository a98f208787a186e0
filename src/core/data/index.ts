export {
  DATASET_IDS,
  DataMissingError,
  firstExamples,
  loadDataset,
  spreadExamples,
  type DataSource,
  type Dataset,
  type DatasetId,
  type LoadOptions,
  type Split,
} from './dataset';
export {
  CLAB_HEADER_BYTES,
  CLAB_MAGIC,
  CLAB_VERSION,
  DatasetFormatError,
  encodeDataset,
  parseDataset,
  type DatasetArrays,
  type DatasetHeader,
} from './format';
export {
  NORMALIZATION,
  batches,
  toTensors,
  type Batch,
  type BatchOptions,
  type Normalization,
  type PixelMap,
  type TensorOptions,
} from './batches';
export { sampleKShot } from './kshot';
export { shuffleInPlace, type RandomSource } from './shuffle';
export { classIndices, imagesByClass, isImagePath } from './labelled-folders';
