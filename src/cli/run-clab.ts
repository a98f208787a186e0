// The CLI as a user runs it, for the CLI's tests: a child process through bin/clab.mjs.
import { execFile } from 'node:child_process';
import { expect } from 'vitest';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export function clab(...args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/clab.mjs', ...args],
      { timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error.code as number | undefined) ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A failure is a non-zero exit with exactly one line that says what was wrong. */
export function expectOneLineFailure(out: Outcome, pattern: RegExp) {
  expect(out.code).not.toBe(0);
  expect(out.stdout).toBe('');
  const lines = out.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^clab: /);
  expect(lines[0]).toMatch(pattern);
}
