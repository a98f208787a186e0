// Saving and opening files without a server: object URLs and <input type=file>.
import { strToU8, zipSync } from 'fflate';
import type { ModelFiles, UploadFile } from '../worker/protocol';

export function saveFile(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The download has started by the next task; the URL is no longer needed.
  setTimeout(() => URL.revokeObjectURL(url));
}

export function timestamp(): string {
  return new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
}

/** A network's TF.js Layers files as one .zip: model.json beside its shard, as tf.loadLayersModel wants them. */
export function modelZip(files: ModelFiles): Uint8Array<ArrayBuffer> {
  return zipSync({
    'model.json': strToU8(files.modelJson),
    [files.shardName]: new Uint8Array(files.weightData),
  }) as Uint8Array<ArrayBuffer>;
}

/** Picked or dropped files with their path inside a picked folder (lost when posted to a worker). */
export function uploadFiles(files: Iterable<File>): UploadFile[] {
  return [...files].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}
