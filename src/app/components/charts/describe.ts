/**
 * Plain words for the charts a run streams, keyed by the event key (scalars by their group, the
 * key's first segment): a title, one line saying what is drawn, and the axes' titles with units.
 * Unknown keys fall back to the key itself, so a new method's charts still show.
 */
import {
  ERROR_REPRESENTATION_LABEL,
  ERROR_STAGE_LABEL,
  errorViewOf,
} from '../../../core/metrics/error-keys';

export interface ChartText {
  title: string;
  caption?: string;
  /** Value axis title, with its unit. */
  y?: string;
  /** Category or step axis title. */
  x?: string;
}

const SCALAR_GROUPS: Record<string, ChartText> = {
  'flops-ratio': {
    title: 'Compute per test image',
    caption:
      'Mean FLOPs the gated network spends on a test image, as a share of the teacher’s: channels its gates skip cost nothing.',
    y: 'FLOPs (fraction of teacher)',
    x: 'step',
  },
  decision: {
    title: 'Loss of the decision units',
    caption:
      'What the gates’ heads and masks minimise: cross-entropy with sampled decisions plus the sparsity penalty λ·(mean mask − target)², and the mean mask value itself.',
    y: 'loss, mean mask',
    x: 'step',
  },
  temperature: {
    title: 'Gumbel temperature',
    caption:
      'How soft the sampled channel decisions are while the decision units learn; the lower, the closer to a hard choice.',
    y: 'temperature',
    x: 'step',
  },
  loss: {
    title: 'Training loss',
    caption: 'The loss the run minimises and each of its terms, at the optimisation step shown.',
    y: 'loss',
    x: 'step',
  },
  measured: {
    title: 'Loss terms measured, not optimised',
    caption:
      'Terms computed on the same batch that this run gives no weight in what it minimises (another variant or an ablation does): shown to compare, not minimised.',
    y: 'loss',
    x: 'step',
  },
  accuracy: {
    title: 'Student accuracy on the test set',
    caption:
      'Share of the real test images the student classifies correctly. Data-free methods touch real data only here.',
    y: 'accuracy (%)',
    x: 'step',
  },
  prior: {
    title: 'Image priors of the newest batch',
    caption:
      'Total variation (neighbouring pixels apart) and L2 size of the synthesised images, before their weights: smoother, smaller images score lower.',
    y: 'prior (unweighted)',
    x: 'step',
  },
  'class-entropy': {
    title: 'Class balance of the generated images',
    caption:
      'Entropy of the classes the teacher predicts on a generated batch: 3.32 bits when all ten are equally frequent, 0 when every image lands in one class (mode collapse).',
    y: 'entropy (bits)',
    x: 'step',
  },
};

const LAYERS: Record<string, ChartText> = {
  'flops-per-class': {
    title: 'Compute per image, by true class',
    caption:
      'Mean FLOPs the gated network spends on a clean test image of each class, as a share of the teacher’s: lower bars are classes its gates find cheap paths for.',
    y: 'FLOPs (fraction of teacher)',
    x: 'true class',
  },
  'active-masks': {
    title: 'Non-zero mask entries per gated layer',
    caption:
      'Share of each gated layer’s mask entries, over all its actions, that are above zero: channels some decision can still run.',
    y: 'non-zero entries (fraction)',
    x: 'gated layer',
  },
  'kept-channels': {
    title: 'Channels kept per layer',
    caption:
      'Share of each gated layer’s channels that the budgeted ranking of the learnt gates keeps in the pruned network.',
    y: 'kept channels (fraction)',
    x: 'gated layer',
  },
  sparsity: {
    title: 'Sparsity per layer',
    caption: 'Share of each layer’s weights that are zero.',
    y: 'zero weights (fraction)',
  },
  bits: {
    title: 'Bits per weight, per layer',
    caption: 'How many bits each layer stores per weight (its code width).',
    y: 'bits',
  },
  clusters: {
    title: 'Shared values per layer',
    caption:
      'How many distinct weight values (k-means centroids) each layer keeps after weight sharing.',
    y: 'centroids',
  },
  'layer-loss': {
    title: 'Final loss per fitted layer',
    caption: 'The layer objective each fitted layer ended at (mean squared error of its output).',
    y: 'MSE',
  },
  'teacher-classes': {
    title: 'Teacher’s classes on generated images',
    caption:
      'How a generated batch spreads over the classes the teacher predicts; even bars are a balanced generator.',
    y: 'share of the batch',
    x: 'predicted class',
  },
  rank: {
    title: 'Rank per factorised layer',
    caption:
      'The rank k each layer was cut to: a dense n×m layer becomes n→k→m, a d×d conv a d×1 conv to k channels and a 1×d conv; layers a cut would not shrink are left out.',
    y: 'rank k',
  },
  'kept-filters': {
    title: 'Filters kept per layer',
    caption:
      'Share of each pruned layer’s filters (a dense layer’s units) that the norm ranking keeps; the rest are removed from the network together with the next layer’s matching inputs.',
    y: 'kept filters (fraction)',
    x: 'layer',
  },
};

