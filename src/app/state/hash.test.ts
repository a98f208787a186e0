import { describe, expect, it } from 'vitest';
import { defaultConfig } from './config';
import { CATALOG } from './fixtures';
import { configFromHash, configToHash } from './hash';

describe('URL hash', () => {
  it('round-trips a configuration with its hidden controls', () => {
    const config = {
      ...defaultConfig(CATALOG),
      seed: 7,
      steps: 42,
      testExamples: 500,
      params: { temperature: 8, batchSize: 32 },
    };
    const hash = configToHash(config, new Set(['teacher', 'temperature']));
    const back = configFromHash(`#${hash}`, CATALOG);
    expect(back.config).toEqual(config);
    expect([...back.hidden].sort()).toEqual(['teacher', 'temperature']);
  });

  it('falls back to defaults for what it lacks or gets wrong', () => {
    const { config } = configFromHash(
      '#method=prune&backend=quantum&seed=x&p.global=true',
      CATALOG,
    );
    expect(config).toMatchObject({
      teacher: 'lenet5-mnist',
      method: 'prune',
      student: 'copy',
      steps: 500,
      backend: 'auto',
      seed: 1,
      params: { schedule: 'cubic', global: true },
    });
  });

  it('takes the dataset of the teacher it names', () => {
    expect(configFromHash('#teacher=bnnet-fashion', CATALOG).config.dataset).toBe('fashion');
  });
});
