// The export file: runs with their student files as one JSON document. Typed arrays and
// ArrayBuffers (image events, weights) are written as base64 and read back as the same types.
import type { StudentFiles } from '../../worker/protocol';
import type { RunRecord } from './runs';

export interface ArchiveEntry {
  run: RunRecord;
  student?: StudentFiles;
}

const FORMAT = 'compression-lab/runs';
const VERSION = 1;

function toBase64(bytes: Uint8Array): string {
  let text = '';
  // Chunks keep String.fromCharCode's argument list well under the engine's limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

const bytesOf = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

const TYPED = {
  Uint8Array: (b: ArrayBuffer) => new Uint8Array(b),
  Int32Array: (b: ArrayBuffer) => new Int32Array(b),
  Float32Array: (b: ArrayBuffer) => new Float32Array(b),
} as const;
type TypedName = keyof typeof TYPED;

interface Binary {
  $binary: TypedName | 'ArrayBuffer';
  base64: string;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof ArrayBuffer) {
    return { $binary: 'ArrayBuffer', base64: toBase64(new Uint8Array(value)) } satisfies Binary;
  }
  for (const name of Object.keys(TYPED) as TypedName[]) {
    if (value instanceof globalThis[name]) {
      return { $binary: name, base64: toBase64(bytesOf(value)) } satisfies Binary;
    }
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  const b = value as Binary | null;
  if (typeof b !== 'object' || b === null || typeof b.$binary !== 'string') return value;
  const buffer = fromBase64(b.base64).buffer;
  return b.$binary === 'ArrayBuffer' ? buffer : TYPED[b.$binary](buffer);
}

export function encodeArchive(entries: readonly ArchiveEntry[]): string {
  return JSON.stringify(
    { format: FORMAT, version: VERSION, exportedAt: new Date().toISOString(), runs: entries },
    replacer,
  );
}

/** Reads an export file; throws an Error that says what is wrong with it. */
export function decodeArchive(text: string): ArchiveEntry[] {
  let doc: { format?: unknown; version?: unknown; runs?: unknown };
  try {
    doc = JSON.parse(text, reviver) as typeof doc;
  } catch (e) {
    throw new Error(
      `Not a Compression Lab export: the file is not JSON (${(e as Error).message}).`,
      { cause: e },
    );
  }
  if (doc?.format !== FORMAT || !Array.isArray(doc.runs)) {
    throw new Error(`Not a Compression Lab export: expected format '${FORMAT}'.`);
  }
  if (doc.version !== VERSION) {
    throw new Error(
      `Unsupported export version ${String(doc.version)}; this page reads ${VERSION}.`,
    );
  }
  return (doc.runs as ArchiveEntry[]).map((entry, i) => {
    const run = entry?.run;
    if (!run || typeof run.id !== 'string' || typeof run.config !== 'object' || !run.status) {
      throw new Error(`Run ${i + 1} of the export has no id, config or status.`);
    }
    return entry;
  });
}
