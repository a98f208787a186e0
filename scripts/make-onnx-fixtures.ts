// Writes ONNX files of the built-in teachers in the two layouts ONNX models come in, for the
// importer's tests and for trying `clab eval --model x.onnx`:
//   <teacher>-nchw.onnx  PyTorch's: NCHW input, Conv/BatchNormalization/Relu/MaxPool, Flatten,
//                        Gemm transB=1 (this project's ONNX export);
//   <teacher>-nhwc.onnx  tf2onnx's: NHWC input with a batch fixed to 1, its normalisation as Sub/Div
//                        by Constant nodes, Transpose nodes around the NCHW convolutions, the first
//                        ReLU as Clip(min 0), Reshape to [1, -1], MatMul + Add with the weights as
//                        Constant nodes reshaped or transposed before use, and a final Softmax.
// The tests build the same files in memory; run `npx tsx scripts/make-onnx-fixtures.ts [dir]`
// to write them (default: onnx-fixtures/ in the temp directory).
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { disposeGraph, inferShapes, type Graph } from '../src/core/graph';
import { graphToOnnx } from '../src/core/io/onnx';
import {
  encodeModel,
  nodeProto,
  samePads,
  tensorProto,
  transposeHost,
  valueInfo,
  type HostTensor,
  type NodeProto,
  type TensorProto,
} from '../src/core/io/onnx/proto';
import { loadTeacher } from '../src/core/zoo';

export const FIXTURE_TEACHERS = ['lenet5-mnist', 'bnnet-mnist'] as const;

async function host(v: tf.Variable): Promise<HostTensor> {
  return { dims: [...v.shape], values: Float32Array.from(await v.data()) };
}

const scalar = (v: number): HostTensor => ({ dims: [], values: Float32Array.of(v) });
const ints = (v: number[]): HostTensor => ({ dims: [v.length], values: Float32Array.from(v) });

