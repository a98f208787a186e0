// How the fuzzer changes valid files. fast-check draws each change as a small recipe (numbers
// that say where and what), applied here: a failing input is rebuilt from its recipe, and the
// numbers fast-check favours (small ones, edges) land in headers and shapes, where bugs hide.
import fc from 'fast-check';

export type ByteMutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** The bytes with the mutations applied in order; positions wrap around the current length. */
export function mutateBytes(bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let out: Uint8Array = bytes.slice();
  for (const m of mutations) {
    const at = out.length ? m.at % out.length : 0;
    switch (m.kind) {
      case 'set':
        if (out.length) out[at] = m.value;
        break;
      case 'insert':
        out = concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case 'delete':
        out = concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
    }
  }
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export type JsonMutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'number'; at: number; op: 'set' | 'add' | 'mul'; by: number }
  | { kind: 'string'; at: number; to: string }
  | { kind: 'duplicate'; at: number };

/** Names that steer an importer: layer classes, operators, dtypes, activations, paddings. */
const NAMES = [
  ...['InputLayer', 'Conv2D', 'DepthwiseConv2D', 'Dense', 'BatchNormalization', 'Activation'],
  ...['ReLU', 'LeakyReLU', 'Softmax', 'MaxPooling2D', 'AveragePooling2D', 'Flatten', 'Reshape'],
  ...['GlobalAveragePooling2D', 'Add', 'Concatenate', 'Dropout', 'ZeroPadding2D', 'Rescaling'],
  ...['Normalization', 'Lambda', 'Sequential', 'Model', 'Functional', 'keras.layers'],
  ...['Conv', 'Gemm', 'MatMul', 'Relu', 'Clip', 'MaxPool', 'Transpose', 'Pad', 'Constant'],
  ...['float32', 'float16', 'int32', 'uint8', 'uint16', 'bool', 'string', 'complex64'],
  ...['relu', 'relu6', 'softmax', 'linear', 'elu', 'swish', 'same', 'valid', 'SAME_UPPER'],
  ...['channels_first', 'kernel', 'bias', 'gamma', 'moving_mean', 'layers-model', 'graph-model'],
];

const edgeNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 2, 3, 0.5, 1e-9, 1e9, -1e9, 2 ** 31, 2 ** 53, 1e308, -0),
  fc.integer({ min: -8, max: 300 }),
  fc.double({ noNaN: true }),
);

const jsonLeaf = fc.oneof(
  edgeNumber,
  fc.constantFrom(...NAMES),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(null, true, false, '', [], {}, [null], [0, 0], [-1, 28, 28, 1], [null, 28, 28]),
);

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    value: fc.oneof(jsonLeaf, fc.jsonValue({ maxDepth: 2 })),
  }),
  fc.record({
    kind: fc.constant('number' as const),
    at: fc.nat(),
    op: fc.constantFrom(...(['set', 'add', 'mul'] as const)),
    by: edgeNumber,
  }),
  fc.record({
    kind: fc.constant('string' as const),
    at: fc.nat(),
    to: fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 12 })),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
);

type Container = Record<string, unknown> | unknown[];
interface Slot {
  parent: Container;
  key: string | number;
  value: unknown;
}

const isContainer = (v: unknown): v is Container =>
  typeof v === 'object' && v !== null && !ArrayBuffer.isView(v);

/** Every value below the root, depth first; typed arrays (weights) are single values. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown) => {
    if (!isContainer(v)) return;
    const entries: [string | number, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [i, x])
      : Object.entries(v);
    for (const [key, value] of entries) {
      out.push({ parent: v, key, value });
      walk(value);
    }
  };
  walk(root);
  return out;
}

const setSlot = ({ parent, key }: Slot, value: unknown) => {
  (parent as Record<string | number, unknown>)[key] = value;
};

/** Applies one mutation to `root` in place; a mutation with no slot of its kind does nothing. */
export function mutateJson(root: unknown, m: JsonMutation): void {
  const all = slots(root);
  const pick = (candidates: Slot[]) =>
    candidates.length ? candidates[m.at % candidates.length] : undefined;
  switch (m.kind) {
    case 'delete': {
      const s = pick(all);
      if (!s) return;
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key as string];
      return;
    }
    case 'replace': {
      const s = pick(all);
      if (s) setSlot(s, structuredClone(m.value));
      return;
    }
    case 'number': {
      const s = pick(all.filter((x) => typeof x.value === 'number'));
      const v = s?.value as number;
      if (s) setSlot(s, m.op === 'set' ? m.by : m.op === 'add' ? v + m.by : v * m.by);
      return;
    }
    case 'string': {
      const s = pick(all.filter((x) => typeof x.value === 'string'));
      if (s) setSlot(s, m.to);
      return;
    }
    case 'duplicate': {
      const s = pick(all.filter((x) => Array.isArray(x.value) && x.value.length > 0));
      const list = s?.value as unknown[] | undefined;
      if (list) list.splice(m.at % list.length, 0, structuredClone(list[m.at % list.length]));
      return;
    }
  }
}
