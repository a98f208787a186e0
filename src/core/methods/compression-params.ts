import type { CompressionConfig } from '../compress';
import { InvalidInputError } from '../runtime/errors';
import type { ParamValues } from './params';

/** K of the few-shot methods (layerwise, cross-distillation, fewshot-finetune). */
export const SHOTS_PER_CLASS = {
  kind: 'int',
  default: 5,
  min: 1,
  max: 100,
  label: 'K (shots per class)',
  help: 'K labelled training images per class (the reference scripts use K = 5).',
} as const;

/**
 * The compression every few-shot method offers (Cross Distillation, layer-wise distillation,
 * few-shot fine-tuning): one schema, so the page's form, the CLI flags and sweeps are the same
 * for all of them.
 */
export const COMPRESSION_PARAMS = {
  heldOutExamples: {
    kind: 'int',
    default: 500,
    min: 10,
    max: 10000,
    help: 'Test images on which the per-layer estimation error is measured.',
  },
  compression: {
    kind: 'enum',
    default: 'channels',
    options: ['none', 'channels', 'weights', 'quantize'],
    label: 'Compression',
    help:
      'channels: structured pruning of input channels (‖W‖₂,₁ groups), removed from the model at the end; ' +
      'weights: unstructured pruning (‖W‖₁); quantize: k-bit uniform weights; none: only distil.',
  },
  targetSparsity: {
    kind: 'number',
    default: 0.5,
    min: 0,
    max: 0.99,
    help:
      'Fraction of each pruned layer’s input channels (channels) or weights (weights) removed by the top-k projection. ' +
      'The reference scripts keep 50 % of channels (start_chnl.sh) or 10 % of weights (start_prune.sh).',
  },
  proximal: {
    kind: 'enum',
    default: 'topk-annealed',
    options: ['topk-annealed', 'soft-threshold'],
    label: 'Proximal operator',
    help:
      'topk-annealed (reference code): hard top-k projection whose target falls linearly over the first third of the ' +
      'iterations, masked gradients and Adam moments, step size ×0.1 afterwards for channels. soft-threshold (paper): ' +
      'group soft-thresholding of ‖W‖₂,₁ or soft-thresholding of ‖W‖₁ with strength lambda; the sparsity follows lambda.',
  },
  lambda: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 1000,
    help:
      'Strength λ of soft-threshold: after each Adam step of size η, shrink by η·λ (‖W‖₁) or η·λ·√(group size) ' +
      '(‖W‖₂,₁). Adam normalises the pull back, so a group survives while its gradient keeps pointing away from ' +
      'zero; on LeNet-5 sparsity rises steeply between λ ≈ 0.5 and 2.',
  },
  bits: {
    kind: 'int',
    default: 4,
    min: 2,
    max: 8,
    help: 'Bits per weight for quantize: a symmetric uniform grid per layer, range = the layer’s largest |w|.',
  },
  batchNorm: {
    kind: 'enum',
    default: 'batch',
    options: ['batch', 'frozen'],
    label: 'BatchNorm statistics',
    help:
      'batch (reference code, VGG): BatchNorm layers normalise with the K-shot batch’s statistics while the student is ' +
      'fitted, and the student’s moving statistics are re-estimated on the K shots after every change, so they describe ' +
      'the compressed network. frozen (reference code, ResNets): the teacher’s statistics throughout. No effect on nets without BatchNorm.',
  },
  pruneFirstLayer: {
    kind: 'boolean',
    default: false,
    help: 'Also prune the first layer (the one reading the image); the reference code skips it by default.',
  },
} as const;

// The schema's values are a CompressionConfig (checked here, so the two cannot drift apart).
export type CompressionParams = ParamValues<typeof COMPRESSION_PARAMS>;
const _check: (p: CompressionParams) => CompressionConfig = (p) => p;
void _check;

/**
 * Per-layer ratios ("conv1=0.5,fc1=0.9"), which override a method's one ratio for the layers
 * named: what the sensitivity chart sets when a point is clicked. Empty: every layer the same.
 */
export const LAYER_RATIOS = {
  kind: 'text',
  default: '',
  pattern: String.raw`(?:[\w.\-/]+=(?:0|1|0?\.\d+)(?:,[\w.\-/]+=(?:0|1|0?\.\d+))*)?`,
  format: 'comma-separated layer=ratio pairs with ratios from 0 to 1, e.g. conv1=0.5,fc1=0.9',
  label: 'Per-layer ratios',
  help: 'Layers whose ratio differs from the one for all layers, as layer=ratio pairs (the sensitivity chart sets them when a point is clicked).',
} as const;

/**
 * The layer → ratio map of a LAYER_RATIOS value (already validated against its pattern); a layer
 * the graph lacks is named in the error, with the layers it has.
 */
export function parseLayerRatios(text: string, layers: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const [id, value] = pair.split('=');
    if (!layers.includes(id)) {
      throw new InvalidInputError(
        `Per-layer ratio for '${id}', which the model does not have`,
        `Name one of its layers: ${layers.join(', ')}.`,
      );
    }
    out.set(id, Number(value));
  }
  return out;
}
