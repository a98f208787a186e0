// Uploaded files in the worker: read (zips expanded, sizes capped before reading), and labelled
// images decoded with createImageBitmap + OffscreenCanvas to a model's input size and channels.
import * as tf from '@tensorflow/tfjs';
import { batches, classIndices, imagesByClass, type Dataset } from '../core/data';
import { imageSize, MAX_IMAGE_PIXELS } from '../core/data/image-size';
import { forward, inferShapes, type Graph } from '../core/graph';
import { formatMiB, isZip, MAX_MODEL_BYTES, unzipFiles, type NamedBytes } from '../core/io';
import { inputOptions } from '../core/metrics';
import { InvalidInputError } from '../core/runtime/errors';
import type { ImageSetSummary, UploadFile } from './protocol';

/** Reads uploaded files, refusing more than MAX_MODEL_BYTES before reading any; zips are expanded. */
export async function readUploads(files: UploadFile[]): Promise<NamedBytes[]> {
  const total = files.reduce((sum, f) => sum + f.file.size, 0);
  if (total > MAX_MODEL_BYTES) {
    const largest = files.reduce((a, b) => (b.file.size > a.file.size ? b : a));
    throw new InvalidInputError(
      `The files hold ${formatMiB(total)} ('${largest.path}' alone ${formatMiB(largest.file.size)}); uploads are capped at ${formatMiB(MAX_MODEL_BYTES)}`,
      'Upload less: a smaller model, or fewer and smaller images.',
    );
  }
  const read = await Promise.all(
    files.map(async (f) => ({ name: f.path, bytes: new Uint8Array(await f.file.arrayBuffer()) })),
  );
  return read.flatMap((f) => (isZip(f) ? unzipFiles(f) : [f]));
}

const IMAGE_HINT = 'Use PNG, JPEG, GIF, BMP or WebP files, or leave the unreadable ones out.';

/** One image as h·w·c bytes: scaled to h×w, grey (ITU-R 601 luma) for one channel, RGB for three. */
async function decodeImage(f: NamedBytes, [h, w, c]: number[]): Promise<Uint8Array> {
  const size = imageSize(f.bytes);
  if (size && size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new InvalidInputError(
      `'${f.name}' is ${size.width}×${size.height} pixels, over the ${MAX_IMAGE_PIXELS / 1e6} million decoded at most`,
      "Scale the images down first: each is drawn at the model's input size anyway.",
    );
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([f.bytes as Uint8Array<ArrayBuffer>]));
  } catch {
    throw new InvalidInputError(`'${f.name}' is not a readable image`, IMAGE_HINT);
  }
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  // Transparent pixels count as the black background MNIST-like data has.
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const out = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    if (c === 1) out[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else out.set([r, g, b], 3 * p);
  }
  return out;
}

/** What an upload of labelled images holds; every image is decoded once to prove it readable. */
export async function inspectImages(files: UploadFile[]): Promise<ImageSetSummary> {
  const read = await readUploads(files);
  const byClass = imagesByClass(read.map((f) => f.name));
  const byName = new Map(read.map((f) => [f.name, f]));
  for (const paths of byClass.values()) {
    for (const path of paths) await decodeImage(byName.get(path)!, [1, 1, 1]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const root = files[0]?.path.split('/')[0] ?? 'images';
  return {
    name: root,
    classNames: classes,
    counts: classes.map((c) => byClass.get(c)!.length),
  };
}

/**
 * The uploaded images as a labelled dataset in the teacher's input size and channels, each class
 * folder on the output it names (see classIndices).
 */
export async function labelledImages(files: UploadFile[], teacher: Graph): Promise<Dataset> {
  const read = await readUploads(files);
  const byName = new Map(read.map((f) => [f.name, f]));
  const byClass = imagesByClass(read.map((f) => f.name));
  const outputs = inferShapes(teacher).get(teacher.output)!.at(-1)!;
  const indices = classIndices([...byClass.keys()], outputs);
  const [h, w, c] = teacher.inputShape;
  const paths = [...byClass.values()].flat();
  const pixels = new Uint8Array(paths.length * h * w * c);
  const labels = new Uint8Array(paths.length);
  const classNames = Array.from({ length: outputs }, () => '');
  for (const [i, path] of paths.entries()) {
    pixels.set(await decodeImage(byName.get(path)!, [h, w, c]), i * h * w * c);
    const folder = path.split('/').at(-2)!;
    labels[i] = indices.get(folder)!;
    classNames[labels[i]] = folder;
  }
  return {
    id: 'uploaded',
    split: 'train',
    count: paths.length,
    height: h,
    width: w,
    channels: c,
    numClasses: outputs,
    classNames,
    pixels,
    labels,
    hash: `uploaded:${paths.length}`,
  };
}

/** The same images labelled by the teacher's predictions: accuracy on them is agreement with it. */
export async function labelledByTeacher(ds: Dataset, teacher: Graph): Promise<Dataset> {
  const labels = new Uint8Array(ds.count);
  for (const batch of batches(ds, { ...inputOptions(teacher, ds), batchSize: 250 })) {
    const predicted = tf.tidy(() => tf.argMax(forward(teacher, batch.x).output, -1));
    const classes = await predicted.data();
    batch.indices.forEach((k, j) => (labels[k] = classes[j]));
    tf.dispose([predicted, batch.x, batch.y]);
  }
  return { ...ds, split: 'test', labels, hash: `${ds.hash}:teacher-labels` };
}
