import { openAssetFolder, type AssetOptions } from '../assets';
import { NORMALIZATION, type DatasetId } from '../data';
import type { Graph } from '../graph';
import { loadGraph } from '../io';
import { InvalidInputError, InvalidModelError } from '../runtime/errors';
import { architecture, ARCHITECTURES } from './architectures';

/** A built-in trained teacher: produced by `npm run train:teachers`, shipped in public/models. */
export interface TeacherSpec {
  id: string;
  title: string;
  arch: string;
  dataset: DatasetId;
  /** The test accuracy the training script must reach before it writes the model. */
  minAccuracy: number;
  /** Training recipe of scripts/train-teachers.ts. */
  recipe: { epochs: number; batchSize: number; learningRate: number; seed: number };
  /** Half-precision weight shard (halves the download; accuracy is re-measured on the saved file). */
  float16: boolean;
}

export const TEACHERS: readonly TeacherSpec[] = [
  {
    id: 'lenet5-mnist',
    title: 'LeNet-5 · MNIST',
    arch: 'lenet5',
    dataset: 'mnist',
    minAccuracy: 0.989,
    recipe: { epochs: 12, batchSize: 64, learningRate: 1e-3, seed: 1 },
    float16: false,
  },
  {
    id: 'mlp1200-mnist',
    title: 'MLP 784-1200-1200-10 · MNIST',
    arch: 'mlp-1200',
    dataset: 'mnist',
    minAccuracy: 0.983,
    recipe: { epochs: 15, batchSize: 128, learningRate: 1e-3, seed: 1 },
    float16: true,
  },
  {
    id: 'bnnet-mnist',
    title: 'BN-VGG · MNIST',
    arch: 'bnnet',
    dataset: 'mnist',
    minAccuracy: 0.993,
    recipe: { epochs: 6, batchSize: 64, learningRate: 2e-3, seed: 1 },
    float16: false,
  },
  {
    id: 'bnnet-fashion',
    title: 'BN-VGG · Fashion-MNIST',
    arch: 'bnnet',
    dataset: 'fashion',
    minAccuracy: 0.91,
    recipe: { epochs: 6, batchSize: 64, learningRate: 2e-3, seed: 1 },
    float16: false,
  },
  {
    id: 'vggsmall-fashion',
    title: 'VGG-small · Fashion-MNIST',
    arch: 'vgg-small',
    dataset: 'fashion',
    minAccuracy: 0.92,
    recipe: { epochs: 6, batchSize: 64, learningRate: 2e-3, seed: 1 },
    float16: false,
  },
];

export function teacherSpec(id: string): TeacherSpec | undefined {
  return TEACHERS.find((t) => t.id === id);
}

/** A fresh, untrained network of a zoo architecture, normalised for `dataset`. */
export function buildArchitecture(id: string, dataset: DatasetId, seed: number): Graph {
  const spec = architecture(id);
  if (!spec) {
    throw new InvalidInputError(
      `Unknown architecture '${id}'`,
      `Built-in architectures: ${ARCHITECTURES.map((a) => a.id).join(', ')}.`,
    );
  }
  return spec.build(seed, NORMALIZATION[dataset]);
}

/** Loads a built-in teacher from public/models/<id>/ (fs in Node, fetch in the browser). */
export async function loadTeacher(id: string, options: AssetOptions = {}): Promise<Graph> {
  if (!teacherSpec(id)) {
    throw new InvalidInputError(
      `Unknown teacher '${id}'`,
      `Built-in teachers: ${TEACHERS.map((t) => t.id).join(', ')}; or give the path of a model.json.`,
    );
  }
  const folder = await openAssetFolder(`models/${id}`, options);
  const json = await folder.read('model.json');
  if (!json) {
    throw new InvalidModelError(
      `The built-in teacher '${id}' is missing at ${folder.location}/model.json`,
      'Run `npm run train:teachers` to produce it.',
    );
  }
  const g = await loadGraph(
    new TextDecoder().decode(json),
    async (shard) => {
      const bytes = await folder.read(shard);
      if (!bytes) throw new Error('not found');
      return bytes.slice().buffer;
    },
    `${folder.location}/model.json`,
  );
  g.name = id;
  return g;
}
