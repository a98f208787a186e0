import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../data';
import { disposeGraph, type Preprocessing } from '../graph';
import { buildArchitecture } from '../zoo';
import { inputOptions, pixelMap, toPixels } from './inputs';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** What pixel p becomes under `pre`, through its map. */
const mapped = (pre: Preprocessing, p: number, channel = 0) => {
  const { scale, offset } = pixelMap(pre);
  return (scale[channel] ?? scale[0]) * p + (offset[channel] ?? offset[0]);
};

describe('pixelMap', () => {
  it('maps each range, inversion and per-channel statistics', () => {
    expect(mapped({ mean: 0, std: 1 }, 255)).toBeCloseTo(1, 6);
    expect(mapped({ mean: 0, std: 1, range: 'raw' }, 200)).toBeCloseTo(200, 4);
    expect(mapped({ mean: 0, std: 1, range: 'signed' }, 0)).toBeCloseTo(-1, 6);
    expect(mapped({ mean: 0, std: 1, range: 'signed' }, 255)).toBeCloseTo(1, 6);
    expect(mapped({ mean: 0, std: 1, invert: true }, 255)).toBeCloseTo(0, 6);
    expect(mapped({ mean: 0, std: 1, invert: true }, 0)).toBeCloseTo(1, 6);
    const rgb: Preprocessing = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1] };
    expect(mapped(rgb, 255, 2)).toBeCloseTo((1 - 0.3) / 0.1, 5);
    expect(mapped(rgb, 0, 1)).toBeCloseTo(-0.4 / 0.2, 5);
  });

  it('toPixels inverts it', () => {
    const pre: Preprocessing = { mean: 33, std: 78, range: 'raw', invert: true };
    const pixels = tf.tensor4d([0, 17, 128, 255], [1, 2, 2, 1]);
    const { scale, offset } = pixelMap(pre);
    const x = tf.add(tf.mul(pixels, scale[0]), offset[0]) as tf.Tensor4D;
    const back = toPixels(x, pre);
    expect(Array.from(back.dataSync(), (v) => v + 0)).toEqual([0, 17, 128, 255]);
    tf.dispose([pixels, x, back]);
  });
});

describe('inputOptions', () => {
  const mnist = { id: 'mnist', height: 28, width: 28, channels: 1 } as Dataset;

  it('pads to a larger input by default, and refuses to pad to a smaller one', () => {
    const g = buildArchitecture('lenet5', 'mnist', 1);
    expect(inputOptions(g, mnist)).toMatchObject({ resize: [32, 32], resizeMode: 'pad' });
    g.inputShape = [16, 16, 1];
    expect(() => inputOptions(g, mnist)).toThrow(/smaller than mnist's 28×28.*cannot be padded/);
    g.preprocessing = { ...g.preprocessing, resize: 'bilinear' };
    expect(inputOptions(g, mnist)).toMatchObject({ resize: [16, 16], resizeMode: 'bilinear' });
    g.preprocessing = { mean: [0, 0], std: 1 };
    expect(() => inputOptions(g, mnist)).toThrow(/1 input channel\(s\).*2 means/);
    disposeGraph(g);
  });
});