const IMAGES: Record<string, ChartText> = {
  samples: {
    title: 'Generated samples',
    caption:
      'Images from the generator, each labelled with the class the teacher predicts and its confidence.',
  },
  'newest-batch': {
    title: 'Newest synthesised batch',
    caption:
      'The images of the latest synthesis round, optimised from noise, each labelled with the class the teacher predicts and its confidence.',
  },
  pool: {
    title: 'Synthesised pool the student learns from',
    caption:
      'A random draw from every image synthesised so far, each labelled with the class the teacher predicts and its confidence.',
  },
  flipped: {
    title: 'Test images compression flipped',
    caption:
      'Images the teacher classifies correctly and the student does not, each captioned with its true class → the student’s answer.',
  },
  'class-means': {
    title: 'Mean generated image per class',
    caption:
      'The average of the generated images the teacher assigns to each class, with how many it assigned.',
  },
};

const EMBEDDINGS: Record<string, ChartText> = {
  'decision-umap': {
    title: 'Which channels each test image used, clean and attacked',
    caption:
      'Each mark is one test image, placed by UMAP so that images whose gates switched on similar channels lie close together; the axes have no unit, only closeness matters. Colour is the true class, the marker whether and how the image was attacked. Hover a mark for its image; click it to see its channels below.',
    x: 'UMAP 1',
    y: 'UMAP 2',
  },
};

/** Curves on shared axes; `chance` draws the diagonal a guessing detector would follow. */
export interface CurveText extends ChartText {
  chance?: boolean;
  /** The y values are accuracies (fractions): ticks, tooltips and the data table read as %. */
  percent?: boolean;
}

/** By the key's first segment; the rest names what the curves are of ('roc/fgsm'). */
const CURVES: Record<string, (of: string) => CurveText> = {
  roc: (attack) => ({
    title: `Telling ${attack ? `${attack.toUpperCase()} ` : 'attacked '}images from clean ones`,
    caption:
      'ROC curve of each detector over all its thresholds: the share of attacked images it catches against the share of clean images it wrongly flags. Higher and further left is better; the dashed diagonal is guessing. AUC, the area under a curve: 1 is perfect, 0.5 guessing.',
    chance: true,
  }),
  'singular-values': () => ({
    title: 'Singular values per layer',
    caption:
      'Each layer’s singular values over its largest (conv layers as Tai et al.’s (C·d)×(d·N) matrix): a fast fall means a low rank keeps most of the layer.',
    x: 'index i',
    y: 'σ_i / σ_1',
  }),
  'rank-accuracy': () => ({
    title: 'Accuracy against rank, one layer at a time',
    caption:
      'Test-subset accuracy when only this layer is cut to the rank, before any fine-tuning: where a curve flattens, higher ranks buy nothing.',
    x: 'rank',
    y: 'accuracy',
    percent: true,
  }),
  sensitivity: (of) => ({
    title: 'How much each layer can lose',
    caption:
      of === 'bits'
        ? 'Test accuracy when only this layer is rounded to fewer bits, without retraining, one line per layer: a flat line is a layer that tolerates it. The suggested bit width is the last point within the allowed drop.'
        : 'Test accuracy when only this layer is pruned (its smallest weights removed), without retraining, one line per layer: a flat line is a layer that tolerates it. The suggested per-layer ratio is the last point within the allowed drop.',
    percent: true,
  }),
};

const TABLES: Record<string, ChartText> = {
  attacks: {
    title: 'Accuracy and compute under attack',
    caption:
      'Per kind of input: accuracy, mean FLOPs as a share of the teacher’s, and the share of correctly classified clean images the attack turns wrong.',
  },
  'detector-auc': {
    title: 'How well each detector spots attacks',
    caption:
      'Area under the ROC curve on held-out images, per attack and detector input: 1 is perfect, 0.5 guessing.',
  },
  stages: {
    title: 'Deep Compression, stage by stage',
    caption:
      'Accuracy, non-zero weights and the real encoded size after each stage: dense, pruned and retrained, k-means shared and fine-tuned, Huffman coded. Sizes are the byte length of the stream the run wrote and decoded again.',
  },
  storage: {
    title: 'How the compressed network is stored',
    caption:
      'Per tensor: its layout, non-zeros, filler zeros (gaps too long for the index bits), bits per cluster index and per gap, and the bytes of codebook, indices, gaps and Huffman tables.',
  },
  'pruned-architecture': {
    title: 'The pruned network, layer by layer',
    caption:
      'Channels each gated layer had in the teacher, how many the gates were learnt on and kept, and the mean gate of the kept ones.',
  },
  'rank-sweep': {
    title: 'Rank sweep',
    caption:
      'For each factorised layer alone: the rank, the weights and multiply-accumulates of its two factor layers, and the network’s test-subset accuracy without fine-tuning.',
  },
  'channel-prune': {
    title: 'The network before and after channel pruning',
    caption:
      'Per layer: filters (units) before and after, and the multiply-accumulates one image costs in it before and after.',
  },
  sensitivity: {
    title: 'Accuracy per layer and pruning ratio',
    caption:
      'Test accuracy (%) with only that layer pruned or quantized, without retraining, and the ratio (or bits) suggested for it.',
  },
};

