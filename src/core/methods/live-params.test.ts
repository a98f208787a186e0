import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firstExamples, loadDataset, type Dataset } from '../data';
import { disposeGraph, trainableVariables, type Graph } from '../graph';
import { initBackend, type BackendInfo } from '../runtime/backend';
import { buildArchitecture } from '../zoo';
import { ParamSchedule } from './live-params';
import { ScheduledAdam } from './optim';
import { liveParamsError, scheduleError, type ParamChange, type ParamSettings } from './params';
import { methodById } from './registry';
import { executeRun, type RunControl } from './runner';
import type { RunEvent } from './types';

let backend: BackendInfo;
let train: Dataset;
let test: Dataset;
let teacher: Graph;

beforeAll(async () => {
  backend = await initBackend('wasm');
  [train, test] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
  test = firstExamples(test, 50);
  teacher = buildArchitecture('lenet5', 'mnist', 1);
});

// Each optimiser step's learning rate, in step order: ScheduledAdam's applyGradients, recorded.
const rates: number[] = [];
const applyGradients = ScheduledAdam.prototype.applyGradients;
afterEach(() => {
  rates.length = 0;
  delete (ScheduledAdam.prototype as Partial<ScheduledAdam>).applyGradients;
});
function recordRates(): void {
  ScheduledAdam.prototype.applyGradients = function (this: ScheduledAdam, grads) {
    rates.push(this.rate);
    return applyGradients.call(this, grads);
  };
}

/** Six KD steps; the student's weights, the events and the result. */
async function kd(schedule?: ParamChange[], control?: RunControl) {
  const events: RunEvent[] = [];
  const { result, student } = await executeRun(
    {
      method: methodById('kd')!,
      params: { batchSize: 16, evalEvery: 1000 },
      teacher,
      train,
      test,
      seed: 5,
      steps: 6,
      backend,
      schedule,
    },
    (e) => events.push(e),
    control,
  );
  const weights = await Promise.all(
    trainableVariables(student).map(async (v) => [...(await v.data())]),
  );
  disposeGraph(student);
  return { result, events, weights: weights.flat() };
}

