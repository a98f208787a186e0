// Writes TF.js graph models of the built-in teachers in the layout tensorflowjs_converter gives a
// Keras model saved as a SavedModel (TensorFlow does not install here, so the GraphDef JSON is
// written here in that layout, as tfjs-converter's op mapper reads it and public converted
// model.json files show it), for src/core/io/graph-model.test.ts:
//   - format "graph-model", modelTopology { node, library, versions }, a signature, one weight
//     group whose entries are the Const nodes by name (int32 for shapes and axes);
//   - node names 'StatefulPartitionedCall/sequential/<layer>/<op>', weights
//     '<layer>/Conv2D/ReadVariableOp' and '<layer>/BiasAdd/ReadVariableOp';
//   - attributes as GraphDef JSON: strings base64, integers as strings, lists as { list: { i } };
//   - grappler's fusions: _FusedConv2D and _FusedMatMul with fused_ops [BiasAdd, Relu] and
//     num_args; BatchNorm folded into the convolution (the converter's fold_batch_norms) for
//     odd BN-VGG blocks and left as Conv2D + FusedBatchNormV3 + Relu for even ones;
//   - the input normalisation inside the graph: Sub + RealDiv (a Keras Normalization layer) for
//     LeNet-5, Mul + AddV2 (Rescaling) for BN-VGG; Flatten as Reshape by a Const [-1, n],
//     GlobalAveragePooling as Mean over [1, 2], a last unfused MatMul + BiasAdd, Softmax, and
//     the 'Identity' output node;
//   - LeNet-5 also with --quantize_float16's shard: float weights as float16, marked by each
//     manifest entry's quantization { dtype: 'float16' }.
// The tests build the same files in memory; `npx tsx scripts/make-graph-model-fixtures.ts [dir]`
// writes <dir>/<teacher>/model.json and its shard (default: graph-model-fixtures/ in the temp
// directory), which `clab eval --model <dir>/<teacher>/model.json` reads.
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import {
  disposeGraph,
  inferShapes,
  type Graph,
  type GraphNodeOf,
  type Op,
} from '../src/core/graph';
import { toFloat16 } from '../src/core/io/layers-format';
import { loadTeacher } from '../src/core/zoo';

export const GRAPH_FIXTURE_TEACHERS = ['lenet5-mnist', 'bnnet-mnist'] as const;
export const SHARD = 'group1-shard1of1.bin';

type Attr = Record<string, unknown>;
interface NodeJson {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, Attr>;
}
interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: ArrayLike<number>;
}

export interface GraphModelFiles {
  /** model.json's object (tf.io.ModelJSON's graph-model form). */
  json: {
    format: string;
    modelTopology: { node: NodeJson[] };
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    signature: unknown;
  };
  weightData: ArrayBuffer;
}

// GraphDef JSON attribute values.
export const attr = {
  str: (s: string): Attr => ({ s: btoa(s) }),
  strs: (s: string[]): Attr => ({ list: { s: s.map((x) => btoa(x)) } }),
  int: (i: number): Attr => ({ i: String(i) }),
  ints: (i: number[]): Attr => ({ list: { i: i.map(String) } }),
  float: (f: number): Attr => ({ f }),
  bool: (b: boolean): Attr => ({ b }),
  type: (t = 'DT_FLOAT'): Attr => ({ type: t }),
};

const shapeJson = (dims: number[]) => ({ dim: dims.map((d) => ({ size: String(d) })) });

/** Builds a GraphDef JSON and its weight shard node by node. */
export class GraphDefWriter {
  private readonly nodes: NodeJson[] = [];
  private readonly weights: Weight[] = [];
  private input = '';

  placeholder(name: string, dims: number[]): string {
    this.input = name;
    return this.op(name, 'Placeholder', [], {
      dtype: attr.type(),
      shape: { shape: shapeJson(dims) },
    });
  }

  /** A Const node whose value is a weight-manifest entry of the same name. */
  constant(
    name: string,
    shape: number[],
    values: ArrayLike<number>,
    dtype: Weight['dtype'] = 'float32',
  ) {
    const type = dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT';
    this.weights.push({ name, shape, dtype, values });
    return this.op(name, 'Const', [], {
      value: { tensor: { dtype: type, tensorShape: shapeJson(shape) } },
      dtype: attr.type(type),
    });
  }

