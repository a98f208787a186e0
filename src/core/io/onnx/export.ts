import * as tf from '@tensorflow/tfjs';
import { circulantMatrix, inferShapes } from '../../graph';
import type { Graph, GraphNode, NodeId } from '../../graph';
import { pixelMap } from '../../metrics/inputs';
import { UnsupportedLayerError } from '../../runtime/errors';
import {
  encodeModel,
  nodeProto,
  permuteFlattenedRows,
  reshapeHost,
  samePads,
  tensorProto,
  transposeHost,
  valueInfo,
  type HostTensor,
  type NodeProto,
  type TensorProto,
} from './proto';

export const EXPORT_OPSET = 13;

/** How an exported tensor holds its IR value: NCHW, a plain vector, or a vector flattened C, H, W. */
type Layout = 'nchw' | 'flat' | { chw: [number, number, number] };

interface Exported {
  name: string;
  layout: Layout;
}

/**
 * Writes the IR as an ONNX model (opset 13) in PyTorch's layout: input 'input' [batch, C, H, W]
 * taking [0, 1] pixels (the model's preprocessing is its first Mul/Add nodes),
 * NCHW convolutions, Flatten straight after them with the next Gemm's rows permuted to C, H, W
 * order, output 'output' [batch, classes]; the batch is dynamic.
 */
export async function graphToOnnx(g: Graph): Promise<Uint8Array> {
  return new OnnxExporter(g).encode();
}

class OnnxExporter {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly values = new Map<NodeId, Exported>();
  private readonly shapes: Map<NodeId, number[]>;

  constructor(private readonly g: Graph) {
    this.shapes = inferShapes(g);
  }

