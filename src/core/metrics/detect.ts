import { NORMALIZATION, type Dataset } from '../data';
import {
  CHANNEL_ORDERS,
  describePreprocessing,
  INPUT_RANGES,
  type Graph,
  type Preprocessing,
} from '../graph';
import { accuracy } from './accuracy';

export interface PreprocessingTrial {
  label: string;
  preprocessing: Preprocessing;
  accuracy: number;
}

export interface PreprocessingDetection {
  /** Every candidate tried, in the order tried (the model's own first). */
  trials: PreprocessingTrial[];
  /** The most accurate; ties go to the earlier, so a model's own setting wins a tie. */
  best: PreprocessingTrial;
}

/**
 * What files in the wild may have been trained on: the model's own preprocessing, each input
 * range with the model's own mean/std (which folded Rescaling/Normalization layers set), the
 * dataset's conventional statistics, each inverted, bilinear resizing where the sizes differ, and
 * for colour models each channel order.
 */
export function preprocessingCandidates(g: Graph, ds: Dataset): Preprocessing[] {
  const own = g.preprocessing;
  const bases: Preprocessing[] = [
    own,
    ...INPUT_RANGES.map((range) => ({ ...own, range })),
    // Uploaded images have no conventional statistics.
    ...(ds.id === 'uploaded' ? [] : [{ ...own, range: 'unit' as const, ...NORMALIZATION[ds.id] }]),
  ];
  const [h, w] = g.inputShape;
  const sameSize = h === ds.height && w === ds.width;
  const canPad = h >= ds.height && w >= ds.width;
  const resizes = sameSize ? [own.resize] : canPad ? ['pad', 'bilinear'] : ['bilinear'];
  // Colour models may have been trained on BGR images (OpenCV, Caffe).
  const ownOrder = own.channelOrder ?? 'rgb';
  const orders =
    g.inputShape[2] === 3
      ? [ownOrder, ...CHANNEL_ORDERS.filter((o) => o !== ownOrder)]
      : [own.channelOrder];
  const all = bases.flatMap((base) =>
    [false, true].flatMap((invert) =>
      resizes.flatMap((resize) =>
        orders.map((channelOrder) => ({ ...base, invert, resize, channelOrder }) as Preprocessing),
      ),
    ),
  );
  // The same map written twice (own = unit, say) is tried once.
  const seen = new Set<string>();
  return all.filter((p) => {
    const key = JSON.stringify([
      p.range ?? 'unit',
      p.mean,
      p.std,
      !!p.invert,
      p.resize ?? 'pad',
      p.channelOrder ?? 'rgb',
    ]);
    return !seen.has(key) && (seen.add(key), true);
  });
}

/** Tries every candidate preprocessing on labelled samples (a few hundred are enough). */
export async function detectPreprocessing(
  g: Graph,
  samples: Dataset,
): Promise<PreprocessingDetection> {
  const trials: PreprocessingTrial[] = [];
  for (const preprocessing of preprocessingCandidates(g, samples)) {
    trials.push({
      label: describePreprocessing(preprocessing),
      preprocessing,
      accuracy: await accuracy({ ...g, preprocessing }, samples),
    });
  }
  const best = trials.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  return { trials, best };
}
