import { describe, expect, it } from 'vitest';
import { EMBEDDING } from '../../state/fixtures';
import { classCount, gateRows, layout, nearest, pointFacts } from './embedding';

const CLASSES = Array.from({ length: 10 }, (_, c) => `digit ${c}`);

describe('the embedding view', () => {
  it('fits the points into the frame, y upwards, and finds the one under the pointer', () => {
    const xy = layout(EMBEDDING.points, { left: 10, top: 0, width: 100, height: 50 });
    expect([...xy]).toEqual([10, 50, 60, 25, 110, 0]);
    expect(nearest(xy, 62, 27, 8)).toBe(1);
    expect(nearest(xy, 80, 40, 8)).toBe(-1);
    // One point: the middle, not a division by zero.
    expect([
      ...layout(new Float32Array([3, 3]), { left: 0, top: 0, width: 10, height: 10 }),
    ]).toEqual([5, 5]);
  });

  it('says what a point is: class, prediction (wrong or not) and group', () => {
    expect(classCount(EMBEDDING)).toBe(8);
    expect(pointFacts(EMBEDDING, 1, CLASSES)).toEqual({
      label: 'digit 7',
      predicted: 'digit 7',
      wrong: false,
      group: 'clean',
    });
    expect(pointFacts(EMBEDDING, 2, CLASSES)).toMatchObject({
      predicted: 'digit 1',
      wrong: true,
      group: 'FGSM',
    });
    const bare = { ...EMBEDDING, groups: undefined, groupNames: undefined, predictions: undefined };
    expect(pointFacts(bare, 2, CLASSES)).toEqual({
      label: 'digit 7',
      predicted: undefined,
      wrong: false,
      group: 'test images',
    });
  });

  it('splits a point’s gates into its layers and counts the channels that ran', () => {
    const rows = gateRows(EMBEDDING.gates!, 1);
    expect(rows.map((r) => [r.layer, [...r.values], r.active])).toEqual([
      ['conv1', [0, 0], 0],
      ['fc1', [2, 2, 2], 3],
    ]);
  });
});
