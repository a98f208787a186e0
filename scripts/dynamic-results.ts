/**
 * The runs behind docs/results/dynamic-and-scratch.md, and the tables from them.
 *
 *   npx tsx scripts/dynamic-results.ts run --dataset mnist --seeds 1,2,3 --steps 600 --out runs.jsonl
 *     [--arms dynamic,static,scratch] [--pruned-ratio R] [--attacks linf|all]
 *   npx tsx scripts/dynamic-results.ts table runs.jsonl [more.jsonl …]
 *
 * `run`, per seed on the BN-VGG teacher of the dataset: `dynamic-prune`; then, at the mean
 * FLOPs per input it reached, static channel pruning (`prune-from-scratch --from pretrained`:
 * gates learnt on the teacher's weights, the same global budget search, fine-tuned) and pruning
 * from scratch (`--from scratch`), each with the same step budget. `--arms` picks some (without
 * the dynamic arm `--pruned-ratio` gives the budget); `--attacks all` adds BIM, DeepFool and C&W
 * to the dynamic run's analysis. One JSON line per run is appended as it finishes, so datasets can run in parallel processes and a stopped run resumes.
 * `table` prints the Markdown tables: mean ± std over seeds and the paired differences.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadDataset, type DatasetId } from '../src/core/data';
import { markdownTable, meanStd } from '../src/core/experiments';
import { methodById } from '../src/core/methods/registry';
import { executeRun, type RunResult } from '../src/core/methods/runner';
import { initBackend } from '../src/core/runtime/backend';
import { nodeThreadedWasm } from '../src/core/runtime/wasm-threads-node';
import { disposeGraph } from '../src/core/graph';
import { loadTeacher } from '../src/core/zoo';

interface Line {
  dataset: string;
  seed: number;
  arm: 'dynamic' | 'static' | 'scratch';
  result: RunResult;
}

const TEACHER: Record<string, string> = { mnist: 'bnnet-mnist', fashion: 'bnnet-fashion' };

function arg(args: string[], name: string, fallback?: string): string {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1] !== undefined) return args[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

async function run(args: string[]) {
  const dataset = arg(args, 'dataset') as DatasetId;
  const seeds = arg(args, 'seeds', '1,2,3').split(',').map(Number);
  const steps = Number(arg(args, 'steps', '600'));
  const out = arg(args, 'out');
  const threads = Number(arg(args, 'threads', String(availableParallelism())));
  const arms = arg(args, 'arms', 'dynamic,static,scratch').split(',');
  const attacks = arg(args, 'attacks', 'linf');
  // Without the dynamic arm, the static and scratch arms need the budget given.
  const fixedRatio = args.includes('--pruned-ratio')
    ? Number(arg(args, 'pruned-ratio'))
    : undefined;
  if (!arms.includes('dynamic') && fixedRatio === undefined) {
    throw new Error('--arms without dynamic needs --pruned-ratio R (the FLOPs fraction to remove)');
  }
  const backend = await initBackend(
    'wasm',
    threads === 1 ? {} : { wasmThreads: { threads, source: nodeThreadedWasm() } },
  );
  const done = existsSync(out) ? readLines([out]) : [];
  const teacher = await loadTeacher(TEACHER[dataset]);
  const [train, test] = await Promise.all([
    loadDataset(dataset, 'train'),
    loadDataset(dataset, 'test'),
  ]);
  const once = async (seed: number, arm: Line['arm'], params: Record<string, unknown>) => {
    const found = done.find((l) => l.dataset === dataset && l.seed === seed && l.arm === arm);
    if (found) return found.result;
    const method = methodById(arm === 'dynamic' ? 'dynamic-prune' : 'prune-from-scratch')!;
    const { result, student } = await executeRun(
      { method, params, teacher, train, test, seed, steps, backend },
      () => {},
    );
    disposeGraph(student);
    appendFileSync(out, `${JSON.stringify({ dataset, seed, arm, result })}\n`);
    process.stderr.write(
      `${dataset} seed ${seed} ${arm}: ${(100 * result.student.accuracy).toFixed(2)} % at ` +
        `${(100 * result.metrics['flops-ratio']).toFixed(1)} % FLOPs, ${(result.wallTimeMs / 60000).toFixed(1)} min\n`,
    );
    return result;
  };
  for (const seed of seeds) {
    const prunedRatio =
      fixedRatio ?? 1 - (await once(seed, 'dynamic', { attacks })).metrics['flops-ratio'];
    if (arms.includes('static')) await once(seed, 'static', { from: 'pretrained', prunedRatio });
    if (arms.includes('scratch')) await once(seed, 'scratch', { from: 'scratch', prunedRatio });
  }
}

function readLines(files: string[]): Line[] {
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Line),
  );
}

const pct = (v: number[]) => {
  const { mean, std } = meanStd(v.map((x) => 100 * x));
  return `${mean.toFixed(2)} ± ${std.toFixed(2)}`;
};

function table(files: string[]) {
  const lines = readLines(files);
  const datasets = [...new Set(lines.map((l) => l.dataset))];
  const print = (rows: string[]) => console.log(`${rows.join('\n')}\n`);
  for (const dataset of datasets) {
    const of = (arm: Line['arm']) =>
      lines.filter((l) => l.dataset === dataset && l.arm === arm).sort((a, b) => a.seed - b.seed);
    const arms = (['dynamic', 'static', 'scratch'] as const).map((arm) => ({ arm, runs: of(arm) }));
    const seeds = [...new Set(lines.filter((l) => l.dataset === dataset).map((l) => l.seed))];
    console.log(`### ${dataset} (teacher ${TEACHER[dataset]}; seeds ${seeds.join(', ')})\n`);
    print(
      markdownTable(
        ['network', 'test accuracy %', 'FLOPs % of teacher (mean per input)', 'wall time (min)'],
        arms
          .filter((a) => a.runs.length)
          .map(({ arm, runs }) => [
            {
              dynamic: 'dynamic pruning (per-input masks)',
              static: 'static channel pruning (gates on the teacher, fine-tuned)',
              scratch: 'pruning from scratch (gates on random weights, trained anew)',
            }[arm],
            pct(runs.map((r) => r.result.student.accuracy)),
            pct(runs.map((r) => r.result.metrics['flops-ratio'])),
            meanStd(runs.map((r) => r.result.wallTimeMs / 60000)).mean.toFixed(1),
          ]),
      ),
    );
    const paired = (a: Line['arm'], b: Line['arm']) => {
      const d = of(a).flatMap((r) => {
        const other = of(b).find((o) => o.seed === r.seed);
        return other ? [r.result.student.accuracy - other.result.student.accuracy] : [];
      });
      return d.length
        ? `${pct(d)} (n = ${d.length}; per seed ${d.map((x) => (100 * x).toFixed(2)).join(', ')})`
        : '–';
    };
    const differences = (
      [
        ['dynamic − static', 'dynamic', 'static'],
        ['scratch − static (pretrained)', 'scratch', 'static'],
      ] as const
    )
      .filter(([, a, b]) => of(a).length && of(b).length)
      .map(([name, a, b]) => [name, paired(a, b)]);
    if (differences.length) {
      print(
        markdownTable(
          ['paired difference (accuracy points, same seed)', 'mean ± std'],
          differences,
        ),
      );
    }
    const dyn = of('dynamic');
    if (!dyn.length) continue;
    const m = (key: string) => dyn.map((r) => r.result.metrics[key]);
    const auc = (v: number[]) => {
      const { mean, std } = meanStd(v);
      return `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
    };
    const attacks = ATTACKS.filter((a) =>
      dyn.every((r) => `attack-success/${a.id}` in r.result.metrics),
    );
    const detectors = DETECTORS.filter((d) =>
      dyn.every((r) => `${d.prefix}/fgsm/decision` in r.result.metrics),
    );
    print(
      markdownTable(
        [
          'attack',
          'success rate %',
          ...detectors.flatMap((d) => [
            `${d.name}: AUC on decision features`,
            `on softmax outputs`,
            `paired difference`,
          ]),
        ],
        attacks.map((attack) => [
          attack.name,
          pct(m(`attack-success/${attack.id}`)),
          ...detectors.flatMap((d) => {
            const features = m(`${d.prefix}/${attack.id}/decision`);
            const softmax = m(`${d.prefix}/${attack.id}/softmax`);
            return [auc(features), auc(softmax), auc(features.map((f, i) => f - softmax[i]))];
          }),
        ]),
      ),
    );
  }
}

const ATTACKS = [
  { id: 'fgsm', name: 'FGSM' },
  { id: 'pgd', name: 'PGD' },
  { id: 'bim', name: 'BIM' },
  { id: 'deepfool', name: 'DeepFool (L2)' },
  { id: 'cw', name: 'C&W (L2)' },
];

/** The analysis's detectors by the prefix of their metric keys. */
const DETECTORS = [
  { prefix: 'auc', name: 'logistic regression' },
  { prefix: 'auc-forest', name: 'random forest' },
];

const [command, ...rest] = process.argv.slice(2);
if (command === 'run') await run(rest);
else if (command === 'table') table(rest);
else {
  console.error(
    'usage: dynamic-results.ts run --dataset mnist|fashion --out FILE [--seeds 1,2,3] [--steps 600] [--threads N] [--arms dynamic,static,scratch] [--pruned-ratio R] [--attacks linf|all]\n       dynamic-results.ts table FILE…',
  );
  process.exit(2);
}
