// Checks on the nodes an importer builds from a file, before any tensor exists. A file can set
// sizes, strides and axes to anything (0, −1, 2.5, 1e9); unchecked, such a graph gets past
// import and fails later inside TF.js with an error that names nothing, or asks for gigabytes.
import { nodeShape, type Graph, type GraphNode, type NodeId } from '../graph';
import { InvalidModelError } from '../runtime/errors';

/** Values one example may have at any node: 2^24 floats (64 MiB), far above any model a browser trains. */
export const MAX_NODE_VALUES = 2 ** 24;

const REEXPORT = 'The file is corrupt or was edited by hand; export the model again.';

const whole = (min: number) => (v: unknown) => Number.isSafeInteger(v) && (v as number) >= min;
const list = (length: number, item: (v: unknown) => boolean) => (v: unknown) =>
  Array.isArray(v) && (length === 0 || v.length === length) && v.every(item);
const size = whole(1);
const pair = list(2, size);

/** What each attribute may be; other numeric attributes must be finite. */
const VALID: Record<string, (v: unknown) => boolean> = {
  shape: list(0, size),
  filters: size,
  units: size,
  depthMultiplier: size,
  kernelSize: pair,
  strides: pair,
  dilations: pair,
  poolSize: pair,
  targetShape: list(0, size),
  // 'same' | 'valid' (importers check the word), or zeroPad's [[top, bottom], [left, right]].
  padding: (v) => typeof v === 'string' || list(2, list(2, whole(0)))(v),
  rate: (v) => typeof v === 'number' && v >= 0 && v < 1,
  axis: (v) => Number.isSafeInteger(v),
};
const finiteIfNumber = (v: unknown) => typeof v !== 'number' || Number.isFinite(v);

/** Why an attribute's value cannot be right, or undefined. */
function attributeProblem(node: GraphNode): string | undefined {
  for (const [name, v] of Object.entries(node.attrs) as [string, unknown][]) {
    if (!(VALID[name] ?? finiteIfNumber)(v)) return `${name} ${JSON.stringify(v)}`;
  }
  return undefined;
}

/** What TF.js would refuse at run time that nodeShape does not check. */
function runtimeProblem(node: GraphNode, ins: number[][]): string | undefined {
  const [s] = ins;
  if (node.op === 'conv2d' || node.op === 'depthwiseConv2d') {
    const { strides, dilations } = node.attrs;
    if (strides.some((v) => v > 1) && dilations.some((v) => v > 1)) {
      return `strides [${strides}] and dilations [${dilations}] both above 1`;
    }
  }
  if (node.op === 'reshape') {
    const from = s.reduce((a, b) => a * b, 1);
    const to = node.attrs.targetShape.reduce((a, b) => a * b, 1);
    if (from !== to) return `it reshapes ${from} values into [${node.attrs.targetShape}]`;
  }
  if (node.op === 'concat') {
    const axis = node.attrs.axis < 0 ? s.length + node.attrs.axis : node.attrs.axis - 1;
    const fits = (t: number[]) =>
      t.length === s.length && t.every((d, i) => i === axis || d === s[i]);
    if (axis < 0 || axis >= s.length || !ins.every(fits)) {
      return `it joins [${ins.map((t) => `[${t}]`).join(', ')}] on axis ${node.attrs.axis}`;
    }
  }
  return undefined;
}

/**
 * nodeShape, after checking what a file controls: attributes are whole numbers where they
 * count or measure, the inputs fit, and the output is whole, positive and at most
 * MAX_NODE_VALUES per example.
 */
export function checkedShape(node: GraphNode, ins: number[][]): number[] {
  const problem = attributeProblem(node) ?? (ins.length ? runtimeProblem(node, ins) : undefined);
  if (problem) {
    throw new InvalidModelError(`Node '${node.id}' (${node.op}) has ${problem}`, REEXPORT);
  }
  const shape = nodeShape(node, ins);
  const values = shape.reduce((a, b) => a * b, 1);
  if (!list(0, size)(shape) || values > MAX_NODE_VALUES) {
    throw new InvalidModelError(
      `Node '${node.id}' (${node.op}) would output [${shape.join(', ')}] per example`,
      `${REEXPORT} Sizes must be whole numbers ≥ 1, at most ${MAX_NODE_VALUES} values per node.`,
    );
  }
  return shape;
}

/** Every node's checked shape; node ids must be unique and each input an earlier node. */
export function checkedShapes(g: Graph): Map<NodeId, number[]> {
  const shapes = new Map<NodeId, number[]>();
  for (const node of g.nodes) {
    if (shapes.has(node.id)) {
      throw new InvalidModelError(`Two layers are named '${node.id}'`, REEXPORT);
    }
    const missing = node.inputs.find((i) => !shapes.has(i));
    if (node.id !== g.input && (missing !== undefined || node.inputs.length === 0)) {
      const reads =
        missing === undefined ? 'reads no layer' : `reads '${missing}', not an earlier layer`;
      throw new InvalidModelError(`Layer '${node.id}' ${reads}`, REEXPORT);
    }
    const ins = node.id === g.input ? [] : node.inputs.map((i) => shapes.get(i)!);
    shapes.set(node.id, checkedShape(node, ins));
  }
  if (!shapes.has(g.output)) {
    throw new InvalidModelError(
      `The model's output '${g.output}' is not one of its layers`,
      REEXPORT,
    );
  }
  return shapes;
}