const fallback = (key: string): ChartText => ({ title: key });

export const describeScalars = (group: string): ChartText =>
  SCALAR_GROUPS[group] ?? fallback(group);
/** One view of the per-layer estimation error (`estimation-error/…` keys), in words. */
function describeEstimationError(key: string): ChartText | undefined {
  const view = errorViewOf(key);
  if (!view) return undefined;
  const images = view.data === 'held-out' ? 'held-out test images' : 'the K training shots';
  const output = view.representation === 'hidden' ? 'hidden representation' : 'pre-activation';
  const when = view.stage === 'fine-tuned' ? ', fine-tuned' : '';
  return {
    title: `Estimation error per layer (${output}${when}), on ${images}`,
    caption: `How far each layer of the student is from the teacher's on the same images: Σ(teacher − student)² / Σ teacher² (0 = identical, 1 = as large as the signal); the ${ERROR_REPRESENTATION_LABEL[view.representation]}, ${ERROR_STAGE_LABEL[view.stage]}.`,
    y: 'error ÷ signal',
    x: 'layer',
  };
}

export const describeLayers = (key: string): ChartText =>
  LAYERS[key] ?? describeEstimationError(key) ?? fallback(key);
export const describeImages = (key: string): ChartText => IMAGES[key] ?? fallback(key);
export const describeEmbedding = (key: string): ChartText =>
  EMBEDDINGS[key] ?? { ...fallback(key), x: 'dimension 1', y: 'dimension 2' };
export const describeCurves = (key: string): CurveText => {
  const [kind, ...of] = key.split('/');
  return CURVES[kind]?.(of.join('/')) ?? fallback(key);
};
export const describeTable = (key: string): ChartText => TABLES[key] ?? fallback(key);

/** A result metric's name in words and how its value reads. */
export interface MetricText {
  label: string;
  format: 'percent' | 'bytes' | 'count' | 'number';
}

const METRICS: Record<string, MetricText> = {
  finalLoss: { label: 'final training loss', format: 'number' },
  finalKdLoss: { label: 'final distillation loss', format: 'number' },
  finalGeneratorLoss: { label: 'final generator loss', format: 'number' },
  finalLayerLoss: { label: 'final layer loss', format: 'number' },
  itersPerLayer: { label: 'iterations per layer', format: 'number' },
  shots: { label: 'labelled images used', format: 'number' },
  bestTestAccuracy: { label: 'best test accuracy during the run', format: 'percent' },
  collapsedAtStep: { label: 'generator collapsed at step', format: 'number' },
  poolSize: { label: 'synthesised images', format: 'count' },
  'nonzero-params': { label: 'non-zero parameters', format: 'count' },
  'quantized-bytes': { label: 'size with quantized weights', format: 'bytes' },
  'flops-ratio': { label: 'FLOPs per image vs teacher', format: 'percent' },
  'mean-flops': { label: 'mean FLOPs per test image', format: 'count' },
  'gated-full-flops': { label: 'FLOPs with every gate open', format: 'count' },
  'encoded-bytes': { label: 'encoded size (real byte stream)', format: 'bytes' },
  'compression-ratio': { label: 'dense float32 size / encoded size', format: 'number' },
  sparsity: { label: 'zero weights in conv and dense layers', format: 'percent' },
  bits: { label: 'bits per weight index', format: 'number' },
  'accuracy/before-retrain': {
    label: 'accuracy right after compression, before retraining',
    format: 'percent',
  },
  'accuracy/dense': { label: 'accuracy before compression', format: 'percent' },
  'accuracy/pruned': { label: 'accuracy after pruning and retraining', format: 'percent' },
  'accuracy/shared-before-finetune': {
    label: 'accuracy after k-means sharing, before fine-tuning',
    format: 'percent',
  },
  'accuracy/shared': { label: 'accuracy after fine-tuning the shared weights', format: 'percent' },
  'accuracy/decoded': {
    label: 'accuracy of the network decoded from the stream',
    format: 'percent',
  },
  'encoded-bytes/pruned': { label: 'encoded size after pruning (float32 values)', format: 'bytes' },
  'encoded-bytes/shared': {
    label: 'encoded size after sharing (fixed-length codes)',
    format: 'bytes',
  },
  'factorised-layers': { label: 'layers factorised', format: 'count' },
  'replaced-layers': { label: 'layers replaced by structured ones', format: 'count' },
};

export const describeMetric = (key: string): MetricText =>
  METRICS[key] ?? { label: key, format: 'number' };