  op(name: string, op: string, input: string[], attrs: Record<string, Attr> = {}): string {
    this.nodes.push({ name, op, input, attr: attrs });
    return name;
  }

  /** model.json and its shard; `float16` stores float weights as --quantize_float16 does. */
  files(
    output: string,
    inputDims: number[],
    outputDims: number[],
    float16 = false,
  ): GraphModelFiles {
    const half = (w: Weight) => float16 && w.dtype === 'float32';
    const bytes = this.weights.reduce((n, w) => n + (half(w) ? 2 : 4) * w.values.length, 0);
    const view = new DataView(new ArrayBuffer(bytes));
    let offset = 0;
    for (const w of this.weights) {
      const values = Float32Array.from(w.values);
      if (half(w)) {
        for (const v of toFloat16(values)) view.setUint16((offset += 2) - 2, v, true);
      } else if (w.dtype === 'int32') {
        for (const v of values) view.setInt32((offset += 4) - 4, v, true);
      } else {
        for (const v of values) view.setFloat32((offset += 4) - 4, v, true);
      }
    }
    const weightData = view.buffer;
    const tensorInfo = (name: string, dims: number[]) => ({
      name,
      dtype: 'DT_FLOAT',
      tensorShape: shapeJson(dims),
    });
    return {
      json: {
        format: 'graph-model',
        generatedBy: '2.15.0',
        convertedBy: 'TensorFlow.js Converter v4.17.0',
        signature: {
          inputs: { [`${this.input}:0`]: tensorInfo(`${this.input}:0`, inputDims) },
          outputs: { [`${output}:0`]: tensorInfo(`${output}:0`, outputDims) },
        },
        modelTopology: { node: this.nodes, library: {}, versions: { producer: 1645 } },
        weightsManifest: [
          {
            paths: [SHARD],
            weights: this.weights.map((w) => ({
              name: w.name,
              shape: w.shape,
              dtype: w.dtype,
              ...(half(w) && { quantization: { dtype: 'float16', original_dtype: 'float32' } }),
            })),
          },
        ],
      } as GraphModelFiles['json'],
      weightData,
    };
  }
}

/** The attributes grappler leaves on Conv2D / _FusedConv2D. */
export function convAttrs(
  strides: number[],
  padding: string,
  fusedOps?: string[],
): Record<string, Attr> {
  const base: Record<string, Attr> = {
    T: attr.type(),
    data_format: attr.str('NHWC'),
    strides: attr.ints([1, ...strides, 1]),
    dilations: attr.ints([1, 1, 1, 1]),
    padding: attr.str(padding),
    explicit_paddings: { list: {} },
    use_cudnn_on_gpu: attr.bool(true),
  };
  if (!fusedOps) return base;
  return {
    ...base,
    fused_ops: attr.strs(fusedOps),
    num_args: attr.int(fusedOps[0] === 'FusedBatchNorm' ? 4 : 1),
    epsilon: attr.float(0),
    leakyrelu_alpha: attr.float(0.2),
  };
}

export function matMulAttrs(fusedOps?: string[]): Record<string, Attr> {
  const base = { T: attr.type(), transpose_a: attr.bool(false), transpose_b: attr.bool(false) };
  if (!fusedOps) return base;
  return {
    ...base,
    fused_ops: attr.strs(fusedOps),
    num_args: attr.int(1),
    epsilon: attr.float(0),
    leakyrelu_alpha: attr.float(0.2),
  };
}

async function values(v: tf.Variable): Promise<Float32Array> {
  return Float32Array.from(await v.data());
}

