// A colour model trained on BGR images: the channel order reaches its input on every path (the
// data pipeline, display, attacks, detection, ONNX export) and a wrong order shows in accuracy.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphLogits, pixelsToInput } from '../adversarial';
import { toTensors, type Dataset } from '../data';
import {
  disposeGraph,
  forward,
  GraphBuilder,
  parsePreprocessing,
  type Graph,
  type Preprocessing,
} from '../graph';
import { loadGraph, serializeGraph } from '../io';
import { graphFromOnnx, graphToOnnx } from '../io/onnx';
import { initBackend } from '../runtime/backend';
import { accuracy } from './accuracy';
import { detectPreprocessing } from './detect';
import { inputOptions, toPixels } from './inputs';

const SIZE = 6;
const BGR: Preprocessing = {
  mean: [0.1, 0.2, 0.3],
  std: [0.5, 0.4, 0.25],
  channelOrder: 'bgr',
};

beforeAll(async () => {
  await initBackend('wasm');
  ort.env.wasm.numThreads = 1;
});

/** Red (class 0) and blue (class 1) images with noise, stored RGB as every dataset is. */
function redBlue(count: number): Dataset {
  const pixels = new Uint8Array(count * SIZE * SIZE * 3);
  const labels = new Uint8Array(count);
  let state = 7;
  const noise = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 60) | 0;
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < SIZE * SIZE; p++) {
      const at = (i * SIZE * SIZE + p) * 3;
      pixels[at] = labels[i] === 0 ? 190 + noise() : noise();
      pixels[at + 1] = 40 + noise();
      pixels[at + 2] = labels[i] === 1 ? 190 + noise() : noise();
    }
  }
  return {
    id: 'uploaded',
    split: 'train',
    count,
    height: SIZE,
    width: SIZE,
    channels: 3,
    numClasses: 2,
    classNames: ['red', 'blue'],
    pixels,
    labels,
    hash: 'red-blue',
  };
}

/**
 * What a network trained on BGR input learns: class 0 when the last channel (red, in BGR) is
 * brighter than the first. A dense layer over the flattened H·W·C input.
 */
function bgrClassifier(): Graph {
  const g = new GraphBuilder('bgr-net', [SIZE, SIZE, 3], 1, BGR)
    .add('flatten', 'flatten', {})
    .dense('fc', 2)
    .build();
  const fc = g.nodes.find((n) => n.id === 'fc')!;
  const kernel = Array.from({ length: SIZE * SIZE * 3 }, (_, i) => {
    const redness = i % 3 === 2 ? 1 : i % 3 === 0 ? -1 : 0;
    return [redness, -redness];
  });
  fc.weights.kernel.assign(tf.tensor2d(kernel));
  fc.weights.bias.assign(tf.zeros([2]));
  return g;
}

