import {
  GraphBuilder,
  disposeGraph,
  widthMultiplier,
  type Graph,
  type Preprocessing,
} from '../graph';

export interface ArchitectureSpec {
  id: string;
  title: string;
  description: string;
  build(seed: number, preprocessing: Preprocessing): Graph;
}

/** LeNet-5 as DAFL uses it: 32×32 input, convs 6/16/120 of 5×5, fc 84, ReLU and max-pooling. */
function lenet5(seed: number, pre: Preprocessing, name = 'lenet5'): Graph {
  return new GraphBuilder(name, [32, 32, 1], seed, pre)
    .conv('conv1', 6, 5)
    .act('relu1')
    .maxPool('pool1')
    .conv('conv2', 16, 5)
    .act('relu2')
    .maxPool('pool2')
    .conv('conv3', 120, 5)
    .act('relu3')
    .add('flatten', 'flatten', {})
    .dense('fc1', 84)
    .act('relu4')
    .dense('fc2', 10)
    .build();
}

/** Hinton et al.'s MNIST MLPs: 784-h-h-10 with ReLU; dropout only in the large teacher. */
function mlp(hidden: number, dropout: number) {
  return (seed: number, pre: Preprocessing): Graph => {
    const b = new GraphBuilder(`mlp-${hidden}`, [28, 28, 1], seed, pre).add(
      'flatten',
      'flatten',
      {},
    );
    for (const i of [1, 2]) {
      b.dense(`fc${i}`, hidden).act(`relu${i}`);
      if (dropout > 0) b.add('dropout', `drop${i}`, { rate: dropout });
    }
    return b.dense('fc3', 10).build();
  };
}

/**
 * A small VGG-style net with BatchNorm after every conv (no conv bias, as BN has a shift),
 * ending in global average pooling. Its BN statistics are what DeepInversion and generative
 * moment matching match against.
 */
function bnnet(seed: number, pre: Preprocessing): Graph {
  const b = new GraphBuilder('bnnet', [28, 28, 1], seed, pre);
  const block = (i: number, filters: number) =>
    b
      .conv(`conv${i}`, filters, 3, { padding: 'same', useBias: false })
      .batchNorm(`bn${i}`)
      .act(`relu${i}`);
  block(1, 16);
  block(2, 16);
  b.maxPool('pool1');
  block(3, 32);
  block(4, 32);
  b.maxPool('pool2');
  block(5, 64);
  return b.add('globalAvgPool', 'gap', {}).dense('fc', 10).build();
}

/**
 * A VGG-style BatchNorm net that pools after every block, so its last convolutions see 4×4 and
 * 2×2 maps, as VGG-16's last blocks do on CIFAR-10. That is the regime Cross Distillation is
 * about: with K shots a pruned layer keeps more weights per output (k·k·C_in) than the shots give
 * equations (K·classes·H·W), so layer-wise regression can fit the shots exactly and over-fit.
 * 32×32 input (28×28 images zero-padded), 13.3 M multiply-accumulates an example.
 */
function vggSmall(seed: number, pre: Preprocessing): Graph {
  const b = new GraphBuilder('vgg-small', [32, 32, 1], seed, pre);
  [32, 64, 128, 128, 256].forEach((filters, i) => {
    b.conv(`conv${i + 1}`, filters, 3, { padding: 'same', useBias: false })
      .batchNorm(`bn${i + 1}`)
      .act(`relu${i + 1}`);
    if (i < 4) b.maxPool(`pool${i + 1}`);
  });
  return b.add('globalAvgPool', 'gap', {}).dense('fc', 10).build();
}

const half =
  (build: (seed: number, pre: Preprocessing) => Graph, name: string) =>
  (seed: number, pre: Preprocessing): Graph => {
    const full = build(seed, pre);
    const student = widthMultiplier(full, 0.5, seed, name);
    disposeGraph(full);
    return student;
  };

export const ARCHITECTURES: readonly ArchitectureSpec[] = [
  {
    id: 'lenet5',
    title: 'LeNet-5',
    description: '32×32 input, conv 6-16-120 (5×5), fc 84-10; 61.7k params',
    build: lenet5,
  },
  {
    id: 'lenet5-half',
    title: 'LeNet-5-half',
    description: 'LeNet-5 at half width (conv 3-8-60, fc 42-10), DAFL’s MNIST student',
    build: half(lenet5, 'lenet5-half'),
  },
  {
    id: 'mlp-1200',
    title: 'MLP 784-1200-1200-10',
    description: 'Hinton et al.’s MNIST teacher, ReLU with dropout 0.5',
    build: mlp(1200, 0.5),
  },
  {
    id: 'mlp-800',
    title: 'MLP 784-800-800-10',
    description: 'Hinton et al.’s MNIST student',
    build: mlp(800, 0),
  },
  {
    id: 'bnnet',
    title: 'BN-VGG',
    description: 'five 3×3 conv-BN-ReLU blocks (16-16-32-32-64), global average pool, fc 10',
    build: bnnet,
  },
  {
    id: 'bnnet-half',
    title: 'BN-VGG-half',
    description: 'BN-VGG at half width (8-8-16-16-32)',
    build: half(bnnet, 'bnnet-half'),
  },
  {
    id: 'vgg-small',
    title: 'VGG-small',
    description:
      'five 3×3 conv-BN-ReLU blocks (32-64-128-128-256) on 32×32, max-pool after each of the first four ' +
      '(maps 32, 16, 8, 4, 2), global average pool, fc 10; 13.3 M MACs',
    build: vggSmall,
  },
];

export function architecture(id: string): ArchitectureSpec | undefined {
  return ARCHITECTURES.find((a) => a.id === id);
}
