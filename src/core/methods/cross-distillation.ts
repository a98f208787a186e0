import { compressLayerByLayer, LAYER_BY_LAYER_RESUME, LAYERWISE_PARAMS } from './layer-solver';
import type { ParamValues } from './params';
import type { MethodSpec } from './types';

const params = {
  variant: {
    kind: 'enum',
    default: 'convex',
    options: ['convex', 'soft'],
    help:
      'convex ("Ours"): μ·correction + (1 − μ)·imitation. soft ("Ours-S"): mix the hidden inputs with [[α, 1−α], [1−β, β]] ' +
      'and regress the mixed branches (α = β = 1: plain layer-wise; α = 1, β = 0: correction; α = 0, β = 1: imitation).',
  },
  mu: {
    kind: 'number',
    default: 0.6,
    min: 0,
    max: 1,
    label: 'μ',
    live: true,
    help: 'Weight of the correction loss in the convex variant (reference scripts: 0.6 for VGG-16, 0.9 for ResNet-56).',
  },
  alpha: {
    kind: 'number',
    default: 0.75,
    min: 0,
    max: 1,
    label: 'α',
    live: true,
    help:
      'Soft variant: share of the teacher’s hidden input in the teacher branch. With α + β = 1 both branches see the ' +
      'same mix (no regression left, e.g. α = β = 0.5). Default from a 5 × 5 sweep at K = 1 (LeNet-5/MNIST, ' +
      'BN-VGG/Fashion; docs/results/cross-distillation.md): α = β = 0.75 is near the best of both, +0.8 and +5.8 points ' +
      'over layer-wise; the paper’s values were not recovered.',
  },
  beta: {
    kind: 'number',
    default: 0.75,
    min: 0,
    max: 1,
    label: 'β',
    live: true,
    help: 'Soft variant: share of the student’s hidden input in the student branch (see α).',
  },
  ...LAYERWISE_PARAMS,
} as const;

/**
 * Cross Distillation (Bai, Wu, King, Lyu, AAAI 2020, arXiv:1911.09450): layer-by-layer few-shot
 * compression whose loss crosses teacher and student hidden layers, so that the estimation
 * error of earlier student layers is corrected instead of piling up. Correction loss
 * L^c = ‖W^T*h^T − W^S*h^T‖², imitation loss L^i = ‖W^T*h^S − W^S*h^S‖², combined as
 * μL^c + (1−μ)L^i (Eq. 4) or through the soft connection matrix (Ours-S).
 */
export const crossDistillation: MethodSpec<typeof params> = {
  id: 'cross-distillation',
  title: 'Cross Distillation',
  paper: 'Bai et al., AAAI 2020, arXiv:1911.09450',
  summary:
    'Few-shot compression layer by layer, feeding the teacher’s hidden layers into the student (correction) and the student’s into the teacher (imitation).',
  needs: { teacher: true, data: 'few-shot' },
  defaultStudent: 'copy',
  defaultSteps: 3000,
  resume: LAYER_BY_LAYER_RESUME,
  params,
  run(ctx, p: ParamValues<typeof params>) {
    // Read at every step: μ, α and β are live.
    const objective = () =>
      p.variant === 'soft'
        ? ({ kind: 'soft', alpha: p.alpha, beta: p.beta } as const)
        : ({ kind: 'convex', mu: p.mu } as const);
    return compressLayerByLayer(ctx, p, objective, 'cross-distillation');
  },
};
