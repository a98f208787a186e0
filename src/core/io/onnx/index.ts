export { graphFromOnnx } from './import';
export { graphToOnnx, EXPORT_OPSET } from './export';
