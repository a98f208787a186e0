// Writes TF.js Layers models in the layouts other tools produce, from this project's trained
// teachers and a tiny MLP trained here, for src/core/io/layers-fixtures.test.ts:
//   npx tsx scripts/make-layers-fixtures.ts [out-dir]   (default src/core/io/fixtures)
// TensorFlow does not install on this machine, so the Keras 2 / Keras 3 / old converter JSON is
// written here in those layouts (as documented and seen in public model.json files), not by Keras.
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDataset, NORMALIZATION, toTensors } from '../src/core/data';
import { disposeGraph, type Graph } from '../src/core/graph';
import { toFloat16 } from '../src/core/io/layers-format';
import { initBackend } from '../src/core/runtime/backend';
import { loadTeacher } from '../src/core/zoo';

type Json = Record<string, unknown>;
interface Weight {
  name: string;
  shape: number[];
  values: Float32Array;
  dtype?: 'float32' | 'int32';
}
interface Layer {
  cls: string;
  config: Json;
}

const { mean: MNIST_MEAN, std: MNIST_STD } = NORMALIZATION.mnist;

/**
 * Folds x = (p · inScale − mean) / std into a valid-padding first conv, so the same network
 * takes p · inScale directly (inScale 1/255: unit pixels, 1: raw pixels): exact, since every
 * output reads only real pixels or the padded border, which has p = 0 in both.
 */
function foldIntoConv(kernel: Float32Array, bias: Float32Array, inScale: number) {
  const outChannels = bias.length;
  const b = Float32Array.from(bias);
  for (let i = 0; i < kernel.length; i++)
    b[i % outChannels] -= (kernel[i] * MNIST_MEAN) / MNIST_STD;
  return { kernel: kernel.map((w) => w / (inScale * 255 * MNIST_STD)), bias: b };
}

const initializer = (keras3: boolean, cls: string): Json =>
  keras3
    ? {
        module: 'keras.initializers',
        class_name: cls,
        config: cls === 'GlorotUniform' ? { seed: null } : {},
        registered_name: null,
      }
    : { class_name: cls, config: cls === 'GlorotUniform' ? { seed: null } : {} };

