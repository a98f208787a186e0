import { InvalidInputError } from '../runtime/errors';
import type { Dataset, TensorOptions } from '../data';
import type { Graph } from '../graph';

/** How a dataset's 28×28 images become this model's input: zero-pad to 32 if it wants 32, normalise. */
export function inputOptions(g: Graph, ds: Dataset): TensorOptions {
  const [h, w, c] = g.inputShape;
  if (c !== ds.channels || h !== w || (h !== ds.height && h !== 32) || h < ds.height) {
    throw new InvalidInputError(
      `Model '${g.name}' takes ${g.inputShape.join('×')} inputs but ${ds.id} images are ${ds.height}×${ds.width}×${ds.channels}`,
      'Use a model with a 28×28×1 or 32×32×1 input for MNIST-like data.',
    );
  }
  return { resize: h === ds.height ? undefined : 32, normalize: g.preprocessing };
}
