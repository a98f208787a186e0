// Going on from a checkpoint: a resumed run trains the steps left and numbers its events on from
// the checkpoint; a method with more state than its student refuses, saying why.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../data';
import { disposeGraph, forward, trainableVariables, type Graph } from '../graph';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { Rng } from '../runtime/rng';
import { buildArchitecture, loadTeacher } from '../zoo';
import { methodById, METHODS } from './registry';
import { stopAt } from './stop-at';
import { deriveStudent, executeRun, type RunRequest } from './runner';
import { crossEntropy, trainLoop } from './train';
import { saveState, type MethodState, type SavedState } from './method-state';
import { dafl, daflTrainer } from './dafl';
import { defaultParams } from './params';
import type { RunContext, RunEvent } from './types';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let teacher: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  teacher = buildArchitecture('lenet5', 'mnist', 1);
});

const kd = (): RunRequest => ({
  method: methodById('kd')!,
  params: { batchSize: 16, evalEvery: 20 },
  teacher,
  train,
  test,
  seed: 2,
  steps: 60,
  testExamples: 200,
  backend,
});

/** A short Cross Distillation run of LeNet-5 (every layer fitted, half of its weights pruned). */
const crossRequest = (params: Record<string, unknown>): RunRequest => ({
  ...kd(),
  method: methodById('cross-distillation')!,
  params: {
    shotsPerClass: 1,
    heldOutExamples: 50,
    fitLayers: 'all',
    proximal: 'topk-annealed',
    targetSparsity: 0.5,
    ...params,
  },
  steps: 20,
});

/** The steps at which each kind of event (`key` for scalars) came. */
function stepsOf(events: RunEvent[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const e of events) {
    if (!('step' in e)) continue;
    (out[e.kind === 'scalar' ? e.key : e.kind] ??= []).push(e.step);
  }
  return out;
}

