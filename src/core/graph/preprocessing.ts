import { InvalidInputError } from '../runtime/errors';
import type { ChannelOrder, InputRange, Preprocessing, ResizeMode } from './types';

export const INPUT_RANGES: readonly InputRange[] = ['unit', 'raw', 'signed'];
const RESIZE_MODES: readonly ResizeMode[] = ['pad', 'bilinear'];
export const CHANNEL_ORDERS: readonly ChannelOrder[] = ['rgb', 'bgr'];

const isStatistic = (v: unknown) =>
  (typeof v === 'number' && Number.isFinite(v)) ||
  (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));

/**
 * A preprocessing from JSON (a model file's metadata, a CLI option): the fields given, checked,
 * over `base`. Throws an InvalidInputError naming the bad field.
 */
export function parsePreprocessing(value: unknown, base: Preprocessing): Preprocessing {
  const refuse = (what: string) =>
    new InvalidInputError(
      `Bad preprocessing: ${what}`,
      'Write it as {"range": "unit"|"raw"|"signed", "mean": m, "std": s, "invert": false, ' +
        '"resize": "pad"|"bilinear", "channelOrder": "rgb"|"bgr"}, with mean and std a number or ' +
        'one per channel.',
    );
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw refuse('not an object');
  const v = value as Record<string, unknown>;
  const known = new Set(['mean', 'std', 'range', 'invert', 'resize', 'channelOrder']);
  const unknown = Object.keys(v).filter((k) => !known.has(k));
  if (unknown.length) throw refuse(`unknown field(s) ${unknown.join(', ')}`);
  const out: Preprocessing = { ...base };
  for (const key of ['mean', 'std'] as const) {
    if (v[key] === undefined) continue;
    if (!isStatistic(v[key])) throw refuse(`${key} must be a number or a list of numbers`);
    out[key] = v[key] as number | number[];
  }
  if ([out.std].flat().some((s) => s === 0)) throw refuse('std must not be 0');
  if (v.range !== undefined) {
    if (!INPUT_RANGES.includes(v.range as InputRange)) {
      throw refuse(`range must be one of ${INPUT_RANGES.join(', ')}`);
    }
    out.range = v.range as InputRange;
  }
  if (v.invert !== undefined) {
    if (typeof v.invert !== 'boolean') throw refuse('invert must be true or false');
    out.invert = v.invert;
  }
  if (v.resize !== undefined) {
    if (!RESIZE_MODES.includes(v.resize as ResizeMode)) {
      throw refuse(`resize must be one of ${RESIZE_MODES.join(', ')}`);
    }
    out.resize = v.resize as ResizeMode;
  }
  if (v.channelOrder !== undefined) {
    if (!CHANNEL_ORDERS.includes(v.channelOrder as ChannelOrder)) {
      throw refuse(`channelOrder must be one of ${CHANNEL_ORDERS.join(', ')}`);
    }
    out.channelOrder = v.channelOrder as ChannelOrder;
  }
  return out;
}

/** A short label: 'raw', 'unit (x − 0.1307) / 0.3081, inverted, bilinear', 'raw, BGR'. */
export function describePreprocessing(pre: Preprocessing): string {
  const list = (v: number | number[]) =>
    [v]
      .flat()
      .map((x) => Number(x.toPrecision(4)))
      .join('/');
  const normalised =
    [pre.mean].flat().some((m) => m !== 0) || [pre.std].flat().some((s) => s !== 1);
  return [
    (pre.range ?? 'unit') + (normalised ? ` (x − ${list(pre.mean)}) / ${list(pre.std)}` : ''),
    ...(pre.invert ? ['inverted'] : []),
    ...(pre.resize === 'bilinear' ? ['bilinear'] : []),
    ...(pre.channelOrder === 'bgr' ? ['BGR'] : []),
  ].join(', ');
}
