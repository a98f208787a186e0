import type { RunEvent } from './protocol';

/** Posts at most this often, so the page renders ≤ 10 batches a second however fast a run goes. */
export const FLUSH_INTERVAL_MS = 100;

/**
 * Collects a run's events and posts them in batches: on the first event after an interval has
 * passed, and by a timer for the tail. Of a batch's `progress` events only the latest and the
 * first of each phase that begins in it are kept (the page shows one bar, and marks where each
 * phase began). Typed arrays are transferred; one that is a view into a larger buffer (say a
 * dataset's pixels) is copied first, since transferring would detach the whole buffer.
 */
export class EventBatcher {
  private pending: RunEvent[] = [];
  private lastFlush = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The phase of the latest progress, and the progress events that began a phase. */
  private phase: string | undefined;
  private phaseStarts = new WeakSet<RunEvent>();

  constructor(
    private readonly post: (events: RunEvent[], transfer: Transferable[]) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(event: RunEvent): void {
    if (event.kind === 'progress') {
      // The first progress of a phase stays (the page marks where each phase began from it);
      // a later one of the same phase replaces the one before.
      const i = this.pending.findIndex(
        (e) => e.kind === 'progress' && e.phase === event.phase && !this.phaseStarts.has(e),
      );
      if (i >= 0) this.pending.splice(i, 1);
      if (event.phase !== this.phase) this.phaseStarts.add(event);
      this.phase = event.phase;
    }
    this.pending.push(event);
    if (this.now() - this.lastFlush >= FLUSH_INTERVAL_MS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const events = this.pending.map(ownBuffers);
    this.pending = [];
    this.lastFlush = this.now();
    // A buffer listed twice (one array in two fields) would make postMessage throw.
    this.post(events, [...new Set(events.flatMap(transferables))] as ArrayBuffer[]);
  }
}

function whole<T extends Uint8Array | Float32Array | Int32Array>(a: T): T {
  // A view into shared memory (WASM heap) would be shared, not sent: copy it out too.
  const own =
    a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  return own ? a : (a.slice() as T);
}

function ownBuffers(e: RunEvent): RunEvent {
  if (e.kind === 'images') return { ...e, pixels: whole(e.pixels) };
  if (e.kind !== 'embedding') return e;
  const { images, gates, groups, predictions } = e;
  return {
    ...e,
    points: whole(e.points),
    labels: whole(e.labels),
    groups: groups && whole(groups),
    predictions: predictions && whole(predictions),
    images: images && { ...images, pixels: whole(images.pixels) },
    gates: gates && { ...gates, values: whole(gates.values) },
  };
}

function transferables(e: RunEvent): ArrayBufferLike[] {
  if (e.kind === 'images') return [e.pixels.buffer];
  if (e.kind !== 'embedding') return [];
  return [e.points, e.labels, e.groups, e.predictions, e.images?.pixels, e.gates?.values]
    .filter((a) => a !== undefined)
    .map((a) => a.buffer);
}
