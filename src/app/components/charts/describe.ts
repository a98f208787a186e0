/**
 * Plain words for the charts a run streams, keyed by the event key (scalars by their group, the
 * key's first segment): a title, one line saying what is drawn, and the axes' titles with units.
 * Unknown keys fall back to the key itself, so a new method's charts still show.
 */
export interface ChartText {
  title: string;
  caption?: string;
  /** Value axis title, with its unit. */
  y?: string;
  /** Category or step axis title. */
  x?: string;
}

const SCALAR_GROUPS: Record<string, ChartText> = {
  loss: {
    title: 'Training loss',
    caption: 'The loss the run minimises and each of its terms, at the optimisation step shown.',
    y: 'loss',
    x: 'step',
  },
  accuracy: {
    title: 'Student accuracy on the test set',
    caption:
      'Share of the real test images the student classifies correctly. Data-free methods touch real data only here.',
    y: 'accuracy (fraction)',
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
  sparsity: {
    title: 'Sparsity per layer',
    caption: 'Share of each layer’s weights that are zero.',
    y: 'zero weights (fraction)',
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
  'class-means': {
    title: 'Mean generated image per class',
    caption:
      'The average of the generated images the teacher assigns to each class, with how many it assigned.',
  },
};

const EMBEDDINGS: Record<string, ChartText> = {
  'decision-features': {
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
}

const CURVES: Record<string, CurveText> = {
  roc: {
    title: 'Telling attacked images from clean ones',
    caption:
      'ROC curve of each detector over all its thresholds: the share of attacked images it flags against the share of clean images it wrongly flags. Higher and further left is better; the dashed diagonal is guessing, and the legend gives each area under the curve (AUC, 1 is perfect, 0.5 guessing).',
    chance: true,
  },
};

const fallback = (key: string): ChartText => ({ title: key });

export const describeScalars = (group: string): ChartText =>
  SCALAR_GROUPS[group] ?? fallback(group);
export const describeLayers = (key: string): ChartText => LAYERS[key] ?? fallback(key);
export const describeImages = (key: string): ChartText => IMAGES[key] ?? fallback(key);
export const describeEmbedding = (key: string): ChartText =>
  EMBEDDINGS[key] ?? { ...fallback(key), x: 'dimension 1', y: 'dimension 2' };
/** By the key's first segment ('roc/fgsm' is a ROC chart too). */
export const describeCurves = (key: string): CurveText =>
  CURVES[key.split('/')[0]] ?? fallback(key);
