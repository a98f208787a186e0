import {
  compressLayerByLayer,
  LAYER_BY_LAYER_RESUME,
  LAYERWISE_PARAMS,
  type LayerwiseParams,
} from './layer-solver';
import type { MethodSpec } from './types';

/**
 * Layer-wise distillation, the "Ours-NC" baseline of Bai et al. (AAAI 2020, arXiv:1911.09450):
 * student layer l regresses the teacher's layer-l pre-activation output from its own input,
 * ‖W^T*h^T − W^S*h^S‖², layer by layer with the same solver, schedule and compression as
 * cross-distillation — only the loss differs.
 */
export const layerwiseDistillation: MethodSpec<typeof LAYERWISE_PARAMS> = {
  id: 'layerwise',
  title: 'Layer-wise distillation (Ours-NC)',
  paper: 'Bai et al., AAAI 2020, arXiv:1911.09450 (baseline)',
  summary:
    'Compress a copy of the teacher layer by layer on K shots per class: each student layer regresses the teacher’s pre-activation output from its own (already compressed) input.',
  needs: { teacher: true, data: 'few-shot' },
  defaultStudent: 'copy',
  defaultSteps: 3000,
  params: LAYERWISE_PARAMS,
  resume: LAYER_BY_LAYER_RESUME,
  run(ctx, p: LayerwiseParams) {
    return compressLayerByLayer(ctx, p, () => ({ kind: 'regression' }), 'layerwise');
  },
};