/** The fields Keras writes for any layer with a kernel and a bias. */
function weighted(activation: string, k3: boolean): Json {
  return {
    activation,
    use_bias: true,
    kernel_initializer: initializer(k3, 'GlorotUniform'),
    bias_initializer: initializer(k3, 'Zeros'),
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
}

/** Keras layer configs with the fields each Keras version writes. */
function conv(
  name: string,
  filters: number,
  size: number,
  padding: string,
  activation: string,
  k3: boolean,
): Layer {
  return {
    cls: 'Conv2D',
    config: {
      name,
      trainable: true,
      filters,
      kernel_size: [size, size],
      strides: [1, 1],
      padding,
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      groups: 1,
      ...weighted(activation, k3),
    },
  };
}
function dense(
  name: string,
  units: number,
  activation: string,
  k3: boolean,
  extra: Json = {},
): Layer {
  return {
    cls: 'Dense',
    config: {
      name,
      trainable: true,
      ...extra,
      units,
      ...weighted(activation, k3),
    },
  };
}
const pool = (name: string): Layer => ({
  cls: 'MaxPooling2D',
  config: {
    name,
    trainable: true,
    pool_size: [2, 2],
    padding: 'valid',
    strides: [2, 2],
    data_format: 'channels_last',
  },
});
const simple = (cls: string, name: string, config: Json = {}): Layer => ({
  cls,
  config: { name, trainable: true, ...config },
});

/** A Keras 2 (tf.keras 2.x) Sequential as tensorflowjs_converter 4.x writes it. */
function kerasTwoTopology(name: string, layers: Layer[], kerasVersion = '2.15.0') {
  return {
    keras_version: kerasVersion,
    backend: 'tensorflow',
    model_config: {
      class_name: 'Sequential',
      config: {
        name,
        layers: layers.map((l) => ({
          class_name: l.cls,
          config: { dtype: 'float32', ...l.config },
        })),
      },
    },
    training_config: {
      loss: 'sparse_categorical_crossentropy',
      optimizer_config: {
        class_name: 'Custom>Adam',
        config: { name: 'Adam', learning_rate: 0.001 },
      },
    },
  };
}

/**
 * A Keras 3 functional model: module/registered_name on every object, dtype policies as objects,
 * build_config, inbound nodes as { args: [__keras_tensor__], kwargs }, flat input/output_layers.
 */
function kerasThreeTopology(name: string, input: number[], layers: Layer[]) {
  const policy = {
    module: 'keras',
    class_name: 'DTypePolicy',
    config: { name: 'float32' },
    registered_name: null,
  };
  const tensor = (from: string) => ({
    class_name: '__keras_tensor__',
    config: { shape: null, dtype: 'float32', keras_history: [from, 0, 0] },
  });
  const inputName = 'input_layer';
  const out = [
    {
      module: 'keras.layers',
      class_name: 'InputLayer',
      registered_name: null,
      name: inputName,
      config: { batch_shape: [null, ...input], dtype: 'float32', sparse: false, name: inputName },
      inbound_nodes: [],
    },
    ...layers.map((l, i) => ({
      module: 'keras.layers',
      class_name: l.cls,
      registered_name: null,
      name: l.config.name,
      config: { ...l.config, dtype: policy },
      build_config: { input_shape: null },
      inbound_nodes: [
        { args: [tensor(i === 0 ? inputName : String(layers[i - 1].config.name))], kwargs: {} },
      ],
    })),
  ];
  return {
    keras_version: '3.6.0',
    backend: 'tensorflow',
    model_config: {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      registered_name: 'Functional',
      config: {
        name,
        trainable: true,
        layers: out,
        input_layers: [inputName, 0, 0],
        output_layers: [String(layers[layers.length - 1].config.name), 0, 0],
      },
    },
  };
}

interface ShardOptions {
  /** Shard count (weights are split at equal byte offsets, possibly inside a weight). */
  shards: number;
  /** With or without the '.bin' the current converter appends. */
  extension: string;
  float16: boolean;
}

/** Writes model.json and its shards; weights go into the manifest in the given order. */
async function writeModel(
  dir: string,
  json: Json,
  weights: Weight[],
  opts: ShardOptions,
): Promise<number> {
  const chunks = weights.map((w) =>
    opts.float16 && w.dtype !== 'int32'
      ? new Uint8Array(toFloat16(w.values).buffer)
      : new Uint8Array(
          w.dtype === 'int32'
            ? Int32Array.from(w.values).buffer
            : Float32Array.from(w.values).buffer,
        ),
  );
  const data = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  chunks.reduce((offset, c) => (data.set(c, offset), offset + c.byteLength), 0);
  const paths = Array.from(
    { length: opts.shards },
    (_, i) => `group1-shard${i + 1}of${opts.shards}${opts.extension}`,
  );
  const size = Math.ceil(data.byteLength / opts.shards);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [i, path] of paths.entries())
    await writeFile(join(dir, path), data.subarray(i * size, (i + 1) * size));
  const manifest = weights.map((w) => ({
    name: w.name,
    shape: w.shape,
    dtype: w.dtype ?? 'float32',
    ...(opts.float16 &&
      w.dtype !== 'int32' && { quantization: { dtype: 'float16', original_dtype: 'float32' } }),
  }));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({ ...json, weightsManifest: [{ paths, weights: manifest }] }, null, 1),
  );
  return data.byteLength;
}

/** LeNet-5's layers with Keras' fused activations, and its weights renamed to them. */
function lenetLayers(k3: boolean): Layer[] {
  return [
    conv('conv2d', 6, 5, 'valid', 'relu', k3),
    pool('max_pooling2d'),
    conv('conv2d_1', 16, 5, 'valid', 'relu', k3),
    pool('max_pooling2d_1'),
    conv('conv2d_2', 120, 5, 'valid', 'relu', k3),
    simple('Flatten', 'flatten', { data_format: 'channels_last' }),
    dense('dense', 84, 'relu', k3),
    dense('dense_1', 10, 'softmax', k3),
  ];
}
function lenetWeights(teacher: Weight[], inScale: number): Weight[] {
  const kerasName: Record<string, string> = {
    conv1: 'conv2d',
    conv2: 'conv2d_1',
    conv3: 'conv2d_2',
    fc1: 'dense',
    fc2: 'dense_1',
  };
  const byName = new Map(teacher.map((w) => [w.name, w.values]));
  const first = foldIntoConv(byName.get('conv1/kernel')!, byName.get('conv1/bias')!, inScale);
  return teacher.map((w) => {
    const [layer, weight] = w.name.split('/');
    const values = layer === 'conv1' ? first[weight as 'kernel' | 'bias'] : w.values;
    return { name: `${kerasName[layer]}/${weight}`, shape: w.shape, values };
  });
}

