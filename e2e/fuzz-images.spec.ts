// Fuzzing image decoding in Chromium: uploaded class folders of images (and zips of them) go to
// a run worker of the app's own build as `inspect-images` tasks, which decode every image with
// createImageBitmap + OffscreenCanvas (src/worker/images.ts). Every input must end in a result
// or in a typed, readable error (a ClabError's JSON: code, message and hint), never in another
// error, never past the time limit, never with the worker or the page crashing.
//
// The worker is the page's own worker script, started a second time by the spec, so the page's
// store is untouched. Seeds: PNG, JPEG and WebP encoded by the page's canvas, BMP and GIF written
// by scripts/fuzz/images.ts, decompression bombs; fast-check mutates them (seeded, so an input
// is rebuilt from the seed and its index). CI runs 500 inputs; a long pass:
//   FUZZ_IMAGES_COUNT=100000 FUZZ_SEED=20261128 npx playwright test e2e/fuzz-images.spec.ts
// (`npm run fuzz:images`), and FUZZ_AT=<index> reruns one input.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect, test, type Browser, type Page } from '@playwright/test';
import {
  buildImageFiles,
  describeInput,
  formatImageReport,
  imagePassFailed,
  imageRecipes,
  imageSeeds,
  ImagePass,
  inputGroup,
  pictures,
  type FuzzFile,
  type PageOutcome,
  type Picture,
} from '../scripts/fuzz/images';
import { describeRecipe, MEMORY_CAP_BYTES } from '../scripts/fuzz/report';

const COUNT = Number(process.env.FUZZ_IMAGES_COUNT ?? 500);
const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const AT = process.env.FUZZ_AT === undefined ? undefined : Number(process.env.FUZZ_AT);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 10_000);
/** Inputs per page.evaluate: one round trip for many inputs, each still timed alone. */
const BATCH = 100;

/** A path's worker script: `/assets/worker-<hash>.js` in the build, `/src/worker/worker.ts` in dev. */
const isRunWorker = (url: string) => /\/worker(-[\w-]+)?\.(js|ts)$/.test(new URL(url).pathname);

/** PNG, JPEG and WebP of each picture, encoded by the page's OffscreenCanvas. */
async function encodeInPage(page: Page, pics: Picture[]) {
  return page.evaluate(
    (pics) =>
      Promise.all(
        pics.map(async (p) => {
          const canvas = new OffscreenCanvas(p.width, p.height);
          const ctx = canvas.getContext('2d')!;
          ctx.putImageData(new ImageData(new Uint8ClampedArray(p.rgba), p.width, p.height), 0, 0);
          const encode = async (type: string) => {
            const blob = await canvas.convertToBlob({ type, quality: 0.9 });
            if (blob.type !== type) throw new Error(`The canvas wrote ${blob.type}, not ${type}`);
            return new Uint8Array(await blob.arrayBuffer());
          };
          return {
            png: await encode('image/png'),
            jpeg: await encode('image/jpeg'),
            webp: await encode('image/webp'),
          };
        }),
      ),
    pics,
  );
}

/**
 * Runs inputs one after another in the page, each an `inspect-images` task to the fuzz worker
 * (started on first use and after a hang or crash), and says how each ended. Runs in the page:
 * it may use nothing from this module.
 */
function runInPage({
  url,
  inputs,
  limitMs,
}: {
  url: string;
  inputs: { path: string; bytes: Uint8Array }[][];
  limitMs: number;
}): Promise<PageOutcome[]> {
  /** The worker's answer to a task (protocol.ts: task-done or task-failed). */
  interface Answer {
    kind: 'task-done' | 'task-failed';
    id: string;
    error?: { name: string; message: string; hint?: string; code?: string };
  }
  interface State {
    worker?: Worker;
    requests: number;
    onAnswer?: (message: Answer) => void;
    onCrash?: (reason: string) => void;
  }
  const g = globalThis as unknown as { clabFuzz?: State };
  const state = (g.clabFuzz ??= { requests: 0 });

  const ask = (files: { path: string; file: File }[], limit: number) =>
    new Promise<PageOutcome>((resolve) => {
      const id = `fuzz-${++state.requests}`;
      const start = performance.now();
      const ms = () => performance.now() - start;
      const timer = setTimeout(() => resolve({ kind: 'hang', ms: ms() }), limit);
      state.onAnswer = (message) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        resolve(
          message.kind === 'task-done'
            ? { kind: 'done', ms: ms() }
            : { kind: 'failed', ms: ms(), error: message.error! },
        );
      };
      state.onCrash = (reason) => {
        clearTimeout(timer);
        resolve({ kind: 'crash', ms: ms(), reason });
      };
      state.worker!.postMessage({ kind: 'task', id, task: { kind: 'inspect-images', files } });
    });

  const spawn = async () => {
    const worker = new Worker(url, { type: 'module', name: 'clab-fuzz' });
    state.worker = worker;
    worker.onmessage = (e: MessageEvent<Answer>) => state.onAnswer?.(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      state.onCrash?.(`worker error event: ${e.message || 'the worker stopped'}`);
    };
    worker.onmessageerror = () => state.onCrash?.('a message from the worker could not be read');
    // An upload of nothing is refused: the answer says the worker loaded and runs.
    const ping = await ask([], 60_000);
    if (ping.kind !== 'failed') throw new Error(`The fuzz worker did not start: ${ping.kind}`);
  };

  return (async () => {
    const outcomes: PageOutcome[] = [];
    for (const input of inputs) {
      if (!state.worker) await spawn();
      const files = input.map((f) => ({
        path: f.path,
        file: new File([f.bytes as Uint8Array<ArrayBuffer>], f.path.split('/').at(-1)!),
      }));
      const outcome = await ask(files, limitMs);
      if (outcome.kind === 'hang' || outcome.kind === 'crash') {
        state.worker!.terminate();
        state.worker = undefined;
      }
      outcomes.push(outcome);
    }
    return outcomes;
  })();
}

