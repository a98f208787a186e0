// Shared inputs of the state unit tests.
import type { Catalog, MethodInfo, RunConfig, RunEvent } from '../../worker/protocol';

export const CONFIG: RunConfig = {
  teacher: 'lenet5-mnist',
  dataset: 'mnist',
  student: 'half',
  method: 'kd',
  params: { temperature: 4, batchSize: 64 },
  seed: 1,
  steps: 100,
  testExamples: 0,
  backend: 'wasm',
};

export const CATALOG: Catalog = {
  methods: [
    {
      id: 'kd',
      title: 'Knowledge distillation',
      paper: 'Hinton et al. 2015',
      summary: 'soft targets',
      needs: { teacher: true, data: 'full' },
      defaultStudent: 'half',
      defaultSteps: 3000,
      resume: { resumable: true },
      params: {
        temperature: { kind: 'number', default: 4, min: 1, max: 50, help: 'T', live: true },
        batchSize: { kind: 'int', default: 64, min: 1, max: 1024, help: 'B' },
      },
    },
    {
      id: 'prune',
      title: 'Pruning',
      paper: 'x',
      summary: 'y',
      needs: { teacher: true, data: 'full' },
      defaultStudent: 'copy',
      defaultSteps: 500,
      resume: { resumable: false, reason: 'Its masks are not checkpointed.' },
      params: {
        schedule: { kind: 'enum', default: 'cubic', options: ['linear', 'cubic'], help: 's' },
        global: { kind: 'boolean', default: false, help: 'g' },
      },
    },
  ],
  teachers: [
    {
      id: 'bnnet-fashion',
      title: 'BN-VGG · Fashion',
      arch: 'bnnet',
      dataset: 'fashion',
      available: false,
    },
    {
      id: 'lenet5-mnist',
      title: 'LeNet-5 · MNIST',
      arch: 'lenet5',
      dataset: 'mnist',
      available: true,
    },
  ],
  architectures: [{ id: 'lenet5-half', title: 'LeNet-5-half', description: 'half' }],
  datasets: [
    { id: 'mnist', title: 'MNIST' },
    { id: 'fashion', title: 'Fashion-MNIST' },
  ],
  backends: { all: ['webgpu', 'wasm', 'webgl', 'cpu'], usable: ['wasm', 'cpu'] },
};

const method = (id: string, params: MethodInfo['params']): MethodInfo => ({
  id,
  title: id,
  paper: 'p',
  summary: 's',
  needs: { teacher: true, data: 'few-shot' },
  defaultStudent: 'half',
  defaultSteps: 100,
  resume: { resumable: false, reason: 'Not checkpointed.' },
  params,
});
const shots = { kind: 'int', default: 5, min: 0, max: 100, help: 'K' } as const;
const sparsity = { kind: 'number', default: 0.5, min: 0, max: 0.99, help: 's' } as const;

/** For sweeps: kd as it is today, and the Cross Distillation methods as they will arrive. */
export const SWEEP_CATALOG: Catalog = {
  ...CATALOG,
  methods: [
    method('kd', {
      temperature: { kind: 'number', default: 4, min: 1, max: 50, help: 'T' },
      shotsPerClass: { ...shots, default: 0 },
    }),
    method('layerwise', { shotsPerClass: shots, targetSparsity: sparsity }),
    method('cross-distillation', {
      shotsPerClass: shots,
      mu: { kind: 'number', default: 0.6, min: 0, max: 1, help: 'μ' },
      targetSparsity: sparsity,
    }),
  ],
};

/** An embedding with every optional field: three 2×2 images, two groups, two gated layers. */
export const EMBEDDING: Extract<RunEvent, { kind: 'embedding' }> = {
  kind: 'embedding',
  key: 'decision-umap',
  step: 5,
  points: new Float32Array([0, 0, 2, 1, 4, 2]),
  labels: new Int32Array([3, 7, 7]),
  groups: new Int32Array([0, 0, 1]),
  groupNames: ['clean', 'FGSM'],
  predictions: new Int32Array([3, 7, 1]),
  images: {
    width: 2,
    height: 2,
    channels: 1,
    pixels: Uint8Array.from({ length: 12 }, (_, i) => i),
  },
  gates: {
    layers: ['conv1', 'fc1'],
    widths: [2, 3],
    values: new Float32Array([1, 0, 0.5, 0.5, 0, 0, 0, 2, 2, 2, 1, 1, 0, 0, 3]),
  },
};

export const ROC: Extract<RunEvent, { kind: 'curve' }> = {
  kind: 'curve',
  key: 'roc/fgsm',
  step: 5,
  xLabel: 'false-positive rate',
  yLabel: 'true-positive rate',
  series: [{ name: 'gate features', x: [0, 0.5, 1], y: [0, 1, 1] }],
};