describe('resuming from a checkpoint', () => {
  it('trains the steps left from the stored student, its events from the checkpoint on, as an uninterrupted run numbers them', async () => {
    const whole: RunEvent[] = [];
    const uninterrupted = await executeRun(kd(), (e) => whole.push(e));
    disposeGraph(uninterrupted.student);

    const checkpoint = deriveStudent(teacher, 'half', train, 9);
    const events: RunEvent[] = [];
    const { result, student } = await executeRun(
      { ...kd(), fromCheckpoint: { step: 40, student: checkpoint } },
      (e) => events.push(e),
    );
    // The run went on with the checkpoint's graph itself.
    expect(student).toBe(checkpoint);
    const resumed = stepsOf(events);
    expect(Math.min(...Object.values(resumed).flat())).toBeGreaterThan(40);
    // 60 − 40 steps: losses read at 50 and 60, accuracy at 60, the progress reaching 60 of 60.
    expect(resumed.loss).toEqual([50, 60]);
    expect(resumed['accuracy/test']).toEqual([60]);
    const progress = events.filter((e) => e.kind === 'progress');
    expect(progress.at(-1)).toMatchObject({ step: 60, total: 60 });
    // On the same steps as the uninterrupted run after step 40.
    const after40 = (steps: number[]) => steps.filter((s) => s > 40);
    expect(resumed.loss).toEqual(after40(stepsOf(whole).loss));
    expect(resumed['accuracy/test']).toEqual(after40(stepsOf(whole)['accuracy/test']));
    expect(result).toMatchObject({ status: 'done', steps: 60, resumedFrom: 40 });
    expect(uninterrupted.result.resumedFrom).toBeUndefined();
    disposeGraph(student);
  });

  it('a resumed training loop draws the batches an uninterrupted one would, across epochs', async () => {
    const net = buildArchitecture('lenet5-half', 'mnist', 3);
    // 50 examples in batches of 16: four batches an epoch, the last one short.
    const indices = Int32Array.from({ length: 50 }, (_, i) => i * 7);
    const drawn = async (resumeFrom?: number) => {
      const seen: number[][] = [];
      const optimizer = tf.train.sgd(0.01);
      for await (const _ of trainLoop({
        graph: net,
        data: train,
        indices,
        test,
        testIndices: [0],
        steps: 11,
        resumeFrom,
        batchSize: 16,
        optimizer,
        variables: trainableVariables(net),
        rng: new Rng(5),
        loss: (batch) => {
          seen.push(Array.from(batch.indices));
          return { total: crossEntropy(forward(net, batch.x, { training: true }).output, batch.y) };
        },
      })) {
        /* train */
      }
      optimizer.dispose();
      return seen;
    };
    const whole = await drawn();
    expect(whole).toHaveLength(11);
    expect(await drawn(6)).toEqual(whole.slice(6));
    disposeGraph(net);
  });

  it('few-shot fine-tuning goes on pruning from the zeros its checkpoint kept', async () => {
    const fineTune = (): RunRequest => ({
      ...kd(),
      method: methodById('fewshot-finetune')!,
      params: {
        shotsPerClass: 2,
        compression: 'weights',
        targetSparsity: 0.8,
        evalEvery: 10,
        heldOutExamples: 50,
      },
      steps: 30,
    });
    // Stopped at step 6, a third of the way through the top-k schedule's annealing.
    let stop = false;
    const first = await executeRun(
      fineTune(),
      (e) => (stop ||= e.kind === 'progress' && e.step >= 6),
      { stopRequested: () => stop },
    );
    expect(first.result.stoppedAtStep).toBe(6);
    const kernels = (g: Graph) =>
      g.nodes.filter((n) => n.weights.kernel).map((n) => Array.from(n.weights.kernel.dataSync()));
    const zerosAt6 = kernels(first.student).map((k) => k.flatMap((v, i) => (v === 0 ? [i] : [])));
    expect(zerosAt6.flat().length).toBeGreaterThan(0);

    const events: RunEvent[] = [];
    const resumed = await executeRun(
      { ...fineTune(), fromCheckpoint: { step: 6, student: first.student } },
      (e) => events.push(e),
    );
    expect(Math.min(...Object.values(stepsOf(events)).flat())).toBeGreaterThan(6);
    expect(resumed.result.resumedFrom).toBe(6);
    // The masks went on from the checkpoint's zeros: none came back, and the target was reached.
    const end = kernels(resumed.student);
    for (const [layer, zeros] of zerosAt6.entries()) {
      expect(zeros.filter((i) => end[layer][i] !== 0)).toEqual([]);
    }
    const sparsity = events.filter((e) => e.kind === 'layers' && e.key === 'sparsity').at(-1);
    expect(sparsity && 'values' in sparsity ? sparsity.values.slice(1) : []).toEqual(
      [0.8, 0.8, 0.8, 0.8].map((v) => expect.closeTo(v, 2)),
    );
    disposeGraph(resumed.student);
  });

  it('refuses a checkpoint at step 0 or at the last step, and disposes it', async () => {
    const before = tf.memory().numTensors;
    // A checkpoint at step 0 holds nothing trained, and may be from before a one-shot compression.
    await expect(
      executeRun(
        { ...kd(), fromCheckpoint: { step: 0, student: deriveStudent(teacher, 'half', train, 9) } },
        () => {},
      ),
    ).rejects.toThrow('The checkpoint is from step 0: nothing had been trained yet');
    expect(tf.memory().numTensors).toBe(before);
    const late = deriveStudent(teacher, 'half', train, 9);
    await expect(
      executeRun({ ...kd(), fromCheckpoint: { step: 60, student: late } }, () => {}),
    ).rejects.toThrow('A checkpoint at step 60 cannot be resumed in a run of 60 steps');
  });

  it('DAFL resumes from a checkpoint holding its generator, its events going on from there; one without is refused', async () => {
    const daflRun = (seed = 2): RunRequest => ({
      ...kd(),
      method: methodById('dafl')!,
      params: { generatorWidth: 4, latentDim: 8, batchSize: 16, evalEvery: 3 },
      seed,
      steps: 6,
    });
    /** A run stopped after step 3, with the state its checkpoint would hold. */
    let lastStep = 0;
    let state: MethodState | undefined;
    let saved: SavedState | undefined;
    const stopped = await executeRun(
      daflRun(),
      (e) => {
        if ('step' in e) lastStep = e.step;
      },
      {
        onStudent: (_, s) => (state = s),
        // Where the worker takes its checkpoints: between events, the weights still.
        whilePaused: async () => {
          if (lastStep === 3 && !saved && state) saved = await saveState(state);
        },
        stopRequested: () => saved !== undefined,
      },
    );
    expect(saved!.tensors.length).toBeGreaterThan(0);
    const events: RunEvent[] = [];
    const resumed = await executeRun(
      { ...daflRun(), fromCheckpoint: { step: 3, student: stopped.student, state: saved } },
      (e) => events.push(e),
    );
    disposeGraph(resumed.student);
    expect(resumed.result).toMatchObject({ status: 'done', resumedFrom: 3 });
    expect(Math.min(...Object.values(stepsOf(events)).flat())).toBeGreaterThan(3);
    expect(stepsOf(events)['accuracy/test']).toEqual([6]);
    // A checkpoint without a generator (an older one) is refused, saying so.
    const bare = deriveStudent(teacher, 'half', train, 9);
    await expect(
      executeRun({ ...daflRun(), fromCheckpoint: { step: 3, student: bare } }, () => {}),
    ).rejects.toThrow('The checkpoint at step 3 holds no generator');
  });

  it('DeepInversion resumes mid-round from a checkpoint holding its pool: the round goes on, the pool keeps growing; one without a pool is refused', async () => {
    const bnTeacher = await loadTeacher('bnnet-mnist');
    // Rounds of 3 distillation steps, each after a batch of 10 synthesised images.
    const diRun = (): RunRequest => ({
      ...kd(),
      method: methodById('deepinversion')!,
      teacher: bnTeacher,
      params: {
        batchSize: 10,
        synthesisSteps: 2,
        kdStepsPerRound: 3,
        kdBatchSize: 8,
        evalEvery: 3,
      },
      steps: 8,
      testExamples: 100,
    });
    let lastStep = 0;
    let state: MethodState | undefined;
    let saved: SavedState | undefined;
    const stopped = await executeRun(
      diRun(),
      (e) => {
        if ('step' in e) lastStep = e.step;
      },
      {
        onStudent: (_, s) => (state = s),
        // Every step reports, so the checkpoint lands after step 4: the second round's first.
        stepping: () => true,
        whilePaused: async () => {
          if (lastStep === 4 && !saved && state) saved = await saveState(state);
        },
        stopRequested: () => saved !== undefined,
      },
    );
    expect(saved!.tensors).toEqual([{ name: 'pool', shape: [20, 28, 28, 1] }]);
    const events: RunEvent[] = [];
    const resumed = await executeRun(
      { ...diRun(), fromCheckpoint: { step: 4, student: stopped.student, state: saved } },
      (e) => events.push(e),
    );
    disposeGraph(resumed.student);
    expect(resumed.result).toMatchObject({ status: 'done', resumedFrom: 4 });
    expect(Math.min(...Object.values(stepsOf(events)).flat())).toBeGreaterThan(4);
    // Steps 5 and 6 finish the second round on the restored pool; the third batch comes at 6.
    const synthesised = events.filter((e) => e.kind === 'progress' && e.phase?.startsWith('synth'));
    expect(synthesised.map((e) => 'step' in e && e.step)).toEqual([6]);
    expect(resumed.result.metrics.poolSize).toBe(30);
    const bare = deriveStudent(bnTeacher, 'half', train, 9);
    await expect(
      executeRun({ ...diRun(), fromCheckpoint: { step: 4, student: bare } }, () => {}),
    ).rejects.toThrow('The checkpoint at step 4 holds no pool of synthesised images');
    disposeGraph(bnTeacher);
  }, 60_000);

  it('a generator trainer resumed from saved state has the saved generators and draws the latents an uninterrupted one would next', async () => {
    const student = deriveStudent(teacher, 'half', train, 9);
    const p = { ...defaultParams(dafl.params), generatorWidth: 4, latentDim: 8, batchSize: 4 };
    const [a, b, c] = [1, 2, 2].map((seed) => daflTrainer(teacher, student, p, new Rng(seed)));
    const saved = await saveState(a.state);
    // b starts from a's generators, as a run resumed at step 3 from a's checkpoint would.
    const ctx = { resumeFrom: 3, resumeState: saved, training: () => {} } as unknown as RunContext;
    b.begin(ctx);
    for (const [name, v] of Object.entries(b.state)) {
      expect(Array.from(await v.data()), name).toEqual(Array.from(await a.state[name].data()));
    }
    // c, uninterrupted with b's seed: its fourth step's latents are b's first.
    for (let i = 0; i < 3; i++) c.latents().dispose();
    const [zb, zc] = [b.latents(), c.latents()];
    expect(Array.from(await zb.data())).toEqual(Array.from(await zc.data()));
    tf.dispose([zb, zc]);
    // A state of other shapes is refused, naming the mismatch.
    const wide = daflTrainer(teacher, student, { ...p, generatorWidth: 8 }, new Rng(1));
    expect(() => wide.begin(ctx)).toThrow(/does not fit this run: 'generator-0\/0' is/);
    [a, b, c, wide].forEach((t) => t.dispose());
    disposeGraph(student);
  });

  it('says how far a stopped run trained: its student is resumable from there', async () => {
    let stop = false;
    const { result, student } = await executeRun(
      kd(),
      (e) => {
        if (e.kind === 'progress' && e.step >= 25) stop = true;
      },
      { stopRequested: () => stop },
    );
    expect(result).toMatchObject({ status: 'stopped', stoppedAtStep: 25 });
    disposeGraph(student);
  });

  it('dynamic pruning goes on with the gated network it stopped with, in the phase its step is in; a plain network is refused', async () => {
    const dynamicRun = (): RunRequest => ({
      ...kd(),
      method: methodById('dynamic-prune')!,
      params: { actions: 4, batchSize: 16, fineTuneSteps: 4, analysisExamples: 0, evalEvery: 4 },
      steps: 10,
    });
    const stopped = await stopAt(dynamicRun(), 4);
    // The stopped run's student is (a copy of) the gated network, decision units and all.
    const units = (g: Graph) => g.nodes.filter((n) => n.op === 'decisionHead').length;
    expect(units(stopped.student)).toBeGreaterThan(0);
    const events: RunEvent[] = [];
    const resumed = await executeRun(
      { ...dynamicRun(), fromCheckpoint: { step: 4, student: stopped.student } },
      (e) => events.push(e),
      { stepping: () => true },
    );
    expect(resumed.student).toBe(stopped.student);
    const phases = events.flatMap((e) => (e.kind === 'progress' ? [[e.step, e.phase]] : []));
    expect(phases).toEqual([
      [5, 'decisions'],
      [6, 'decisions'],
      [7, 'fine-tune'],
      [8, 'fine-tune'],
      [9, 'fine-tune'],
      [10, 'fine-tune'],
    ]);
    expect(resumed.result.metrics['flops-ratio']).toBeGreaterThan(0);
    disposeGraph(resumed.student);

    const plain = deriveStudent(teacher, 'copy', train, 9);
    await expect(
      executeRun({ ...dynamicRun(), fromCheckpoint: { step: 4, student: plain } }, () => {}),
    ).rejects.toThrow('The checkpoint at step 4 holds no decision units');
  });

  it('pruning from scratch goes on training the pruned network; a checkpoint from its gate phase is refused', async () => {
    const pfs = (): RunRequest => ({
      ...kd(),
      method: methodById('prune-from-scratch')!,
      params: { gateSteps: 4, batchSize: 16 },
      steps: 10,
    });
    const stopped = await stopAt(pfs(), 7);
    const widths = (g: Graph) =>
      g.nodes.flatMap((n) => (n.op === 'conv2d' ? [n.attrs.filters] : [])).join();
    const pruned = widths(stopped.student);
    expect(pruned).not.toBe(widths(teacher));
    const events: RunEvent[] = [];
    const resumed = await executeRun(
      { ...pfs(), fromCheckpoint: { step: 7, student: stopped.student } },
      (e) => events.push(e),
    );
    expect(widths(resumed.student)).toBe(pruned);
    expect(Math.min(...events.flatMap((e) => ('step' in e ? [e.step] : [])))).toBeGreaterThan(7);
    expect(resumed.result).toMatchObject({ status: 'done', resumedFrom: 7 });
    disposeGraph(resumed.student);

    await expect(
      executeRun(
        {
          ...pfs(),
          fromCheckpoint: { step: 3, student: deriveStudent(teacher, 'copy', train, 9) },
        },
        () => {},
      ),
    ).rejects.toThrow('The checkpoint at step 3 is from the gate-learning phase');
  });

  it('cross distillation goes on in the layer it was fitting, then fine-tunes; the fitted layers and their losses are kept', async () => {
    // LeNet-5's fitted layers × 4 iterations, then 4 fine-tune steps: 20 steps.
    const cross = () =>
      crossRequest({ itersPerLayer: 4, fineTuneSteps: 4, compression: 'weights' });
    const layerLosses = (events: RunEvent[]) =>
      events.flatMap((e) => (e.kind === 'layers' && e.key === 'layer-loss' ? [e] : [])).at(-1);
    for (const at of [6, 18]) {
      const { events: first, state, ...stopped } = await stopAt(cross(), at);
      expect(stopped.result.stoppedAtStep).toBe(at);
      const kernels = (g: Graph) =>
        g.nodes.filter((n) => n.weights.kernel).map((n) => Array.from(n.weights.kernel.dataSync()));
      const atStop = kernels(stopped.student);
      const events: RunEvent[] = [];
      const resumed = await executeRun(
        { ...cross(), fromCheckpoint: { step: at, student: stopped.student, state } },
        (e) => events.push(e),
        { stepping: () => true },
      );
      const phases = [...new Set(events.flatMap((e) => (e.kind === 'progress' ? [e.phase] : [])))];
      const steps = events.flatMap((e) => ('step' in e ? [e.step] : []));
      expect(Math.min(...steps)).toBeGreaterThan(at);
      expect(Math.max(...steps)).toBe(20);
      if (at === 6) {
        // Step 6 is in the second layer: it goes on there, then the rest and the fine-tune.
        const phaseAt6 = first.find((e) => e.kind === 'progress' && e.step === 6);
        expect(phases[0]).toBe(phaseAt6?.kind === 'progress' && phaseAt6.phase);
        expect(phases).toHaveLength(4);
        expect(phases.at(-1)).toBe('fine-tune');
        // The first layer, fitted before the stop, is untouched until the fine-tune.
        expect(
          events.some((e) => e.kind === 'progress' && e.phase === layerLosses(first)!.labels[0]),
        ).toBe(false);
      } else {
        expect(phases).toEqual(['fine-tune']);
        // Pruned weights stay pruned through the fine-tune.
        const end = kernels(resumed.student);
        for (const [layer, values] of atStop.entries()) {
          expect(values.flatMap((v, i) => (v === 0 && end[layer][i] !== 0 ? [i] : []))).toEqual([]);
        }
      }
      // The layer losses of the whole run: those fitted before the stop come from the checkpoint.
      const losses = layerLosses(at === 6 ? events : first)!;
      expect(losses.values).toHaveLength(4);
      expect(losses.values.every(Number.isFinite)).toBe(true);
      expect(resumed.result.metrics.finalLayerLoss).toBeCloseTo(losses.values[3], 5);
      disposeGraph(resumed.student);
    }
  });

  it('cross distillation stopped while it removes pruned channels resumes with its layer losses', async () => {
    // 4 layers × 2 iterations + 2 fine-tune steps = 10 of the 20 steps asked for; a stop that
    // lands after the last of them, in the removal of the pruned channels.
    const cross = () =>
      crossRequest({ itersPerLayer: 2, fineTuneSteps: 2, compression: 'channels' });
    const removing = (e: RunEvent) =>
      e.kind === 'log' && /removed \d+ of \d+ input channels/.test(e.message);
    const { state, ...stopped } = await stopAt(cross(), removing);
    expect(stopped.result.status).toBe('stopped');
    expect(state?.tensors.map((t) => t.name)).toEqual(['layer-losses']);
    const resumed = await executeRun(
      { ...cross(), fromCheckpoint: { step: 10, student: stopped.student, state } },
      () => {},
      { stepping: () => true },
    );
    expect(Number.isFinite(resumed.result.metrics.finalLayerLoss)).toBe(true);
    disposeGraph(resumed.student);
  });

  it('every method resumes', () => {
    for (const method of METHODS) expect(method.resume).toEqual({ resumable: true });
  });
});
