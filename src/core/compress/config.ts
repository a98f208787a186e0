/** What to do to the student's weights (the values of the methods' compression parameters). */
export interface CompressionConfig {
  compression: 'none' | 'channels' | 'weights' | 'quantize';
  /** Fraction of input channels (channels) or weights (weights) removed. */
  targetSparsity: number;
  proximal: 'topk-annealed' | 'soft-threshold';
  /** Strength of the soft-threshold proximal maps. */
  lambda: number;
  /** Bits per weight (quantize). */
  bits: number;
  /** Prune the layer reading the image too. */
  pruneFirstLayer: boolean;
}
