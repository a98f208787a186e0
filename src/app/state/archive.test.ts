import { describe, expect, it } from 'vitest';
import { decodeArchive, encodeArchive } from './archive';
import { applyEvents, newRun } from './runs';
import { CONFIG, EMBEDDING, ROC } from './fixtures';

describe('export files', () => {
  it('round-trip runs with image events and student weights', () => {
    const run = applyEvents(
      newRun('r1', CONFIG, 'KD', 0),
      [
        {
          kind: 'images',
          key: 'samples',
          step: 1,
          width: 2,
          height: 2,
          channels: 1,
          pixels: new Uint8Array([0, 64, 128, 255]),
        },
        { kind: 'scalar', key: 'loss', step: 1, value: 0.25 },
      ],
      0,
    );
    const weightData = new Float32Array([1.5, -2, 3e-8]).buffer;
    const text = encodeArchive([
      { run, student: { modelJson: '{}', shardName: 's.bin', weightData } },
    ]);
    const [entry] = decodeArchive(text);
    expect(entry.run).toEqual(run);
    expect(entry.run.images.samples.pixels).toBeInstanceOf(Uint8Array);
    expect(new Float32Array(entry.student!.weightData)).toEqual(new Float32Array(weightData));
  });

  it('round-trip typed arrays nested in events (an embedding’s images and gates)', () => {
    const run = applyEvents(newRun('r1', CONFIG, 'DP', 0), [EMBEDDING, ROC], 0);
    const [entry] = decodeArchive(encodeArchive([{ run }]));
    expect(entry.run).toEqual(run);
    const back = entry.run.embeddings['decision-umap'];
    expect(back.images!.pixels).toBeInstanceOf(Uint8Array);
    expect(back.gates!.values).toBeInstanceOf(Float32Array);
    expect(back.groups).toBeInstanceOf(Int32Array);
  });

  it('say what is wrong with a file that is not an export', () => {
    expect(() => decodeArchive('nope')).toThrow(/not JSON/);
    expect(() => decodeArchive('{"runs": []}')).toThrow(/expected format/);
    expect(() =>
      decodeArchive('{"format":"compression-lab/runs","version":1,"runs":[{}]}'),
    ).toThrow(/Run 1/);
  });
});
