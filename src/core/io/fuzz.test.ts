// A short seeded fuzz pass over the importers (the long one is `npm run fuzz -- --count N`):
// mutated model files, ONNX files, zips and random bytes end in a graph that runs, an image
// set, or a readable ClabError; nothing else, nothing slow, no leaked tensors.
import { beforeAll, expect, it } from 'vitest';
import { formatReport, fuzzPass, passed } from '../../../scripts/fuzz/harness';
import { fuzzTargets, type FuzzTarget } from '../../../scripts/fuzz/targets';
import { initBackend } from '../runtime/backend';

const INPUTS_PER_TARGET = 200;
const SEED = 20261128;

let targets: FuzzTarget[];

beforeAll(async () => {
  await initBackend('wasm');
  targets = await fuzzTargets();
});

it(`${INPUTS_PER_TARGET} fuzzed inputs per importer end in a model or a typed, readable error`, async () => {
  const report = await fuzzPass(targets, {
    count: INPUTS_PER_TARGET,
    seed: SEED,
    timeLimitMs: 5000,
  });
  const summary = formatReport(report);
  expect(passed(report), summary).toBe(true);
  // Each target reached both ends: some inputs import, most are refused.
  for (const t of report.targets) {
    expect(t.inputs, t.name).toBe(INPUTS_PER_TARGET);
    expect(Object.keys(t.refused).length, `${t.name} refuses nothing:\n${summary}`).toBeGreaterThan(
      0,
    );
  }
});
