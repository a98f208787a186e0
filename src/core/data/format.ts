import { ClabError } from '../runtime/errors';
// The CLAB binary dataset format (docs/DATA.md). scripts/prepare-data.mjs writes it with its own
// copy of the encoder because it runs before TypeScript tooling is available; keep both in step.
//
//   offset  size  field
//   0       4     magic "CLAB"
//   4       2     version (1)
//   6       2     numClasses
//   8       4     count
//   12      2     height
//   14      2     width
//   16      2     channels
//   18      2     reserved (0)
//   20      count labels, uint8
//   20+count      pixels, uint8, NHWC (count * height * width * channels)
//
// All integers little-endian.

export const CLAB_MAGIC = 'CLAB';
export const CLAB_VERSION = 1;
export const CLAB_HEADER_BYTES = 20;

export interface DatasetHeader {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
}

export interface DatasetArrays extends DatasetHeader {
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** A file that is not a well-formed CLAB dataset; `source` names it for the message. */
export class DatasetFormatError extends ClabError {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(
      'invalid-data',
      `${source}: not a valid CLAB dataset file: ${reason}`,
      'Regenerate the data with `node scripts/prepare-data.mjs`.',
    );
  }
}

export function encodeDataset(data: DatasetArrays): Uint8Array {
  const { count, height, width, channels, numClasses, labels, pixels } = data;
  const imageBytes = height * width * channels;
  if (labels.length !== count) throw new RangeError(`labels: ${labels.length} != count ${count}`);
  if (pixels.length !== count * imageBytes) {
    throw new RangeError(`pixels: ${pixels.length} != ${count} * ${imageBytes}`);
  }
  const out = new Uint8Array(CLAB_HEADER_BYTES + count + pixels.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = CLAB_MAGIC.charCodeAt(i);
  view.setUint16(4, CLAB_VERSION, true);
  view.setUint16(6, numClasses, true);
  view.setUint32(8, count, true);
  view.setUint16(12, height, true);
  view.setUint16(14, width, true);
  view.setUint16(16, channels, true);
  out.set(labels, CLAB_HEADER_BYTES);
  out.set(pixels, CLAB_HEADER_BYTES + count);
  return out;
}

/**
 * Parses a CLAB file. `labels` and `pixels` are views into `bytes` (no copy), so a 47 MB file
 * costs no extra memory. Labels are checked against numClasses so later code can index by them.
 */
export function parseDataset(bytes: Uint8Array, source = 'dataset'): DatasetArrays {
  const fail = (reason: string): never => {
    throw new DatasetFormatError(source, reason);
  };
  if (bytes.length < CLAB_HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the header`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== CLAB_MAGIC) fail(`magic is ${JSON.stringify(magic)}, expected "CLAB"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== CLAB_VERSION)
    fail(`version ${version} is not supported (expected ${CLAB_VERSION})`);
  const header: DatasetHeader = {
    numClasses: view.getUint16(6, true),
    count: view.getUint32(8, true),
    height: view.getUint16(12, true),
    width: view.getUint16(14, true),
    channels: view.getUint16(16, true),
  };
  const { count, height, width, channels, numClasses } = header;
  if (numClasses < 1 || height < 1 || width < 1 || channels < 1) {
    fail(`degenerate header ${JSON.stringify(header)}`);
  }
  const expected = CLAB_HEADER_BYTES + count + count * height * width * channels;
  if (bytes.length !== expected) {
    fail(`${bytes.length} bytes, but the header (${JSON.stringify(header)}) implies ${expected}`);
  }
  const labels = bytes.subarray(CLAB_HEADER_BYTES, CLAB_HEADER_BYTES + count);
  const pixels = bytes.subarray(CLAB_HEADER_BYTES + count);
  for (let i = 0; i < count; i++) {
    if (labels[i] >= numClasses)
      fail(`label ${labels[i]} at index ${i} >= numClasses ${numClasses}`);
  }
  return { ...header, labels, pixels };
}
