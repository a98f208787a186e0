// `npm run fuzz -- --count N [--seed S] [--only TARGET] [--at INDEX]`: a long fuzz pass over the
// importers (N inputs in all, shared out over the targets); prints the counts per target and
// the first failures, each with the command that repeats it. Exits 1 if the property failed.
// Image decoding needs Chromium and is fuzzed by a Playwright spec instead:
//   FUZZ_IMAGES_COUNT=N FUZZ_SEED=S npm run fuzz:images   (e2e/fuzz-images.spec.ts)
import { parseArgs } from 'node:util';
import { initBackend } from '../../src/core/runtime/backend';
import { formatReport, fuzzPass, passed } from './harness';
import { fuzzTargets } from './targets';

async function main() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000' },
      seed: { type: 'string' },
      only: { type: 'string' },
      at: { type: 'string' },
    },
  });
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  await initBackend('wasm');
  const targets = (await fuzzTargets()).filter((t) => !values.only || t.name === values.only);
  if (targets.length === 0) throw new Error(`No fuzz target is named '${values.only}'`);
  const count = Math.ceil(Number(values.count) / targets.length);
  console.log(
    `Fuzzing ${targets.map((t) => t.name).join(', ')}: ${count} inputs each, seed ${seed}`,
  );
  const report = await fuzzPass(targets, {
    count,
    seed,
    at: values.at === undefined ? undefined : Number(values.at),
    onTarget: (t) => console.log(`  ${t.name} done: ${t.inputs} inputs`),
  });
  console.log(formatReport(report));
  console.log(
    'Image decoding needs Chromium: `npm run fuzz:images` fuzzes it (e2e/fuzz-images.spec.ts).',
  );
  process.exitCode = passed(report) ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