/**
 * The largest resident set (VmHWM: the peak since it started) of any of the browser's
 * processes, and that process's type (the page and its workers run in a 'renderer'), on Linux.
 */
async function peakRss(browser: Browser): Promise<{ bytes: number; process: string } | undefined> {
  try {
    const cdp = await browser.newBrowserCDPSession();
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
      processInfo: { id: number; type: string }[];
    };
    await cdp.detach();
    const peaks = processInfo.map(({ id, type }) => {
      const status = readFileSync(`/proc/${id}/status`, 'utf8');
      return { bytes: Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024, process: type };
    });
    return peaks.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  } catch {
    return undefined;
  }
}

// A trace would hold every input's bytes (every page.evaluate's argument) of a long pass; the
// report and FUZZ_AT are what a failure is followed up with.
test.use({ trace: 'off' });

test('fuzzed images end in a decoded image set or a typed, readable error', async ({
  page,
  browser,
}) => {
  // About 6 ms an input on 2 cores; generous for slow machines and the long pass.
  test.setTimeout(60_000 + COUNT * 60);
  const started = performance.now();
  const workerSeen = page.waitForEvent('worker', { predicate: (w) => isRunWorker(w.url()) });
  await page.goto('/');
  const url = (await workerSeen).url();

  const pics = pictures();
  const seeds = imageSeeds(pics, await encodeInPage(page, pics));

  // Every seed alone (the bombs too): the valid ones must decode, or the fuzzer mutates
  // files that were never readable.
  let current = page;
  const run = async (inputs: FuzzFile[][]): Promise<PageOutcome[]> => {
    try {
      return await current.evaluate(runInPage, { url, inputs, limitMs: TIME_LIMIT_MS });
    } catch (e) {
      // The page crashed (as a renderer out of memory would): start a new one, then find the
      // input that did it by running the batch's inputs one at a time.
      await current.close().catch(() => undefined);
      current = await page.context().newPage();
      await current.goto('/');
      if (inputs.length === 1) {
        return [{ kind: 'crash', ms: NaN, reason: `the page crashed: ${String(e)}` }];
      }
      const outcomes: PageOutcome[] = [];
      for (const input of inputs) outcomes.push(...(await run([input])));
      return outcomes;
    }
  };
  const companion = seeds.find((s) => s.format === 'png' && !s.bomb)!;
  const seedOutcomes = await run(
    seeds.map((s) => [
      { path: `seeds/0/seed.${s.format}`, bytes: s.bytes },
      { path: 'seeds/1/companion.png', bytes: companion.bytes },
    ]),
  );
  const seedLines = seeds.map((s, i) => {
    const o = seedOutcomes[i];
    const why = o.kind === 'failed' ? ` (${o.error.code ?? o.error.name}: ${o.error.message})` : '';
    return `${s.name}: ${o.kind}${why}, ${o.ms.toFixed(0)} ms`;
  });
  const seedReport = seedLines.join('\n');
  console.log(`Seeds:\n${seedReport}`);
  seeds.forEach((s, i) => {
    if (!s.bomb)
      expect(seedOutcomes[i].kind, `${s.name} does not decode:\n${seedReport}`).toBe('done');
  });

  // The fuzzed inputs, drawn from the seed in Node and run in batches.
  const recipes = fc.sample(imageRecipes, {
    seed: SEED,
    numRuns: AT === undefined ? COUNT : AT + 1,
  });
  if (AT !== undefined) {
    console.log(
      `Input #${AT}: ${describeInput(recipes[AT], seeds)}\n${describeRecipe(recipes[AT])}`,
    );
  }
  const pass = new ImagePass(SEED);
  const fuzzStarted = performance.now();
  const indices = AT === undefined ? recipes.map((_, i) => i) : [AT];
  for (let b = 0; b < indices.length; b += BATCH) {
    const batch = indices.slice(b, b + BATCH);
    const outcomes = await run(batch.map((i) => buildImageFiles(recipes[i], seeds)));
    batch.forEach((i, k) => pass.add(i, inputGroup(recipes[i], seeds), recipes[i], outcomes[k]));
    if ((b / BATCH) % 100 === 99) console.log(`${b + batch.length} inputs done`);
  }
  const rss = await peakRss(browser);
  const report = pass.report((performance.now() - fuzzStarted) / 1000, rss?.bytes, rss?.process);
  const summary = formatImageReport(report);
  console.log(
    `${summary}\n(${((performance.now() - started) / 1000).toFixed(0)} s with the page and seeds)`,
  );

  expect(imagePassFailed(report), summary).toBe(false);
  if (rss !== undefined) expect(rss.bytes, summary).toBeLessThan(MEMORY_CAP_BYTES);
  if (AT === undefined) {
    // Both ends reached: some inputs decode, some are refused.
    const decoded = report.groups.reduce((n, g) => n + g.decoded, 0);
    const refused = report.groups.reduce(
      (n, g) => n + Object.values(g.refused).reduce((a, b) => a + b, 0),
      0,
    );
    expect(decoded, summary).toBeGreaterThan(0);
    expect(refused, summary).toBeGreaterThan(0);
  }
});
