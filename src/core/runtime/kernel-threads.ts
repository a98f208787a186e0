/**
 * Helper threads for the project's own WASM kernels (wasm/conv.ts). Each helper instantiates the
 * kernel module on the backend's shared memory and waits on a control block. A call writes its
 * work as chunks (one argument list each: a band of rows, a block of channels), wakes the
 * helpers and takes chunks itself; every thread claims the next unclaimed chunk until none is
 * left, so a helper that wakes late or runs slower simply does fewer (on a 2-core VM a helper's
 * half of a kernel took 10–30 % longer than the caller's, and now and then it woke 1 ms late).
 * TF.js kernels are synchronous, so the caller must be allowed to block (Atomics.wait): Node's
 * threads and Web Workers are; a page's main thread is not.
 */

/** A started helper thread, whatever the environment's worker API. */
export interface HelperThread {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  terminate(): void;
}

/**
 * Starts a helper running `body`, a script that defines `run(data)` and expects the environment's
 * prologue to call it with the first message and to define `post(message)` back to the caller.
 */
export type SpawnHelper = (body: string) => HelperThread;

// Control block layout (Int32 slots).
const GENERATION = 0;
/** Chunks finished (or failed) in the current call. */
const DONE = 1;
const FUNCTION = 2;
const ARG_COUNT = 3;
const FAILED = 4;
const CHUNKS = 5;
/** The next chunk to claim; CLOSED while a call is being written, so late claims fail. */
const NEXT = 6;
const ARGS = 8;
const MAX_ARGS = 24;
/** The most chunks one call may have. */
export const MAX_CHUNKS = 64;
const CLOSED = 1 << 30;
/**
 * How long the caller spins for the helpers' last chunks before it sleeps: they take tens of µs
 * to a few hundred, and waking a sleeping thread costs about as much again.
 */
const SPIN_MS = 0.5;
/**
 * How long a helper spins for the next call before it sleeps. Waking a sleeping thread costs
 * the caller's `Atomics.notify` 13 µs on this 2-core VM and the helper ~70 µs before it starts,
 * and LeNet-5's step makes nine split calls within a few ms: spinning 0.2 ms made it 0.15 ± 0.07
 * ms faster (100 in-process pairs); shorter runs at 0.3 and 1 ms could not tell.
 */
const HELPER_SPIN_MS = 0.2;

/** The helpers' loop; plain JS, since it runs from a string. */
const HELPER_BODY = `
function run({ module, memory, control, names }) {
  const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctl = new Int32Array(control);
  let seen = 0;
  post('ready');
  for (;;) {
    const until = performance.now() + ${HELPER_SPIN_MS};
    while (Atomics.load(ctl, ${GENERATION}) === seen && performance.now() < until);
    Atomics.wait(ctl, ${GENERATION}, seen);
    seen = Atomics.load(ctl, ${GENERATION});
    if (ctl[${FUNCTION}] < 0) return;
    for (let i = Atomics.add(ctl, ${NEXT}, 1); i < ctl[${CHUNKS}]; i = Atomics.add(ctl, ${NEXT}, 1)) {
      try {
        const at = ${ARGS} + i * ${MAX_ARGS};
        kernels[names[ctl[${FUNCTION}]]](...ctl.subarray(at, at + ctl[${ARG_COUNT}]));
      } catch (error) {
        Atomics.store(ctl, ${FAILED}, 1);
        post(String(error));
      } finally {
        // Read before the add: once all are done the caller may write its next call.
        const count = ctl[${CHUNKS}];
        if (Atomics.add(ctl, ${DONE}, 1) + 1 === count) Atomics.notify(ctl, ${DONE});
      }
    }
  }
}
`;

export class KernelThreads {
  private constructor(
    private readonly helpers: HelperThread[],
    private readonly control: Int32Array,
    private readonly names: readonly string[],
  ) {}

