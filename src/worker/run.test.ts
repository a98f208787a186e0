import { describe, expect, it } from 'vitest';
import { methodById } from '../core/methods/registry';
import { liveChangeRefusal, type RunJob } from './run';

const job = (progress?: RunJob['progress']): RunJob => ({
  id: 'r1',
  config: {
    teacher: 'bnnet-mnist',
    dataset: 'mnist',
    student: 'copy',
    method: 'dynamic-prune',
    params: {},
    seed: 1,
    steps: 200,
    testExamples: 0,
    backend: 'wasm',
  },
  stop: false,
  paused: false,
  progress,
});

describe('live parameter changes asked of a running job', () => {
  const method = methodById('dynamic-prune');

  it('are taken while steps are left, checked as at the start', () => {
    expect(
      liveChangeRefusal(job({ step: 120, total: 200 }), method, { lambda: 2 }),
    ).toBeUndefined();
    expect(liveChangeRefusal(job(), method, { lambda: 2 })).toBeUndefined();
    expect(liveChangeRefusal(job({ step: 120, total: 200 }), method, { batchSize: 8 })).toMatch(
      /'batchSize' cannot change/,
    );
  });

  it('are refused once the last step is done (the analysis after it), and when no run goes', () => {
    expect(liveChangeRefusal(job({ step: 200, total: 200 }), method, { lambda: 2 })).toMatch(
      /training is over \(step 200 of 200\)/,
    );
    expect(liveChangeRefusal(undefined, method, { lambda: 2 })).toMatch(/not going/);
  });
});
