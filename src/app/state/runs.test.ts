import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../worker/protocol';
import { CONFIG } from './fixtures';
import { applyEvents, applyMessage, etaMs, interrupt, keyMetric, newRun } from './runs';

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
});
