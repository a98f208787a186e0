// The names of the per-layer estimation-error views (plain TypeScript, no TF.js: the page reads
// them too). A few-shot run streams the error of every layer measured four ways — hidden
// representation or pre-activation output, on held-out images or on the K shots — after each
// fitted layer, and the layer-wise methods again after their fine-tune.

/** Which output of a layer is compared: h = σ(BN(W*x)) (the paper's), or W*x. */
export type ErrorRepresentation = 'hidden' | 'pre-activation';
/** When: after the layers were fitted (the method's own product), or after the fine-tune. */
export type ErrorStage = 'fitted' | 'fine-tuned';
/** On which images: held-out test images, or the K-shot training set. */
export type ErrorData = 'held-out' | 'shots';

export interface ErrorView {
  representation: ErrorRepresentation;
  stage: ErrorStage;
  data: ErrorData;
}

/** The paper's Fig. 2 quantity: hidden representation, held-out, before any fine-tune. */
export const PAPER_ERROR_VIEW: ErrorView = {
  representation: 'hidden',
  stage: 'fitted',
  data: 'held-out',
};

/** The `layers` event key of one view: `estimation-error/hidden/held-out`, `…/fine-tuned/…`. */
export function estimationErrorKey(v: ErrorView): string {
  const stage = v.stage === 'fine-tuned' ? 'fine-tuned/' : '';
  return `estimation-error/${stage}${v.representation}/${v.data}`;
}

export const ERROR_REPRESENTATION_LABEL: Record<ErrorRepresentation, string> = {
  hidden: 'hidden representation (after BatchNorm and activation)',
  'pre-activation': 'layer output before BatchNorm and activation',
};

export const ERROR_STAGE_LABEL: Record<ErrorStage, string> = {
  fitted: 'after the layers were fitted',
  'fine-tuned': 'after the fine-tune',
};

/**
 * Runs recorded before the error had views streamed `estimation-error` and `…/train`: the layer
 * output before BatchNorm, taken last (after the fine-tune), on held-out images and the shots.
 */
const LEGACY_KEYS: Record<string, string> = {
  'estimation-error': 'estimation-error/fine-tuned/pre-activation/held-out',
  'estimation-error/train': 'estimation-error/fine-tuned/pre-activation/shots',
};

/** The view a `layers` event key holds (legacy keys included), or undefined for other keys. */
export function errorViewOf(key: string): ErrorView | undefined {
  const parts = (LEGACY_KEYS[key] ?? key).split('/');
  if (parts[0] !== 'estimation-error') return undefined;
  const stage: ErrorStage = parts[1] === 'fine-tuned' ? 'fine-tuned' : 'fitted';
  const [representation, data] = parts.slice(stage === 'fine-tuned' ? 2 : 1);
  if (representation !== 'hidden' && representation !== 'pre-activation') return undefined;
  if (data !== 'held-out' && data !== 'shots') return undefined;
  return { representation, stage, data };
}
