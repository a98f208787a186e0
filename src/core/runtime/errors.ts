/**
 * Errors a user can cause. Each says what was wrong (`message`) and what to do (`hint`), and
 * carries a stable `code` so the worker can send it across postMessage (which drops the class)
 * and the UI can still tell the kinds apart.
 */

export type ClabErrorCode =
  | 'divergence'
  | 'unsupported-layer'
  | 'invalid-model'
  | 'data-missing'
  | 'invalid-data'
  | 'invalid-input'
  | 'backend-unavailable'
  | 'tensor-leak';

/**
 * Each code's class name, written out: a minified build renames classes, so `new.target.name`
 * would reach the page and the logs as a single letter.
 */
const NAMES: Record<ClabErrorCode, string> = {
  divergence: 'DivergenceError',
  'unsupported-layer': 'UnsupportedLayerError',
  'invalid-model': 'InvalidModelError',
  'data-missing': 'DataMissingError',
  'invalid-data': 'DatasetFormatError',
  'invalid-input': 'InvalidInputError',
  'backend-unavailable': 'BackendUnavailableError',
  'tensor-leak': 'TensorLeakError',
};

export class ClabError extends Error {
  constructor(
    readonly code: ClabErrorCode,
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = NAMES[code];
  }

  /** A plain object for postMessage and JSON logs. */
  toJSON(): { name: string; code: ClabErrorCode; message: string; hint: string } {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint };
  }
}

/** A loss, gradient or weight became NaN or ±Infinity. */
export class DivergenceError extends ClabError {
  constructor(
    readonly what: string,
    readonly value: number,
    readonly step?: number,
  ) {
    super(
      'divergence',
      `${what} is ${value}${step === undefined ? '' : ` at step ${step}`}: the run diverged`,
      'Lower the learning rate (try 10x smaller), or add gradient clipping; the last good checkpoint is kept.',
    );
  }
}

/** A model uses a layer or option the IR cannot represent; the message names the layer. */
export class UnsupportedLayerError extends ClabError {
  constructor(message: string, hint: string) {
    super('unsupported-layer', message, hint);
  }
}

/** A model file that cannot be read, or a graph whose shapes do not fit together. */
export class InvalidModelError extends ClabError {
  constructor(message: string, hint: string) {
    super('invalid-model', message, hint);
  }
}

/** A user-supplied input (upload, shape, parameter) is malformed. */
export class InvalidInputError extends ClabError {
  constructor(message: string, hint: string) {
    super('invalid-input', message, hint);
  }
}

/** The requested compute backend cannot run here. */
export class BackendUnavailableError extends ClabError {
  constructor(
    readonly backend: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      'backend-unavailable',
      `Backend '${backend}' is not available: ${reason}`,
      "Choose 'auto' to use the fastest backend that works in this browser.",
      options,
    );
  }
}

/** A training step leaves tensors behind, so memory grows every step. */
export class TensorLeakError extends ClabError {
  constructor(
    readonly counts: readonly number[],
    message: string,
  ) {
    super(
      'tensor-leak',
      message,
      'Wrap the step in tf.tidy, or dispose the tensors it creates and does not return.',
    );
  }
}