describe('live parameters', () => {
  it('a schedule changes KD’s learning rate at its step, deterministically; a live request is the same change', async () => {
    recordRates();
    const schedule = [{ step: 4, params: { learningRate: 0.01 } }];
    const changed = await kd(schedule);
    // (a) the optimiser's rate is the start value for steps 1–3 and the new one from step 4.
    expect(rates).toEqual([1e-3, 1e-3, 1e-3, 0.01, 0.01, 0.01]);
    const marker = changed.events.find((e) => e.kind === 'params');
    expect(marker).toEqual({
      kind: 'params',
      step: 4,
      params: { learningRate: 0.01 },
      previous: { learningRate: 1e-3 },
      label: 'learning rate 0.001 → 0.01',
    });
    expect(changed.result.schedule).toEqual(schedule);
    // The result reports the parameters the run started with.
    expect(changed.result.params.learningRate).toBe(1e-3);

    // (b) different from the unchanged run, equal to the same schedule again.
    const unchanged = await kd();
    expect(unchanged.result.schedule).toBeUndefined();
    expect(unchanged.weights).not.toEqual(changed.weights);
    const again = await kd(schedule);
    expect(again.weights).toEqual(changed.weights);

    // Asked for mid-run (the page's Apply), the change takes the next step boundary's step and
    // is the same change: the run records it as that schedule and lands on the same weights.
    let boundaries = 0;
    const live = await kd(undefined, {
      takeParamChanges: (): ParamSettings | undefined =>
        ++boundaries === 4 ? { learningRate: 0.01 } : undefined,
    });
    expect(live.result.schedule).toEqual(schedule);
    expect(live.weights).toEqual(changed.weights);
  });

  it('refuses a change of a parameter that is fixed once the run starts, naming the live ones', async () => {
    const kdParams = methodById('kd')!.params;
    expect(liveParamsError(kdParams, { batchSize: 32 }, 'kd')).toBe(
      "'batchSize' cannot change while a 'kd' run goes on (only temperature, alpha, learningRate can)",
    );
    expect(liveParamsError(kdParams, { learningRate: 5 }, 'kd')).toBe(
      'learningRate must be between 0.000001 and 1 (got 5)',
    );
    expect(liveParamsError(kdParams, { temperature: 2, alpha: 0.5 }, 'kd')).toBeNull();
    expect(
      scheduleError(
        kdParams,
        [
          { step: 3, params: {} },
          { step: 2, params: {} },
        ],
        'kd',
      ),
    ).toMatch(/entry 0 \(step 3\): no parameter to change/);
    expect(
      scheduleError(
        kdParams,
        [
          { step: 3, params: { alpha: 0.5 } },
          { step: 3, params: { alpha: 0.4 } },
        ],
        'kd',
      ),
    ).toMatch(/entry 1: "step" must be a whole number above 3/);
    await expect(kd([{ step: 2, params: { batchSize: 32 } }])).rejects.toThrow(
      /Bad parameter schedule for 'kd': entry 0 \(step 2\): 'batchSize' cannot change while a 'kd' run goes on/,
    );
  });

  it('a run resumed from its checkpoint starts with the changes made before it, unannounced', () => {
    const values: Record<string, unknown> = { learningRate: 1e-3, temperature: 4 };
    const events: RunEvent[] = [];
    const schedule: ParamChange[] = [
      { step: 3, params: { learningRate: 0.01 } },
      { step: 8, params: { temperature: 2 } },
    ];
    const params = new ParamSchedule(
      methodById('kd')!.params,
      'kd',
      values,
      schedule,
      () => undefined,
      (e) => events.push(e),
      5,
    );
    expect(values).toEqual({ learningRate: 0.01, temperature: 4 });
    params.at(6);
    params.at(7);
    expect(events).toEqual([]);
    params.at(8);
    expect(events.map((e) => e.kind === 'params' && e.label)).toEqual(['temperature 4 → 2']);
    expect(params.applied).toEqual(schedule);
  });

  it('DAFL’s step sizes reach both optimisers at their step', async () => {
    recordRates();
    const { student } = await executeRun(
      {
        method: methodById('dafl')!,
        params: { generatorWidth: 4, latentDim: 8, batchSize: 16, studentSteps: 1, evalEvery: 100 },
        teacher,
        train,
        test,
        seed: 2,
        steps: 3,
        backend,
        schedule: [{ step: 2, params: { generatorLearningRate: 0.05, studentLearningRate: 1e-3 } }],
      },
      () => {},
    );
    disposeGraph(student);
    // Each step updates the student, then the generator.
    expect(rates).toEqual([2e-3, 0.1, 1e-3, 0.05, 1e-3, 0.05]);
  });

  it('dynamic pruning’s λ is read at every step: at 0 the sparsity term vanishes', async () => {
    const sparsity = async (schedule?: ParamChange[]) => {
      const events: RunEvent[] = [];
      const { student } = await executeRun(
        {
          method: methodById('dynamic-prune')!,
          params: {
            actions: 2,
            batchSize: 16,
            fineTuneSteps: 0,
            analysisExamples: 0,
            evalEvery: 100,
          },
          teacher,
          train,
          test,
          seed: 3,
          steps: 4,
          backend,
          schedule,
        },
        (e) => events.push(e),
      );
      disposeGraph(student);
      const read = events.filter((e) => e.kind === 'scalar' && e.key === 'decision/sparsity');
      return read.map((e) => (e.kind === 'scalar' ? e.value : NaN));
    };
    expect((await sparsity())[0]).toBeGreaterThan(0);
    expect(await sparsity([{ step: 2, params: { lambda: 0 } }])).toEqual([0]);
  });

  it('moment matching’s weights and step sizes change at their step; a term set to 0 is then charted as measured', async () => {
    recordRates();
    const events: RunEvent[] = [];
    const { student } = await executeRun(
      {
        method: methodById('generative-mm')!,
        params: {
          generators: 'shared',
          generatorWidth: 4,
          latentDim: 8,
          batchSize: 20,
          evalEvery: 100,
        },
        // Untrained BN-VGG: moment matching needs BatchNorm layers, not a trained teacher.
        teacher: buildArchitecture('bnnet', 'mnist', 1),
        train,
        test,
        seed: 2,
        steps: 3,
        backend,
        schedule: [{ step: 2, params: { momentWeight: 0, generatorLearningRate: 0.05 } }],
      },
      (e) => events.push(e),
    );
    disposeGraph(student);
    expect(rates).toEqual([1e-3, 1e-2, 1e-3, 0.05, 1e-3, 0.05]);
    const keysAt = (step: number) =>
      events.flatMap((e) => (e.kind === 'scalar' && e.step === step ? [e.key] : []));
    expect(keysAt(1)).toContain('loss/moments');
    expect(keysAt(3)).toContain('measured/moments');
    expect(keysAt(3)).not.toContain('loss/moments');
  });

  it('DeepInversion’s student step and synthesis weights change at their step', async () => {
    recordRates();
    const events: RunEvent[] = [];
    const { student } = await executeRun(
      {
        method: methodById('deepinversion')!,
        params: {
          batchSize: 10,
          synthesisSteps: 2,
          kdStepsPerRound: 3,
          kdBatchSize: 8,
          evalEvery: 100,
        },
        teacher: buildArchitecture('bnnet', 'mnist', 1),
        train,
        test,
        seed: 2,
        steps: 6,
        backend,
        // The second round (at step 3) synthesises without the feature-statistics loss.
        schedule: [{ step: 2, params: { studentLearningRate: 0.01, featureWeight: 0 } }],
      },
      (e) => events.push(e),
    );
    disposeGraph(student);
    expect(rates).toEqual([1e-3, 0.01, 0.01, 0.01, 0.01, 0.01]);
    const keysAt = (step: number) =>
      events.flatMap((e) => (e.kind === 'scalar' && e.step === step ? [e.key] : []));
    expect(keysAt(0)).toContain('loss/feature');
    expect(keysAt(3)).toContain('measured/feature');
    // DeepInversion (no competition weight) charts no competition term at all.
    expect(keysAt(0)).not.toContain('loss/competition');
  });

  /** The rates the Adam steps of a short run of `method` used, with `schedule` applied. */
  async function ratesOf(
    method: string,
    params: Record<string, unknown>,
    steps: number,
    schedule: ParamChange[],
  ) {
    recordRates();
    const events: RunEvent[] = [];
    const { student } = await executeRun(
      {
        method: methodById(method)!,
        params,
        teacher,
        train,
        test,
        seed: 3,
        steps,
        backend,
        schedule,
      },
      (e) => events.push(e),
    );
    disposeGraph(student);
    return {
      rates: [...rates],
      markers: events.filter((e) => e.kind === 'params').map((e) => e.step),
    };
  }

  it('cross distillation’s solver step size changes at its step, across layers', async () => {
    // Quantizing every conv layer: three layers fitted, two iterations each, no fine-tune.
    const { rates: r, markers } = await ratesOf(
      'cross-distillation',
      {
        compression: 'quantize',
        itersPerLayer: 2,
        fineTuneSteps: 0,
        heldOutExamples: 10,
        shotsPerClass: 1,
      },
      6,
      [{ step: 3, params: { learningRate: 0.01 } }],
    );
    expect(r).toEqual([5e-3, 5e-3, 0.01, 0.01, 0.01, 0.01]);
    expect(markers).toEqual([3]);
  });

  it('cross distillation’s μ changes at its step: the layer loss becomes μ = 1’s, correction alone', async () => {
    const events: RunEvent[] = [];
    const { student } = await executeRun(
      {
        method: methodById('cross-distillation')!,
        params: {
          compression: 'quantize',
          itersPerLayer: 2,
          fineTuneSteps: 0,
          heldOutExamples: 10,
          shotsPerClass: 1,
        },
        teacher,
        train,
        test,
        seed: 3,
        steps: 6,
        backend,
        schedule: [{ step: 4, params: { mu: 1 } }],
      },
      (e) => events.push(e),
    );
    disposeGraph(student);
    const at = (key: string) =>
      new Map(
        events.flatMap((e) => (e.kind === 'scalar' && e.key === key ? [[e.step, e.value]] : [])),
      );
    const [total, correction] = [at('loss'), at('loss/correction')];
    // Three layers, two steps each. μ = 0.6 for steps 1–3 (both terms optimised), μ = 1 from
    // step 4, mid-layer (imitation then only measured). On the first layer teacher and student
    // see the same input, so its two terms are equal whatever μ: step 3 tells them apart.
    expect([...at('loss/imitation').keys()]).toEqual([1, 2, 3]);
    expect([...at('measured/imitation').keys()]).toEqual([4, 5, 6]);
    expect(total.get(3)).not.toBeCloseTo(correction.get(3)!, 6);
    for (const step of [4, 5, 6]) expect(total.get(step)).toBeCloseTo(correction.get(step)!, 6);
  });

  it('few-shot fine-tuning’s step size changes at its step', async () => {
    const { rates: r } = await ratesOf(
      'fewshot-finetune',
      { compression: 'none', shotsPerClass: 1, heldOutExamples: 10, evalEvery: 100 },
      4,
      [{ step: 3, params: { learningRate: 0.01 } }],
    );
    expect(r).toEqual([1e-3, 1e-3, 0.01, 0.01]);
  });

  it('pruning from scratch’s gate step size changes at its step', async () => {
    const { rates: r } = await ratesOf('prune-from-scratch', { gateSteps: 3, batchSize: 8 }, 4, [
      { step: 2, params: { gateLearningRate: 0.05 } },
    ]);
    expect(r).toEqual([0.01, 0.05, 0.05]);
  });

  it('marks live parameters of DAFL, moment matching, DeepInversion and dynamic pruning', () => {
    const live = (id: string) =>
      Object.entries(methodById(id)!.params)
        .filter(([, s]) => s.live)
        .map(([k]) => k);
    expect(live('dafl')).toEqual([
      'generatorLearningRate',
      'studentLearningRate',
      'oneHot',
      'activation',
      'entropy',
    ]);
    expect(live('dynamic-prune')).toEqual(['lambda']);
    expect(live('cross-distillation')).toEqual([
      'mu',
      'alpha',
      'beta',
      'learningRate',
      'fineTuneRate',
    ]);
    expect(live('layerwise')).toEqual(['learningRate', 'fineTuneRate']);
    expect(live('fewshot-finetune')).toEqual(['learningRate']);
    expect(live('prune-from-scratch')).toEqual([
      'sparsityTarget',
      'lambda',
      'gateLearningRate',
      'learningRate',
    ]);
    expect(live('deepinversion')).toEqual([
      'synthesisLearningRate',
      'featureWeight',
      'tvWeight',
      'l2Weight',
      'competitionWeight',
      'temperature',
      'studentLearningRate',
    ]);
    expect(live('generative-mm')).toEqual([
      'generatorLearningRate',
      'studentLearningRate',
      'momentWeight',
      'tvWeight',
      'l2Weight',
    ]);
  });
});
