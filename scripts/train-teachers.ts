// Reproduces the built-in teachers in public/models from scratch: `npm run train:teachers [id ...]`.
// Each is trained on the training split with a fixed seed, saved, re-loaded from disk and
// re-measured on the test split; a teacher below its required accuracy is not written.
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { loadDataset } from '../src/core/data';
import { disposeGraph, forward, graphStats, trainableVariables } from '../src/core/graph';
import { loadGraphFromFile, saveGraphToDir } from '../src/core/io/node';
import { accuracy } from '../src/core/metrics';
import { cosineRate, ScheduledAdam, trainLoop } from '../src/core/methods';
import { initBackend } from '../src/core/runtime/backend';
import { Rng } from '../src/core/runtime/rng';
import { buildArchitecture, TEACHERS } from '../src/core/zoo';

async function main(ids: string[]) {
  const backend = await initBackend('wasm');
  console.log(`backend: ${backend.name} (${backend.reason})`);
  const unknown = ids.filter((id) => !TEACHERS.some((t) => t.id === id));
  if (unknown.length)
    throw new Error(
      `Unknown teacher(s) ${unknown.join(', ')}; known: ${TEACHERS.map((t) => t.id).join(', ')}`,
    );
  for (const spec of TEACHERS.filter((t) => ids.length === 0 || ids.includes(t.id))) {
    const { epochs, batchSize, learningRate, seed } = spec.recipe;
    const [train, test] = await Promise.all([
      loadDataset(spec.dataset, 'train'),
      loadDataset(spec.dataset, 'test'),
    ]);
    const g = buildArchitecture(spec.arch, spec.dataset, seed);
    g.name = spec.id;
    const steps = epochs * Math.ceil(train.count / batchSize);
    const optimizer = new ScheduledAdam(learningRate);
    const started = performance.now();
    const loop = trainLoop({
      graph: g,
      data: train,
      test,
      testIndices: Int32Array.from({ length: 2000 }, (_, i) => i),
      steps,
      batchSize,
      optimizer,
      variables: trainableVariables(g),
      rng: new Rng(seed),
      evalEvery: Math.ceil(train.count / batchSize),
      logEvery: 100,
      loss: (batch) => {
        const logits = forward(g, batch.x, { training: true }).output;
        return {
          total: tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, 10), logits) as tf.Scalar,
        };
      },
      afterStep: (step) => optimizer.setLearningRate(cosineRate(learningRate, step, steps)),
    });
    for await (const e of loop) {
      if (e.kind === 'scalar' && e.key === 'accuracy/test') {
        const s = ((performance.now() - started) / 1000).toFixed(0);
        console.log(
          `${spec.id}: step ${e.step}/${steps} held-out accuracy ${(e.value * 100).toFixed(2)}% (${s} s)`,
        );
      }
    }
    optimizer.dispose();
    const trained = await accuracy(g, test);
    if (trained < spec.minAccuracy) {
      throw new Error(
        `${spec.id} reached ${(trained * 100).toFixed(2)}% < required ${(spec.minAccuracy * 100).toFixed(1)}%; not written`,
      );
    }
    const dir = join('public', 'models', spec.id);
    const path = await saveGraphToDir(g, dir, {
      float16: spec.float16,
      shardName: `${spec.id}.weights.bin`,
    });
    disposeGraph(g);
    const reloaded = await loadGraphFromFile(path);
    const acc = await accuracy(reloaded, test);
    const stats = graphStats(reloaded);
    disposeGraph(reloaded);
    console.log(
      `${spec.id}: test accuracy ${(trained * 100).toFixed(2)}% trained, ${(acc * 100).toFixed(2)}% as saved; ` +
        `${stats.params} params, ${((performance.now() - started) / 1000).toFixed(0)} s → ${path}`,
    );
    if (acc < spec.minAccuracy) {
      throw new Error(
        `${spec.id} as saved reached ${(acc * 100).toFixed(2)}% < required ${(spec.minAccuracy * 100).toFixed(1)}%`,
      );
    }
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`train-teachers: ${(e as Error).message}`);
  process.exit(1);
});
