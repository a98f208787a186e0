import { deepCompression } from './classic/deep-compression';
import { kmeansShare } from './classic/kmeans-share';
import { magnitudePrune } from './classic/magnitude-prune';
import { crossDistillation } from './cross-distillation';
import { dafl } from './dafl';
import { deepInversion } from './deepinversion';
import { dynamicPrune } from './dynamic-prune';
import { generativeMomentMatching } from './generative-mm';
import { fewShotFineTune } from './fewshot-finetune';
import { knowledgeDistillation } from './kd';
import { pruneFromScratch } from './prune-from-scratch';
import { layerwiseDistillation } from './layerwise';
import { channelPrune } from './classic/channel-prune';
import { optimalBrainDamage } from './classic/obd';
import { sensitivity } from './classic/sensitivity';
import type { AnyMethodSpec } from './types';
import { uniformQuant } from './classic/uniform-quant';
import { binaryConnect } from './classic/binary-connect';
import { fixedPoint } from './classic/fixed-point';
import { lowrankSvd } from './classic/lowrank-svd';
import { structured } from './classic/structured';

/** Every method the page, the worker and the CLI offer. Adding a method is one line here. */
export const METHODS: readonly AnyMethodSpec[] = [
  knowledgeDistillation as unknown as AnyMethodSpec,
  crossDistillation as unknown as AnyMethodSpec,
  layerwiseDistillation as unknown as AnyMethodSpec,
  fewShotFineTune as unknown as AnyMethodSpec,
  dafl as unknown as AnyMethodSpec,
  deepInversion as unknown as AnyMethodSpec,
  generativeMomentMatching as unknown as AnyMethodSpec,
  dynamicPrune as unknown as AnyMethodSpec,
  pruneFromScratch as unknown as AnyMethodSpec,
  magnitudePrune as unknown as AnyMethodSpec,
  kmeansShare as unknown as AnyMethodSpec,
  deepCompression as unknown as AnyMethodSpec,
  uniformQuant as unknown as AnyMethodSpec,
  binaryConnect as unknown as AnyMethodSpec,
  fixedPoint as unknown as AnyMethodSpec,
  lowrankSvd as unknown as AnyMethodSpec,
  structured as unknown as AnyMethodSpec,
  channelPrune as unknown as AnyMethodSpec,
  optimalBrainDamage as unknown as AnyMethodSpec,
  sensitivity as unknown as AnyMethodSpec,
];

export function methodById(id: string): AnyMethodSpec | undefined {
  return METHODS.find((m) => m.id === id);
}