  /**
   * Starts `threads − 1` helpers on `memory` (which must be shared), or answers undefined with
   * the reason logged where they do not start within `timeoutMs`.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    threads: number,
    names: readonly string[],
    spawn: SpawnHelper,
    timeoutMs = 10_000,
  ): Promise<KernelThreads | undefined> {
    const control = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_CHUNKS * MAX_ARGS)));
    const helpers: HelperThread[] = [];
    try {
      const ready = Array.from({ length: threads - 1 }, () => {
        const helper = spawn(HELPER_BODY);
        helpers.push(helper);
        return new Promise<void>((resolve, reject) => {
          helper.onMessage((m) => (m === 'ready' ? resolve() : reject(new Error(String(m)))));
          helper.onError(reject);
          helper.post({ module, memory, control: control.buffer, names });
        });
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([Promise.all(ready), late]);
      } finally {
        clearTimeout(timer);
      }
      return new KernelThreads(helpers, control, names);
    } catch (error) {
      helpers.forEach((h) => h.terminate());
      console.warn(`WASM kernel threads did not start (${String(error)}); running on one thread`);
      return undefined;
    }
  }

  get threads(): number {
    return this.helpers.length + 1;
  }

  /**
   * Runs `name` once per argument list (a chunk), the chunks shared out between the caller and
   * the helpers as each claims the next, and returns when all are done.
   */
  run(kernels: WebAssembly.Exports, name: string, chunks: number[][]): void {
    const fn = this.names.indexOf(name);
    const ctl = this.control;
    const count = chunks.length;
    if (fn < 0 || count < 1 || count > MAX_CHUNKS || chunks.some((a) => a.length > MAX_ARGS)) {
      throw new Error(`KernelThreads: cannot run ${name} with ${count} argument lists`);
    }
    Atomics.store(ctl, NEXT, CLOSED);
    ctl[FUNCTION] = fn;
    ctl[ARG_COUNT] = chunks[0].length;
    ctl[CHUNKS] = count;
    chunks.forEach((args, i) => ctl.set(args, ARGS + i * MAX_ARGS));
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, NEXT, 0);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    const kernel = kernels[name] as (...args: number[]) => void;
    let failure: unknown;
    for (let i = Atomics.add(ctl, NEXT, 1); i < count; i = Atomics.add(ctl, NEXT, 1)) {
      try {
        kernel(...chunks[i]);
      } catch (error) {
        failure ??= error;
      } finally {
        Atomics.add(ctl, DONE, 1);
      }
    }
    // The helpers may still be writing: wait for them even where a chunk here failed.
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(ctl, DONE) !== count && performance.now() < spinUntil);
    for (let d = Atomics.load(ctl, DONE); d !== count; d = Atomics.load(ctl, DONE)) {
      Atomics.wait(ctl, DONE, d);
    }
    if (failure !== undefined) throw failure;
    if (Atomics.exchange(ctl, FAILED, 0) !== 0) {
      throw new Error(`WASM kernel ${name} failed on a helper thread`);
    }
  }

  stop(): void {
    Atomics.store(this.control, FUNCTION, -1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    this.helpers.forEach((h) => h.terminate());
  }
}

/**
 * Calls of a kernel shape after which both ways are tried once more. The first trials run while
 * the code still warms up (V8 compiles WebAssembly with its baseline compiler first and optimises
 * hot functions in the background; a helper's first wake-ups are slow), which made LeNet-5's
 * convolutions run whole although split they were 1.3–1.9× faster (2026-11-30).
 */
const RETRIALS = new Set([8, 16, 32, 64, 128, 256, 512, 1024]);

/** One way this much slower than the other, by their quickest calls: the remaining trials are skipped. */
const CLEAR_MARGIN = 1.25;

/**
 * Whether splitting a kernel call between threads pays, decided per kernel and shape by timing
 * both ways on this machine. Handing work to a sleeping helper takes tens of µs on bare metal
 * but 0.2–0.5 ms on some 2-core virtual machines, where small kernels may run no faster split
 * while the DAFL generator's run 1.6–1.8× faster. A shape's first calls alternate split and
 * whole, split first, up to `trialsEach` of each (two of each where one way is clearly faster),
 * and both are tried once more after RETRIALS calls; the way with the quicker fastest call is
 * taken.
 */
export class SplitChoices {
  private readonly shapes = new Map<string, ShapeTrials>();

  constructor(private readonly trialsEach = 3) {}

  /** Whether the next call of `key` is to split. */
  split(key: string): boolean {
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      const trials = Array.from({ length: 2 * this.trialsEach }, (_, i) => i % 2 === 0);
      const never = { calls: 0, fastest: Infinity };
      shape = { calls: 0, split: { ...never }, whole: { ...never }, trials };
      this.shapes.set(key, shape);
    }
    shape.calls++;
    if (RETRIALS.has(shape.calls)) shape.trials.push(true, false);
    return shape.trials.length > 0 ? shape.trials[0] : splitIsFaster(shape);
  }

  /** A call of `key`, split or not, took `ms`. */
  record(key: string, split: boolean, ms: number): void {
    const shape = this.shapes.get(key);
    if (shape === undefined) return;
    if (shape.trials[0] === split) shape.trials.shift();
    const way = split ? shape.split : shape.whole;
    way.calls++;
    way.fastest = Math.min(way.fastest, ms);
    // Two of each before a clear decision: a first call may be slowed by its own start-up.
    if (shape.split.calls < 2 || shape.whole.calls < 2) return;
    const [a, b] = [shape.split.fastest, shape.whole.fastest];
    if (Math.max(a, b) > CLEAR_MARGIN * Math.min(a, b)) shape.trials.length = 0;
  }

  /** The decisions so far (shapes past their first trials): key → split or not. */
  decisions(): ReadonlyMap<string, boolean> {
    const out = new Map<string, boolean>();
    for (const [key, shape] of this.shapes) {
      if (shape.trials.length === 0) out.set(key, splitIsFaster(shape));
    }
    return out;
  }
}

/** A kernel shape's calls: each way's count and quickest ms, and the trials still to run (true: split). */
interface ShapeTrials {
  calls: number;
  split: { calls: number; fastest: number };
  whole: { calls: number; fastest: number };
  trials: boolean[];
}

function splitIsFaster(shape: ShapeTrials): boolean {
  return shape.split.fastest < shape.whole.fastest;
}