/** The teacher as tf2onnx writes a Keras model (see the header); only the ops the teachers use. */
export async function tf2onnxStyle(g: Graph): Promise<Uint8Array> {
  const shapes = inferShapes(g);
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const add = (op: string, inputs: string[], output: string, attrs = {}) => {
    nodes.push(nodeProto(op, inputs, [output], attrs));
    return output;
  };
  const constantNode = (name: string, t: HostTensor, int64 = false) =>
    add('Constant', [], name, { value: { tensor: tensorProto(name, t, int64) } });
  const [h, w, c] = g.inputShape;
  const { mean, std } = g.preprocessing;
  let x = add('Sub', ['input:0', constantNode('mean:0', scalar(Number(mean)))], 'sub:0');
  x = add('Div', [x, constantNode('std:0', scalar(Number(std)))], 'truediv:0');
  x = add('Transpose', [x], 'transpose_nchw:0', { perm: { ints: [0, 3, 1, 2] } });
  let reluCount = 0;
  let denseCount = 0;
  for (const node of g.nodes.slice(1)) {
    const id = `${g.name}/${node.id}`;
    const inShape = shapes.get(node.inputs[0])!;
    switch (node.op) {
      case 'conv2d': {
        const a = node.attrs;
        const [sh, sw] = a.strides;
        const [top, bottom] =
          a.padding === 'same' ? samePads(inShape[0], a.kernelSize[0], sh, 1) : [0, 0];
        const [left, right] =
          a.padding === 'same' ? samePads(inShape[1], a.kernelSize[1], sw, 1) : [0, 0];
        initializers.push(
          tensorProto(`${id}/kernel`, transposeHost(await host(node.weights.kernel), [3, 2, 0, 1])),
        );
        const inputs = [x, add('Identity', [`${id}/kernel`], `${id}/kernel/read:0`)];
        if (a.useBias) {
          initializers.push(tensorProto(`${id}/bias`, await host(node.weights.bias)));
          inputs.push(`${id}/bias`);
        }
        x = add('Conv', inputs, `${id}/Conv2D:0`, {
          kernel_shape: { ints: a.kernelSize },
          strides: { ints: a.strides },
          dilations: { ints: a.dilations },
          pads: { ints: [top, left, bottom, right] },
        });
        break;
      }
      case 'batchNorm': {
        const inputs = [x];
        for (const name of ['gamma', 'beta', 'movingMean', 'movingVariance']) {
          initializers.push(tensorProto(`${id}/${name}`, await host(node.weights[name])));
          inputs.push(`${id}/${name}`);
        }
        x = add('BatchNormalization', inputs, `${id}/FusedBatchNormV3:0`, {
          epsilon: node.attrs.epsilon,
        });
        break;
      }
      case 'activation':
        if (node.attrs.fn !== 'relu') throw new Error(`tf2onnxStyle: activation ${node.attrs.fn}`);
        x =
          reluCount++ === 0
            ? add('Clip', [x, constantNode(`${id}/min:0`, scalar(0))], `${id}/Relu:0`)
            : add('Relu', [x], `${id}/Relu:0`);
        break;
      case 'maxPool': {
        const a = node.attrs;
        if (a.padding !== 'valid') throw new Error('tf2onnxStyle: same max pooling');
        x = add('MaxPool', [x], `${id}/MaxPool:0`, {
          kernel_shape: { ints: a.poolSize },
          strides: { ints: a.strides },
        });
        break;
      }
      case 'globalAvgPool':
        x = add('GlobalAveragePool', [x], `${id}/Mean:0`);
        x = add(
          'Reshape',
          [x, constantNode(`${id}/shape:0`, ints([1, -1]), true)],
          `${id}/Squeeze:0`,
        );
        break;
      case 'flatten':
        x = add('Transpose', [x], `${id}/transpose_nhwc:0`, { perm: { ints: [0, 2, 3, 1] } });
        x = add(
          'Reshape',
          [x, constantNode(`${id}/shape:0`, ints([1, -1]), true)],
          `${id}/Reshape:0`,
        );
        break;
      case 'dense': {
        const kernel = await host(node.weights.kernel);
        const [rows, units] = kernel.dims;
        // Alternate the two ways tf2onnx stores a MatMul weight: flat and reshaped, or transposed.
        const weight =
          denseCount++ % 2 === 0
            ? add(
                'Reshape',
                [
                  constantNode(`${id}/kernel_flat:0`, {
                    dims: [rows * units],
                    values: kernel.values,
                  }),
                  constantNode(`${id}/kernel_shape:0`, ints([rows, units]), true),
                ],
                `${id}/kernel:0`,
              )
            : add(
                'Transpose',
                [constantNode(`${id}/kernel_t:0`, transposeHost(kernel, [1, 0]))],
                `${id}/kernel:0`,
                {
                  perm: { ints: [1, 0] },
                },
              );
        x = add('MatMul', [x, weight], `${id}/MatMul:0`);
        x = add(
          'Add',
          [x, constantNode(`${id}/bias:0`, await host(node.weights.bias))],
          `${id}/BiasAdd:0`,
        );
        break;
      }
      default:
        throw new Error(`tf2onnxStyle: ${node.op} is not used by the fixture teachers`);
    }
  }
  add('Softmax', [x], 'Identity:0', { axis: { int: 1 } });
  return encodeModel(
    {
      name: g.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input:0', [1, h, w, c])],
      output: [valueInfo('Identity:0', [1, shapes.get(g.output)![0]])],
    },
    13,
  );
}

/** Every fixture, by file name. */
export async function makeOnnxFixtures(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const id of FIXTURE_TEACHERS) {
    const teacher = await loadTeacher(id);
    files.set(`${id}-nchw.onnx`, await graphToOnnx(teacher));
    files.set(`${id}-nhwc.onnx`, await tf2onnxStyle(teacher));
    disposeGraph(teacher);
  }
  return files;
}

async function main(dir: string) {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of await makeOnnxFixtures()) {
    await writeFile(join(dir, name), bytes);
    console.log(`${join(dir, name)}  ${bytes.length} bytes`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv[2] ?? join(tmpdir(), 'onnx-fixtures')).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
