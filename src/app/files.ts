// Saving and opening files without a server: object URLs and <input type=file>.
import { strToU8, zipSync } from 'fflate';
import { isImagePath } from '../core/data/labelled-folders';
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

/**
 * The files of a drop, dropped folders walked with their paths kept. Must be called in the drop
 * handler's task: the items are read before the first await, after which the browser empties them.
 */
export async function droppedFiles(drop: DataTransfer): Promise<UploadFile[]> {
  const entries = [...drop.items].map((item) => item.webkitGetAsEntry());
  if (!entries.some((e) => e?.isDirectory)) return uploadFiles(drop.files);
  const found: UploadFile[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      found.push({ path: entry.fullPath.replace(/^\//, ''), file });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries answers in batches until it answers none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) return;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) if (entry) await walk(entry);
  return found;
}

/** Images and no model file: a drop of labelled images rather than of a teacher. */
export const holdsImages = (files: UploadFile[]): boolean =>
  files.some((f) => isImagePath(f.path)) && !files.some((f) => /\.(json|onnx)$/i.test(f.path));
