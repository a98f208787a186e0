import { describe, expect, it } from 'vitest';
import { DataMissingError } from '../data';
import { DatasetFormatError } from '../data/format';
import {
  BackendUnavailableError,
  DivergenceError,
  InvalidInputError,
  InvalidModelError,
  TensorLeakError,
  UnsupportedLayerError,
} from './errors';

describe('ClabError names', () => {
  it('name each class after its code, also when a minifier renamed the class', () => {
    const errors = [
      new DivergenceError('loss', NaN, 3),
      new UnsupportedLayerError('m', 'h'),
      new InvalidModelError('m', 'h'),
      new InvalidInputError('m', 'h'),
      new BackendUnavailableError('webgpu', 'no adapter'),
      new DataMissingError('m'),
      new DatasetFormatError('file', 'bad'),
    ];
    for (const e of errors) expect(e.name).toBe(e.constructor.name);
    expect(new TensorLeakError([1, 2], 'leak').name).toBe('TensorLeakError');
    // What a production build makes of a class: the same class under a one-letter name.
    const Renamed = class extends InvalidInputError {};
    Object.defineProperty(Renamed, 'name', { value: 'C' });
    expect(new Renamed('m', 'h').toJSON()).toMatchObject({ name: 'InvalidInputError' });
  });
});
