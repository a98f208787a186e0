import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../core/data';
import { disposeGraph } from '../core/graph';
import { loadGraphFromFile } from '../core/io/node';
import { initBackend } from '../core/runtime/backend';
import { InvalidInputError } from '../core/runtime/errors';
import { applyPreprocessingOption } from './preprocessing';

const RAW_LENET = join('src', 'core', 'io', 'fixtures', 'tfjs-raw-lenet5', 'model.json');

beforeAll(async () => {
  await initBackend('wasm');
});

describe('--preprocessing', () => {
  it('a range name keeps the mean/std, JSON sets its fields, anything else is refused', async () => {
    const g = await loadGraphFromFile(RAW_LENET);
    const noSamples = () => Promise.reject(new Error('not needed'));
    g.preprocessing = { mean: 0.5, std: 2 };
    await applyPreprocessingOption(g, 'signed', noSamples, true);
    expect(g.preprocessing).toEqual({ mean: 0.5, std: 2, range: 'signed' });
    await applyPreprocessingOption(g, '{"invert": true, "std": [3]}', noSamples, true);
    expect(g.preprocessing).toEqual({ mean: 0.5, std: [3], range: 'signed', invert: true });
    await expect(applyPreprocessingOption(g, 'rawish', noSamples, true)).rejects.toThrow(
      /'rawish' is not detect, unit, raw, signed or JSON/,
    );
    await expect(applyPreprocessingOption(g, '{"range": "hdr"}', noSamples, true)).rejects.toThrow(
      InvalidInputError,
    );
    await expect(applyPreprocessingOption(g, '{"gamma": 2}', noSamples, true)).rejects.toThrow(
      /unknown field\(s\) gamma/,
    );
    disposeGraph(g);
  });

  it('detect sets the best candidate and returns every trial', async () => {
    const g = await loadGraphFromFile(RAW_LENET);
    const detection = await applyPreprocessingOption(
      g,
      'detect',
      () => loadDataset('mnist', 'train'),
      true,
    );
    expect(g.preprocessing.range).toBe('raw');
    expect(detection!.best.accuracy).toBeGreaterThan(0.97);
    expect(detection!.trials.map((t) => t.label)).toContain('unit');
    disposeGraph(g);
  });
});