/** Every weight of a zoo graph under Keras names, with a prefix ('' or Keras 3's model name). */
function graphWeights(g: Graph, prefix: string): Weight[] {
  const keras: Record<string, string> = {
    movingMean: 'moving_mean',
    movingVariance: 'moving_variance',
  };
  return g.nodes.flatMap((n) =>
    Object.entries(n.weights).map(([k, v]) => ({
      name: `${prefix}${n.id}/${keras[k] ?? k}`,
      shape: v.shape,
      values: v.dataSync() as Float32Array,
    })),
  );
}

/** The layers of a model.json this project wrote, as Keras layer configs. */
async function savedLayers(teacherId: string): Promise<Layer[]> {
  const json = JSON.parse(
    await readFile(join('public/models', teacherId, 'model.json'), 'utf8'),
  ) as {
    modelTopology: { config: { layers: { class_name: string; config: Json }[] } };
  };
  return json.modelTopology.config.layers
    .filter((l) => l.class_name !== 'InputLayer')
    .map((l) => ({ cls: l.class_name, config: l.config }));
}

/** A 784-32-10 MLP trained here for two epochs on 28×28 MNIST in [0, 1] (Keras' usual MLP input). */
async function trainMlp(): Promise<{ model: tf.LayersModel; accuracy: number }> {
  const [train, test] = await Promise.all([
    loadDataset('mnist', 'train'),
    loadDataset('mnist', 'test'),
  ]);
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28] }),
      tf.layers.dense({
        units: 32,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(2e-3),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const images = (ds: typeof train) => {
    const { x, y } = toTensors(ds);
    const flat = x.reshape([ds.count, 28, 28]);
    x.dispose();
    return { x: flat, y: y.cast('float32') };
  };
  const trainSet = images(train);
  await model.fit(trainSet.x, trainSet.y, { epochs: 2, batchSize: 128, verbose: 0 });
  const testSet = images(test);
  const [, acc] = model.evaluate(testSet.x, testSet.y) as tf.Scalar[];
  const accuracy = (await acc.data())[0];
  tf.dispose([trainSet.x, trainSet.y, testSet.x, testSet.y, acc]);
  return { model, accuracy };
}

async function main(outDir: string) {
  await initBackend('wasm');
  const sizes: Record<string, number> = {};

  // Keras 2 CNN: LeNet-5 with MNIST's normalisation folded into conv1, so it takes [0, 1]
  // pixels; fused activations, float16 shards, manifest in reverse order.
  const lenet = await loadTeacher('lenet5-mnist');
  const lenetW = graphWeights(lenet, '');
  sizes['keras2-lenet5'] = await writeModel(
    join(outDir, 'keras2-lenet5'),
    {
      format: 'layers-model',
      generatedBy: 'keras v2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: kerasTwoTopology('sequential', [
        simple('InputLayer', 'conv2d_input', {
          batch_input_shape: [null, 32, 32, 1],
          sparse: false,
          ragged: false,
        }),
        ...lenetLayers(false),
      ]),
    },
    lenetWeights(lenetW, 1 / 255).reverse(),
    { shards: 2, extension: '.bin', float16: true },
  );

  // The same network "trained on raw 0–255 pixels" (the normalisation folded for raw input),
  // saved by TF.js model.save(): no InputLayer, batch_input_shape on the first layer.
  sizes['tfjs-raw-lenet5'] = await writeModel(
    join(outDir, 'tfjs-raw-lenet5'),
    {
      format: 'layers-model',
      generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
        config: {
          name: 'sequential_1',
          layers: lenetLayers(false).map((l, i) => ({
            class_name: l.cls,
            config:
              i === 0
                ? { batch_input_shape: [null, 32, 32, 1], dtype: 'float32', ...l.config }
                : l.config,
          })),
        },
      },
    },
    lenetWeights(lenetW, 1),
    { shards: 1, extension: '.bin', float16: true },
  );
  disposeGraph(lenet);

  // Keras 3 functional BN-VGG: Rescaling(1/255) and an adapted Normalization in front (so it
  // takes raw pixels), weights named with the model's name first, in sorted-name order.
  const bnnet = await loadTeacher('bnnet-mnist');
  const bnnetWeights = [
    ...graphWeights(bnnet, 'bnnet/'),
    { name: 'bnnet/normalization/mean', shape: [1], values: Float32Array.of(MNIST_MEAN) },
    { name: 'bnnet/normalization/variance', shape: [1], values: Float32Array.of(MNIST_STD ** 2) },
    {
      name: 'bnnet/normalization/count',
      shape: [],
      values: Float32Array.of(60000),
      dtype: 'int32' as const,
    },
  ].sort((a, b) => a.name.localeCompare(b.name));
  sizes['keras3-bnnet'] = await writeModel(
    join(outDir, 'keras3-bnnet'),
    {
      format: 'layers-model',
      generatedBy: 'keras v3.6.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: kerasThreeTopology('bnnet', bnnet.inputShape, [
        simple('Rescaling', 'rescaling', { scale: 1 / 255, offset: 0 }),
        simple('Normalization', 'normalization', {
          axis: -1,
          invert: false,
          mean: null,
          variance: null,
        }),
        ...(await savedLayers('bnnet-mnist')),
      ]),
    },
    bnnetWeights,
    { shards: 1, extension: '.bin', float16: true },
  );
  disposeGraph(bnnet);

  // A Keras MLP on 28×28 inputs without a channel axis, and the same weights in the old
  // converter's layout: no "format", Keras 2.1's bare layer list, a flat 784 input, shards
  // without '.bin'.
  const { model, accuracy } = await trainMlp();
  const [k1, b1, k2, b2] = model.getWeights().map((t) => t.dataSync() as Float32Array);
  const mlpWeights = (first: string, second: string): Weight[] => [
    { name: `${first}/kernel`, shape: [784, 32], values: k1 },
    { name: `${first}/bias`, shape: [32], values: b1 },
    { name: `${second}/kernel`, shape: [32, 10], values: k2 },
    { name: `${second}/bias`, shape: [10], values: b2 },
  ];
  sizes['keras2-mlp-28x28'] = await writeModel(
    join(outDir, 'keras2-mlp-28x28'),
    {
      format: 'layers-model',
      generatedBy: 'keras v2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: kerasTwoTopology('sequential', [
        simple('InputLayer', 'flatten_input', {
          batch_input_shape: [null, 28, 28],
          sparse: false,
          ragged: false,
        }),
        simple('Flatten', 'flatten', { data_format: 'channels_last' }),
        dense('dense', 32, 'relu', false),
        dense('dense_1', 10, 'softmax', false),
      ]),
    },
    mlpWeights('dense', 'dense_1').reverse(),
    { shards: 1, extension: '.bin', float16: true },
  );
  const oldTopology = kerasTwoTopology('sequential_1', [], '2.1.6');
  oldTopology.model_config.config = [
    dense('dense_1', 32, 'relu', false, { batch_input_shape: [null, 784], dtype: 'float32' }),
    dense('dense_2', 10, 'softmax', false),
  ].map((l) => ({
    class_name: l.cls,
    config: l.config,
  })) as unknown as typeof oldTopology.model_config.config;
  sizes['old-mlp-784'] = await writeModel(
    join(outDir, 'old-mlp-784'),
    { modelTopology: oldTopology },
    mlpWeights('dense_1', 'dense_2'),
    { shards: 1, extension: '', float16: false },
  );
  model.dispose();
  console.log(`MLP test accuracy after training: ${(accuracy * 100).toFixed(2)}%`);
  for (const [name, bytes] of Object.entries(sizes))
    console.log(`${name}: ${bytes} bytes of weights`);
}

main(process.argv[2] ?? 'src/core/io/fixtures').catch((e) => {
  console.error(e);
  process.exit(1);
});