describe('channel order', () => {
  it('is parsed, described, and refused for a one-channel model', () => {
    expect(parsePreprocessing({ channelOrder: 'bgr' }, { mean: 0, std: 1 }).channelOrder).toBe(
      'bgr',
    );
    expect(() => parsePreprocessing({ channelOrder: 'grb' }, { mean: 0, std: 1 })).toThrow(
      /channelOrder must be one of rgb, bgr/,
    );
    const grey = new GraphBuilder('grey', [28, 28, 1], 1, { ...BGR, mean: 0, std: 1 }).build();
    const mnist = { id: 'mnist', height: 28, width: 28, channels: 1 } as Dataset;
    expect(() => inputOptions(grey, mnist)).toThrow(/BGR order/);
    disposeGraph(grey);
  });

  it('puts the stored channels in BGR order before the per-channel statistics, padded or resized', () => {
    const ds = redBlue(2);
    const g = bgrClassifier();
    const p = (i: number, y: number, x: number, k: number) =>
      ds.pixels[((i * SIZE + y) * SIZE + x) * 3 + k];
    for (const [resize, border] of [
      ['pad', 1],
      ['bilinear', 0],
    ] as const) {
      g.preprocessing = { ...BGR, resize };
      const size = resize === 'pad' ? SIZE + 2 : SIZE;
      g.inputShape = [size, size, 3];
      const { x, y } = toTensors(ds, undefined, inputOptions(g, ds));
      const v = x.arraySync();
      for (let k = 0; k < 3; k++) {
        const stored = p(1, 2, 3, 2 - k);
        const expected = (stored / 255 - [0.1, 0.2, 0.3][k]) / [0.5, 0.4, 0.25][k];
        expect(v[1][2 + border][3 + border][k]).toBeCloseTo(expected, 5);
      }
      // Back to stored pixels, in stored order, for display.
      const back = toPixels(x, g.preprocessing).arraySync();
      expect(back[1][2 + border][3 + border]).toEqual([
        p(1, 2, 3, 0),
        p(1, 2, 3, 1),
        p(1, 2, 3, 2),
      ]);
      tf.dispose([x, y]);
    }
    disposeGraph(g);
  });

  it('detection finds that the model was trained on BGR images; RGB gets every image wrong', async () => {
    const ds = redBlue(40);
    const g = bgrClassifier();
    expect(await accuracy(g, ds)).toBe(1);
    const detection = await detectPreprocessing({ ...g, preprocessing: { mean: 0, std: 1 } }, ds);
    expect(detection.best.preprocessing.channelOrder).toBe('bgr');
    expect(detection.best.label).toMatch(/BGR/);
    const rgb = detection.trials.find((t) => !t.preprocessing.invert && t.label === 'unit');
    expect(rgb?.accuracy).toBe(0);
    disposeGraph(g);
  });

  it('is saved with the model in its model.json', async () => {
    const g = bgrClassifier();
    const { modelJson, weightData } = await serializeGraph(g);
    const back = await loadGraph(modelJson, async () => weightData);
    expect(back.preprocessing).toEqual(BGR);
    disposeGraph(g);
    disposeGraph(back);
  });

  it('attacks feed [0, 1] RGB pixels through the same order', () => {
    const ds = redBlue(2);
    const g = bgrClassifier();
    const { x, y } = toTensors(ds, undefined, inputOptions(g, ds));
    const unit = toTensors(ds).x;
    const viaAttack = pixelsToInput(g)(unit);
    expect(tf.max(tf.abs(tf.sub(viaAttack, x))).arraySync()).toBeLessThan(1e-5);
    const predicted = tf.argMax(graphLogits(g)(unit), 1);
    expect(Array.from(predicted.dataSync())).toEqual([0, 1]);
    tf.dispose([x, y, unit, viaAttack, predicted]);
    disposeGraph(g);
  });

  it('the ONNX file takes RGB [0, 1] pixels: onnxruntime and re-import give the IR’s logits', async () => {
    const ds = redBlue(10);
    const g = bgrClassifier();
    const { x, y } = toTensors(ds, undefined, inputOptions(g, ds));
    const ir = forward(g, x).output;
    const rgb = toTensors(ds).x;
    const nchw = tf.transpose(rgb, [0, 3, 1, 2]);
    const bytes = await graphToOnnx(g);
    const session = await ort.InferenceSession.create(bytes);
    const feeds = {
      [session.inputNames[0]]: new ort.Tensor('float32', await nchw.data(), nchw.shape),
    };
    const ortLogits = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    await session.release();
    const irLogits = await ir.data();
    // Right on every image only if the file reorders the channels itself.
    const classes = Array.from({ length: ds.count }, (_, i) =>
      ortLogits[2 * i] > ortLogits[2 * i + 1] ? 0 : 1,
    );
    expect(classes).toEqual(Array.from(ds.labels));
    expect(Math.max(...ortLogits.map((v, i) => Math.abs(v - irLogits[i])))).toBeLessThan(1e-4);
    const back = graphFromOnnx(bytes, 'bgr-net');
    const again = await tf
      .tidy(() => forward(back, toTensors(ds, undefined, inputOptions(back, ds)).x).output)
      .data();
    expect(Math.max(...again.map((v, i) => Math.abs(v - irLogits[i])))).toBeLessThan(1e-4);
    tf.dispose([x, y, ir, rgb, nchw]);
    disposeGraph(g);
    disposeGraph(back);
  });
});
