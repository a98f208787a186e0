import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../worker/protocol';
import { CATALOG, CONFIG, EMBEDDING, ROC } from './fixtures';
import {
  applyEvents,
  applyMessage,
  classLabels,
  configWithChanges,
  etaMs,
  interrupt,
  keyMetric,
  newRun,
  resumability,
  resumedRun,
  paramsNow,
  type RunRecord,
} from './runs';

describe('run records', () => {
  it('fold events into series, snapshots and progress, sharing what did not change', () => {
    const run = newRun('r1', CONFIG, 'KD', 0);
    const events: RunEvent[] = [
      { kind: 'scalar', key: 'loss', step: 25, value: 2 },
      { kind: 'scalar', key: 'loss', step: 50, value: 1 },
      { kind: 'layers', key: 'error', step: 50, labels: ['conv1', 'fc1'], values: [0.1, 0.2] },
      { kind: 'progress', step: 50, total: 100 },
      { kind: 'log', level: 'warn', message: 'hm' },
    ];
    const next = applyEvents(run, events, 1000);
    expect(next.scalars.loss.map((p) => p.value)).toEqual([2, 1]);
    expect(next.layers.error.values).toEqual([0.1, 0.2]);
    expect(next.progress).toEqual({ step: 50, total: 100, phase: undefined });
    expect(next.logs).toEqual([{ level: 'warn', message: 'hm' }]);
    expect(next.images).toBe(run.images);
    const later = applyEvents(
      next,
      [{ kind: 'scalar', key: 'accuracy/test', step: 75, value: 0.9 }],
      2000,
    );
    expect(later.scalars.loss).toBe(next.scalars.loss);
    expect(later.layers).toBe(next.layers);
  });

  it('mark where each named phase began, once', () => {
    const progress = (step: number, phase?: string): RunEvent => ({
      kind: 'progress',
      step,
      total: 100,
      phase,
    });
    const run = applyEvents(
      newRun('r1', CONFIG, 'CD', 0),
      [
        progress(0, 'loading teacher and data'),
        progress(1, 'conv1'),
        progress(20, 'conv1'),
        progress(21, 'conv2'),
      ],
      0,
    );
    const next = applyEvents(run, [progress(40, 'fine-tune'), progress(41, 'fine-tune')], 0);
    expect(next.stages).toEqual([
      { step: 1, label: 'conv1' },
      { step: 21, label: 'conv2' },
      { step: 40, label: 'fine-tune' },
    ]);
    expect(run.stages).toHaveLength(2);
    // Phases that begin at one step share one marker; those after the last step mark nothing.
    const analysed = applyEvents(
      next,
      [progress(60, 'decisions'), progress(60, 'gates'), progress(60, 'decisions')],
      0,
    );
    expect(analysed.stages!.at(-1)).toEqual({ step: 60, label: 'decisions · gates' });
    expect(applyEvents(analysed, [progress(100, 'attacks')], 0).stages).toEqual(analysed.stages);
  });

  it('mark live parameter changes and keep them as the schedule its recipe replays', () => {
    const planned = { ...CONFIG, schedule: [{ step: 90, params: { temperature: 2 } }] };
    const run = newRun('r1', planned, 'KD', 0);
    const next = applyEvents(
      run,
      [
        {
          kind: 'params',
          step: 40,
          params: { learningRate: 0.0001 },
          previous: { learningRate: 0.001 },
          label: 'learning rate 0.001 → 0.0001',
        },
      ],
      0,
    );
    expect(next.stages).toEqual([{ step: 40, label: 'learning rate 0.001 → 0.0001' }]);
    expect(next.schedule).toEqual([{ step: 40, params: { learningRate: 0.0001 } }]);
    expect(paramsNow(next)).toEqual({ ...CONFIG.params, learningRate: 0.0001 });
    // Made changes, then the planned ones not reached yet.
    expect(configWithChanges(next).schedule).toEqual([
      { step: 40, params: { learningRate: 0.0001 } },
      { step: 90, params: { temperature: 2 } },
    ]);
    expect(configWithChanges(run)).toBe(run.config);
  });

  it('keep a checkpointed student until the finished one replaces it', () => {
    const files = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(4) };
    const run = applyMessage(
      newRun('r1', CONFIG, 'KD', 0),
      { kind: 'student-checkpoint', id: 'r1', step: 250, student: files },
      1,
    );
    expect(run).toMatchObject({ hasStudent: true, checkpointStep: 250 });
    expect(interrupt({ ...run, status: 'running' })).toMatchObject({ checkpointStep: 250 });
    const result = { status: 'done' } as never;
    const done = applyMessage(run, { kind: 'finished', id: 'r1', result, student: files }, 2);
    expect(done.hasStudent).toBe(true);
    expect(done.checkpointStep).toBeUndefined();
  });

  it("keep a stopped run's student as a checkpoint of the step it stopped at", () => {
    const files = { modelJson: '{}', shardName: 'w.bin', weightData: new ArrayBuffer(4) };
    const result = { status: 'stopped', stoppedAtStep: 130 } as never;
    const run = { ...newRun('r1', CONFIG, 'KD', 0), status: 'running' as const };
    const stopped = applyMessage(run, { kind: 'finished', id: 'r1', result, student: files }, 2);
    expect(stopped).toMatchObject({ status: 'stopped', checkpointStep: 130, hasStudent: true });
  });

  it('go on from a checkpoint: what came after it is dropped, a marker says where it resumed', () => {
    const [kd, prune] = CATALOG.methods;
    let run = applyEvents(
      { ...newRun('r1', CONFIG, 'KD', 0), status: 'running' },
      [
        { kind: 'scalar', key: 'accuracy/test', step: 0, value: 0.1 },
        { kind: 'scalar', key: 'loss', step: 25, value: 2 },
        { kind: 'scalar', key: 'accuracy/test', step: 50, value: 0.8 },
        { kind: 'scalar', key: 'loss', step: 50, value: 1 },
        { kind: 'scalar', key: 'loss', step: 75, value: 0.9 },
        { kind: 'scalar', key: 'late', step: 75, value: 3 },
        { kind: 'layers', key: 'norms', step: 75, labels: ['conv1'], values: [1] },
        { kind: 'progress', step: 60, total: 100, phase: 'fine-tune' },
        { ...ROC, step: 40 },
      ],
      1000,
    );
    run = applyMessage(
      run,
      { kind: 'student-checkpoint', id: 'r1', step: 50, student: {} as never },
      1001,
    );
    // Going on, it cannot resume; once cut off, it can from step 50.
    expect(resumability(run, kd)).toBeUndefined();
    run = interrupt(run);
    expect(resumability(run, kd)).toEqual({ step: 50 });
    expect(resumability(run, { ...kd, resume: prune.resume })).toEqual({
      reason: 'Its masks are not checkpointed.',
    });

    const resumed = resumedRun(run);
    expect(resumed).toMatchObject({ status: 'queued', resumedFrom: 50, checkpointStep: 50 });
    expect(resumed.scalars).toEqual({
      'accuracy/test': [
        { step: 0, value: 0.1 },
        { step: 50, value: 0.8 },
      ],
      loss: [
        { step: 25, value: 2 },
        { step: 50, value: 1 },
      ],
    });
    expect(resumed.layers).toEqual({});
    expect(resumed.curves).toEqual({ 'roc/fgsm': { ...ROC, step: 40 } });
    expect(resumed.stages).toEqual([{ step: 50, label: 'resumed from step 50' }]);
    expect(resumed.progress).toBeUndefined();
    expect(resumed.logs.at(-1)?.message).toMatch(/^Resumed from the checkpoint at step 50/);
    // The resumed attempt's events continue the curves from step 51 on.
    const next = applyEvents(resumed, [{ kind: 'scalar', key: 'loss', step: 75, value: 0.7 }], 2);
    expect(next.scalars.loss.map((p) => p.step)).toEqual([25, 50, 75]);
    expect(resumability({ ...run, status: 'done' }, kd)).toBeUndefined();
    expect(resumability({ ...run, checkpointStep: 0 }, kd)).toEqual({
      reason: 'nothing had been trained yet.',
    });
  });

  it('estimate the time left from the training rate', () => {
    let run = newRun('r1', CONFIG, 'KD', 0);
    run = applyEvents(run, [{ kind: 'progress', step: 10, total: 100 }], 1000);
    expect(etaMs(run)).toBeUndefined();
    run = applyEvents(run, [{ kind: 'progress', step: 20, total: 100 }], 2000);
    expect(etaMs(run)).toBe(8000);
  });

  it('follow the worker through a run to its result', () => {
    let run = newRun('r1', CONFIG, 'KD', 0);
    run = applyMessage(run, { kind: 'started', id: 'r1' }, 5);
    expect(run.status).toBe('running');
    run = applyMessage(run, { kind: 'paused', id: 'r1' }, 6);
    expect(run.status).toBe('paused');
    run = applyMessage(
      run,
      { kind: 'failed', id: 'r1', error: { name: 'DivergenceError', message: 'NaN' } },
      7,
    );
    expect(run).toMatchObject({ status: 'failed', endedAt: 7, error: { message: 'NaN' } });
  });

  it('interrupt only runs that were still active', () => {
    const running = { ...newRun('r1', CONFIG, 'KD', 0), status: 'running' as const };
    expect(interrupt(running).status).toBe('interrupted');
    const done = { ...running, status: 'done' as const };
    expect(interrupt(done)).toBe(done);
  });

  it('show accuracy before loss as the key metric', () => {
    let run = newRun('r1', CONFIG, 'KD', 0);
    expect(keyMetric(run)).toBeUndefined();
    run = applyEvents(run, [{ kind: 'scalar', key: 'loss', step: 1, value: 0.5 }], 0);
    expect(keyMetric(run)).toEqual({ label: 'loss', value: '0.5' });
    run = applyEvents(run, [{ kind: 'scalar', key: 'accuracy/test', step: 1, value: 0.9712 }], 0);
    expect(keyMetric(run)).toEqual({ label: 'acc', value: '97.12%' });
  });

  it('keep the latest curve per key, also in a run saved before curves existed', () => {
    const { curves, ...old } = newRun('r1', CONFIG, 'KD', 0);
    expect(curves).toBeUndefined();
    const later = { ...ROC, step: 9 };
    const run = applyEvents(old as RunRecord, [ROC, EMBEDDING, later], 0);
    expect(run.curves).toEqual({ 'roc/fgsm': later });
    expect(run.embeddings['decision-umap']).toBe(EMBEDDING);
    const next = applyEvents(run, [{ kind: 'scalar', key: 'loss', step: 1, value: 1 }], 0);
    expect(next.curves).toBe(run.curves);
  });

  it('name classes by the test set, numbers as digits on MNIST', () => {
    const stats = { name: 'm', nodes: [], params: 0, flops: 0, bytes: 0 };
    const run = applyMessage(
      newRun('r1', CONFIG, 'KD', 0),
      { kind: 'models', id: 'r1', teacher: stats, student: stats, classNames: ['0', '1'] },
      0,
    );
    expect(classLabels(run, 3)).toEqual(['digit 0', 'digit 1', 'digit 2']);
    const fashion = { ...run, config: { ...CONFIG, dataset: 'fashion' as const } };
    expect(classLabels({ ...fashion, classNames: ['T-shirt/top'] }, 2)).toEqual([
      'T-shirt/top',
      'class 1',
    ]);
    // An older run has no names: numbers.
    expect(classLabels({ config: CONFIG }, 1)).toEqual(['digit 0']);
  });
});