/** A teacher as tensorflowjs_converter writes its Keras SavedModel (see the header). */
export async function tfjsGraphModel(g: Graph, float16 = false): Promise<GraphModelFiles> {
  const w = new GraphDefWriter();
  const shapes = inferShapes(g);
  const scope = 'StatefulPartitionedCall/sequential';
  const [h, wd, c] = g.inputShape;
  const mean = Number(g.preprocessing.mean);
  const std = Number(g.preprocessing.std);
  let x = w.placeholder('input_1', [-1, h, wd, c]);
  if (g.name.startsWith('lenet')) {
    const sub = w.constant(`${scope}/normalization/sub/y`, [1, 1, 1, c], [mean]);
    x = w.op(`${scope}/normalization/sub`, 'Sub', [x, sub], { T: attr.type() });
    const div = w.constant(`${scope}/normalization/Maximum`, [1, 1, 1, c], [std]);
    x = w.op(`${scope}/normalization/truediv`, 'RealDiv', [x, div], { T: attr.type() });
  } else {
    const scale = w.constant(`${scope}/rescaling/Cast/x`, [], [1 / std]);
    x = w.op(`${scope}/rescaling/mul`, 'Mul', [x, scale], { T: attr.type() });
    const offset = w.constant(`${scope}/rescaling/Cast_1/x`, [], [-mean / std]);
    x = w.op(`${scope}/rescaling/add`, 'AddV2', [x, offset], { T: attr.type() });
  }
  const nodes = g.nodes.slice(1);
  /** The node after the i-th if it is an `op`. */
  const next = <K extends Op>(i: number, op: K) =>
    nodes[i + 1]?.op === op ? (nodes[i + 1] as GraphNodeOf<K>) : undefined;
  let convs = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    const layer = `${scope}/${node.id}`;
    switch (node.op) {
      case 'conv2d': {
        const a = node.attrs;
        const kernel = await values(node.weights.kernel);
        const shape = [...node.weights.kernel.shape];
        const filters = a.filters;
        let bias = a.useBias ? await values(node.weights.bias) : new Float32Array(filters);
        const bn = next(i, 'batchNorm');
        const relu = next(bn ? i + 1 : i, 'activation');
        const padding = a.padding.toUpperCase();
        const foldBn = !bn || convs++ % 2 === 0;
        if (bn && foldBn) {
          // fold_batch_norms: w·γ/√(σ²+ε) per output channel, β − μ·γ/√(σ²+ε) + b·γ/√(σ²+ε).
          const [gamma, beta, mu, variance] = await Promise.all(
            ['gamma', 'beta', 'movingMean', 'movingVariance'].map((n) => values(bn.weights[n])),
          );
          const k = gamma.map((gj, j) => gj / Math.sqrt(variance[j] + bn.attrs.epsilon));
          for (let j = 0; j < kernel.length; j++) kernel[j] *= k[j % filters];
          bias = bias.map((b, j) => beta[j] + (b - mu[j]) * k[j]);
        }
        const filter = w.constant(`${layer}/Conv2D/ReadVariableOp`, shape, kernel);
        if (foldBn) {
          const b = w.constant(`${layer}/BiasAdd/ReadVariableOp`, [filters], bias);
          const ops = relu ? ['BiasAdd', 'Relu'] : ['BiasAdd'];
          x = w.op(
            `${layer}/${relu ? 'Relu' : 'BiasAdd'}`,
            '_FusedConv2D',
            [x, filter, b],
            convAttrs(a.strides, padding, ops),
          );
          i += (bn ? 1 : 0) + (relu ? 1 : 0);
        } else {
          x = w.op(`${layer}/Conv2D`, 'Conv2D', [x, filter], convAttrs(a.strides, padding));
        }
        break;
      }
      case 'batchNorm': {
        const param = async (name: string, weight: string) =>
          w.constant(
            `${layer}/${name}`,
            [...node.weights[weight].shape],
            await values(node.weights[weight]),
          );
        const inputs = [
          x,
          await param('ReadVariableOp', 'gamma'),
          await param('ReadVariableOp_1', 'beta'),
          await param('FusedBatchNormV3/ReadVariableOp', 'movingMean'),
          await param('FusedBatchNormV3/ReadVariableOp_1', 'movingVariance'),
        ];
        x = w.op(`${layer}/FusedBatchNormV3`, 'FusedBatchNormV3', inputs, {
          T: attr.type(),
          U: attr.type(),
          data_format: attr.str('NHWC'),
          epsilon: attr.float(node.attrs.epsilon),
          exponential_avg_factor: attr.float(1),
          is_training: attr.bool(false),
        });
        break;
      }
      case 'activation':
        if (node.attrs.fn !== 'relu')
          throw new Error(`tfjsGraphModel: activation ${node.attrs.fn}`);
        x = w.op(`${layer}/Relu`, 'Relu', [x], { T: attr.type() });
        break;
      case 'maxPool': {
        const a = node.attrs;
        x = w.op(`${layer}/MaxPool`, 'MaxPool', [x], {
          T: attr.type(),
          data_format: attr.str('NHWC'),
          ksize: attr.ints([1, ...a.poolSize, 1]),
          strides: attr.ints([1, ...a.strides, 1]),
          padding: attr.str(a.padding.toUpperCase()),
          explicit_paddings: { list: {} },
        });
        break;
      }
      case 'flatten': {
        const features = shapes.get(node.id)![0];
        const shape = w.constant(`${layer}/Const`, [2], [-1, features], 'int32');
        x = w.op(`${layer}/Reshape`, 'Reshape', [x, shape], {
          T: attr.type(),
          Tshape: attr.type('DT_INT32'),
        });
        break;
      }
      case 'globalAvgPool': {
        const axes = w.constant(`${layer}/Mean/reduction_indices`, [2], [1, 2], 'int32');
        x = w.op(`${layer}/Mean`, 'Mean', [x, axes], {
          T: attr.type(),
          Tidx: attr.type('DT_INT32'),
          keep_dims: attr.bool(false),
        });
        break;
      }
      case 'dense': {
        const kernel = w.constant(
          `${layer}/MatMul/ReadVariableOp`,
          [...node.weights.kernel.shape],
          await values(node.weights.kernel),
        );
        const bias = w.constant(
          `${layer}/BiasAdd/ReadVariableOp`,
          [node.attrs.units],
          await values(node.weights.bias),
        );
        const relu = next(i, 'activation');
        if (node.id === g.output) {
          // The last layer unfused: MatMul, then BiasAdd.
          x = w.op(`${layer}/MatMul`, 'MatMul', [x, kernel], matMulAttrs());
          x = w.op(`${layer}/BiasAdd`, 'BiasAdd', [x, bias], {
            T: attr.type(),
            data_format: attr.str('NHWC'),
          });
        } else {
          const ops = relu ? ['BiasAdd', 'Relu'] : ['BiasAdd'];
          x = w.op(
            `${layer}/${relu ? 'Relu' : 'BiasAdd'}`,
            '_FusedMatMul',
            [x, kernel, bias],
            matMulAttrs(ops),
          );
          if (relu) i++;
        }
        break;
      }
      default:
        throw new Error(`tfjsGraphModel: ${node.op} is not used by the fixture teachers`);
    }
  }
  const classes = shapes.get(g.output)![0];
  x = w.op(`${scope}/softmax/Softmax`, 'Softmax', [x], { T: attr.type() });
  const out = w.op('Identity', 'Identity', [x], { T: attr.type() });
  return w.files(out, [-1, h, wd, c], [-1, classes], float16);
}

/** Every fixture, by teacher id; '<id>-float16' is LeNet-5 with float16-quantized weights. */
export async function makeGraphModelFixtures(): Promise<Map<string, GraphModelFiles>> {
  const files = new Map<string, GraphModelFiles>();
  for (const id of GRAPH_FIXTURE_TEACHERS) {
    const teacher = await loadTeacher(id);
    files.set(id, await tfjsGraphModel(teacher));
    if (id === 'lenet5-mnist') files.set(`${id}-float16`, await tfjsGraphModel(teacher, true));
    disposeGraph(teacher);
  }
  return files;
}

async function main(dir: string) {
  for (const [id, { json, weightData }] of await makeGraphModelFixtures()) {
    await mkdir(join(dir, id), { recursive: true });
    await writeFile(join(dir, id, 'model.json'), JSON.stringify(json));
    await writeFile(join(dir, id, SHARD), new Uint8Array(weightData));
    console.log(`${join(dir, id, 'model.json')}  ${weightData.byteLength} weight bytes`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv[2] ?? join(tmpdir(), 'graph-model-fixtures')).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
