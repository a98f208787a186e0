// Running a downloaded recipe with the CLI, as a user would, and what must agree with the page.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Result {
  method: string;
  seed: number;
  steps: number;
  dataset: string;
  backend: string;
  status: string;
  teacher: { name: string; accuracy: number; params: number; flops: number; bytes: number };
  student: { name: string; accuracy: number; params: number; flops: number; bytes: number };
  compressionRatio: number;
  metrics: Record<string, number>;
}

/** `clab run --recipe FILE --json` in Node, as a user would run the downloaded file. */
export function clabRecipe(
  path: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/clab.mjs', 'run', '--recipe', path, '--json'],
      { timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A downloaded file written where the CLI can read it; its path. */
export async function saveForCli(name: string, text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'clab-page-recipe-')), name);
  await writeFile(path, text);
  return path;
}

/** What must agree between the page's run and the CLI's: the RunResult but its wall time. */
export const finalMetrics = ({
  wallTimeMs: _t,
  recipe: _r,
  estimationErrors: _e,
  ...r
}: Result & { wallTimeMs: number; recipe?: unknown; estimationErrors?: unknown }) => r;