  async encode(): Promise<Uint8Array> {
    const g = this.g;
    if (g.inputShape.length !== 3) {
      throw new UnsupportedLayerError(
        `The model's input is [${g.inputShape.join(', ')}], not an image`,
        'Only image models ([H, W, C] inputs) are exported to ONNX.',
      );
    }
    for (const node of g.nodes) this.values.set(node.id, await this.convert(node));
    const final = this.inIrOrder(this.values.get(g.output)!, g.output);
    const rename = (names: string[]) => names.map((t) => (t === final ? 'output' : t));
    for (const n of this.nodes) {
      n.input = rename(n.input!);
      n.output = rename(n.output!);
    }
    const [h, w, c] = g.inputShape;
    return encodeModel(
      {
        name: g.name,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo('input', ['batch', c, h, w])],
        output: [valueInfo('output', ['batch', ...this.shapes.get(g.output)!])],
      },
      EXPORT_OPSET,
    );
  }

  private emit(op: string, inputs: string[], output: string, attrs = {}): string {
    this.nodes.push(nodeProto(op, inputs, [output], attrs));
    return output;
  }

  private constant(name: string, t: HostTensor, int64 = false): string {
    if (!this.initializers.some((i) => i.name === name)) {
      this.initializers.push(tensorProto(name, t, int64));
    }
    return name;
  }

  private ints(name: string, values: number[]): string {
    return this.constant(name, { dims: [values.length], values: Float32Array.from(values) }, true);
  }

  /** The tensor with its values in the IR's order (NHWC, or features flattened H, W, C). */
  private inIrOrder(v: Exported, id: NodeId): string {
    if (v.layout === 'flat') return v.name;
    if (v.layout === 'nchw')
      return this.emit('Transpose', [v.name], `${id}_nhwc`, { perm: { ints: [0, 2, 3, 1] } });
    const map = this.emit(
      'Reshape',
      [v.name, this.ints(`${id}_chw_shape`, [-1, ...v.layout.chw])],
      `${id}_chw`,
    );
    const nhwc = this.emit('Transpose', [map], `${id}_nhwc`, { perm: { ints: [0, 2, 3, 1] } });
    return this.emit('Flatten', [nhwc], `${id}_hwc`);
  }

  private pads(
    node: GraphNode & { op: 'conv2d' | 'depthwiseConv2d' | 'maxPool' | 'avgPool' },
  ): number[] {
    const [h, w] = this.shapes.get(node.inputs[0])!;
    if (node.attrs.padding === 'valid') return [0, 0, 0, 0];
    const a = node.attrs;
    const [kh, kw] = 'kernelSize' in a ? a.kernelSize : a.poolSize;
    const [dh, dw] = 'dilations' in a ? a.dilations : [1, 1];
    const [top, bottom] = samePads(h, kh, a.strides[0], dh);
    const [left, right] = samePads(w, kw, a.strides[1], dw);
    return [top, left, bottom, right];
  }

  private async circulantKernel(
    node: Extract<GraphNode, { op: 'circulantDense' }>,
  ): Promise<HostTensor> {
    const [n] = this.shapes.get(node.inputs[0])!;
    const m = node.attrs.units;
    const dense = tf.tidy(() => circulantMatrix(node.weights.kernel as tf.Tensor3D, n, m));
    const values = (await dense.data()) as Float32Array;
    dense.dispose();
    return { dims: [n, m], values };
  }

  private async convert(node: GraphNode): Promise<Exported> {
    const id = node.id;
    const host = async (name: string): Promise<HostTensor> => {
      const v: tf.Variable = node.weights[name];
      return { dims: [...v.shape], values: Float32Array.from(await v.data()) };
    };
    const x = node.inputs.length ? this.values.get(node.inputs[0])! : undefined;
    const same = (name: string): Exported => ({ name, layout: x!.layout });
    switch (node.op) {
      case 'input':
        return { name: this.normalised(), layout: 'nchw' };
      case 'conv2d':
      case 'depthwiseConv2d': {
        const a = node.attrs;
        const inputs = [x!.name];
        const [, , c] = this.shapes.get(node.inputs[0])!;
        let group = 1;
        if (node.op === 'conv2d') {
          inputs.push(
            this.constant(`${id}.weight`, transposeHost(await host('kernel'), [3, 2, 0, 1])),
          );
        } else {
          const [kh, kw, , m] = node.weights.depthwiseKernel.shape;
          const w = transposeHost(await host('depthwiseKernel'), [2, 3, 0, 1]);
          inputs.push(this.constant(`${id}.weight`, reshapeHost(w, [c * m, 1, kh, kw])));
          group = c;
        }
        if (a.useBias) inputs.push(this.constant(`${id}.bias`, await host('bias')));
        return {
          name: this.emit('Conv', inputs, id, {
            kernel_shape: { ints: a.kernelSize },
            strides: { ints: a.strides },
            dilations: { ints: a.dilations },
            pads: { ints: this.pads(node) },
            group: { int: group },
          }),
          layout: 'nchw',
        };
      }
      case 'dense':
      case 'circulantDense': {
        // A block-circulant layer is exported as the dense matrix its blocks spell out.
        let kernel = node.op === 'dense' ? await host('kernel') : await this.circulantKernel(node);
        if (typeof x!.layout === 'object')
          kernel = permuteFlattenedRows(kernel, x!.layout.chw, true);
        const inputs = [x!.name, this.constant(`${id}.weight`, transposeHost(kernel, [1, 0]))];
        if (node.attrs.useBias) inputs.push(this.constant(`${id}.bias`, await host('bias')));
        return { name: this.emit('Gemm', inputs, id, { transB: { int: 1 } }), layout: 'flat' };
      }
      case 'batchNorm': {
        const layout = x!.layout;
        const param = async (name: string) => {
          const t = await host(name);
          if (typeof layout !== 'object') return t;
          return reshapeHost(
            permuteFlattenedRows(reshapeHost(t, [t.values.length, 1]), layout.chw, true),
            t.dims,
          );
        };
        const inputs = [x!.name];
        for (const [w, onnxName] of [
          ['gamma', 'weight'],
          ['beta', 'bias'],
          ['movingMean', 'running_mean'],
          ['movingVariance', 'running_var'],
        ]) {
          inputs.push(this.constant(`${id}.${onnxName}`, await param(w)));
        }
        const { epsilon, momentum } = node.attrs;
        return same(this.emit('BatchNormalization', inputs, id, { epsilon, momentum }));
      }
      case 'activation': {
        const fn = node.attrs.fn;
        if (fn === 'linear') return x!;
        if (fn === 'relu6') {
          const min = this.constant('relu6.min', { dims: [], values: Float32Array.of(0) });
          const max = this.constant('relu6.max', { dims: [], values: Float32Array.of(6) });
          return same(this.emit('Clip', [x!.name, min, max], id));
        }
        if (fn === 'softmax') {
          // Over the channels: axis 1 of NCHW, the last axis of a vector (in IR order).
          const input = x!.layout === 'nchw' ? x!.name : this.inIrOrder(x!, node.inputs[0]);
          const axis = x!.layout === 'nchw' ? 1 : -1;
          return {
            name: this.emit('Softmax', [input], id, { axis: { int: axis } }),
            layout: x!.layout === 'nchw' ? 'nchw' : 'flat',
          };
        }
        const op = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', elu: 'Elu' }[fn];
        return same(this.emit(op, [x!.name], id));
      }
      case 'leakyRelu':
        return same(this.emit('LeakyRelu', [x!.name], id, { alpha: node.attrs.alpha }));
      case 'maxPool':
      case 'avgPool': {
        const a = node.attrs;
        return same(
          this.emit(node.op === 'maxPool' ? 'MaxPool' : 'AveragePool', [x!.name], id, {
            kernel_shape: { ints: a.poolSize },
            strides: { ints: a.strides },
            pads: { ints: this.pads(node) },
          }),
        );
      }
      case 'globalAvgPool': {
        const pooled = this.emit('GlobalAveragePool', [x!.name], `${id}_map`);
        return { name: this.emit('Flatten', [pooled], id), layout: 'flat' };
      }
      case 'add':
      case 'concat': {
        const ins = node.inputs.map((i) => this.values.get(i)!);
        const spatial = ins.every((v) => v.layout === 'nchw');
        const names = spatial
          ? ins.map((v) => v.name)
          : ins.map((v, i) => this.inIrOrder(v, node.inputs[i]));
        const layout: Layout = spatial ? 'nchw' : 'flat';
        if (node.op === 'add') {
          const sum = names
            .slice(1)
            .reduce(
              (acc, n, i) => this.emit('Add', [acc, n], i === names.length - 2 ? id : `${id}_${i}`),
              names[0],
            );
          return { name: sum, layout };
        }
        const rank = this.shapes.get(id)!.length + 1;
        const axis = node.attrs.axis < 0 ? node.attrs.axis + rank : node.attrs.axis;
        return {
          name: this.emit('Concat', names, id, {
            axis: { int: spatial ? [0, 2, 3, 1][axis] : axis },
          }),
          layout,
        };
      }
      case 'flatten': {
        if (x!.layout !== 'nchw') return x!;
        const [h, w, c] = this.shapes.get(node.inputs[0])!;
        const layout: Layout = c > 1 && h * w > 1 ? { chw: [c, h, w] } : 'flat';
        return { name: this.emit('Flatten', [x!.name], id), layout };
      }
      case 'reshape': {
        const target = node.attrs.targetShape;
        if (target.length !== 1 && target.length !== 3) {
          throw new UnsupportedLayerError(
            `Reshape '${id}' to [${target.join(', ')}] has no ONNX layout`,
            'Only reshapes to images [H, W, C] or vectors are exported.',
          );
        }
        const shape = this.ints(`${id}.shape`, [-1, ...target]);
        const y = this.emit(
          'Reshape',
          [this.inIrOrder(x!, node.inputs[0]), shape],
          target.length === 3 ? `${id}_nhwc` : id,
        );
        if (target.length === 1) return { name: y, layout: 'flat' };
        return {
          name: this.emit('Transpose', [y], id, { perm: { ints: [0, 3, 1, 2] } }),
          layout: 'nchw',
        };
      }
      case 'dropout':
        return x!;
      case 'zeroPad': {
        const [[t, b], [l, r]] = node.attrs.padding;
        return same(
          this.emit('Pad', [x!.name, this.ints(`${id}.pads`, [0, 0, t, l, 0, 0, b, r])], id),
        );
      }
      case 'decisionHead':
      case 'gumbelSelect':
      case 'decisionMask':
      case 'channelGate':
        throw new UnsupportedLayerError(
          `'${id}' is a channel gate (${node.op}): a dynamic network picks its channels per input, which ONNX's operators cannot express`,
          'Download the model as a TF.js zip to reload it here, or export a statically pruned student.',
        );
    }
  }

  /**
   * The input after the model's preprocessing, so the file takes RGB pixels in [0, 1] (stored
   * value / 255) whatever its channel order, range, inversion or mean/std: input channel k is
   * x = 255·scale·u + offset of pixel channel order[k].
   */
  private normalised(): string {
    const { scale, offset, order } = pixelMap(this.g.preprocessing);
    const perChannel = (name: string, v: number[]) =>
      this.constant(name, { dims: [1, v.length, 1, 1], values: Float32Array.from(v) });
    const unitScale = scale.map((s) => 255 * s);
    if (order) {
      // A 1×1 convolution reorders and scales at once: ONNX has no plain channel permutation
      // that every runtime and importer (this project's included) reads.
      const c = order.length;
      const w = new Float32Array(c * c);
      order.forEach((from, k) => (w[k * c + from] = unitScale[k] ?? unitScale[0]));
      const b = Float32Array.from(order, (_, k) => offset[k] ?? offset[0]);
      const inputs = [
        'input',
        this.constant('input.reorder', { dims: [c, c, 1, 1], values: w }),
        this.constant('input.offset', { dims: [c], values: b }),
      ];
      return this.emit('Conv', inputs, 'input_normalised', { kernel_shape: { ints: [1, 1] } });
    }
    if (unitScale.every((s) => s === 1) && offset.every((o) => o === 0)) return 'input';
    const scaled = this.emit(
      'Mul',
      ['input', perChannel('input.scale', unitScale)],
      'input_scaled',
    );
    return this.emit('Add', [scaled, perChannel('input.offset', offset)], 'input_normalised');
  }
}
