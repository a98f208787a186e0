import { describe, expect, it, vi } from 'vitest';
import { EventBatcher, FLUSH_INTERVAL_MS } from './batcher';
import type { RunEvent } from './protocol';

describe('EventBatcher', () => {
  it('posts at most once per interval, keeping only the latest progress', () => {
    vi.useFakeTimers();
    let t = 0;
    const posts: RunEvent[][] = [];
    const b = new EventBatcher(
      (events) => posts.push(events),
      () => t,
    );
    b.push({ kind: 'scalar', key: 'loss', step: 1, value: 1 });
    expect(posts).toHaveLength(1);
    for (let step = 2; step <= 50; step++) b.push({ kind: 'progress', step, total: 50 });
    expect(posts).toHaveLength(1);
    t = FLUSH_INTERVAL_MS;
    vi.advanceTimersByTime(FLUSH_INTERVAL_MS);
    expect(posts).toHaveLength(2);
    expect(posts[1]).toEqual([{ kind: 'progress', step: 50, total: 50 }]);
    vi.useRealTimers();
  });

  it('keeps the first progress of a phase that begins within a batch: where the page marks it', () => {
    let t = 0;
    const posts: RunEvent[][] = [];
    const b = new EventBatcher(
      (events) => posts.push(events),
      () => t,
    );
    // conv3 began in the batch before; the fine-tune begins in this one.
    b.push({ kind: 'progress', step: 31, total: 65, phase: 'conv3' });
    for (let step = 58; step <= 60; step++) {
      b.push({ kind: 'progress', step, total: 65, phase: 'conv3' });
    }
    for (let step = 61; step <= 65; step++) {
      b.push({ kind: 'progress', step, total: 65, phase: 'fine-tune' });
    }
    t = FLUSH_INTERVAL_MS;
    b.flush();
    expect(posts[1]).toEqual([
      { kind: 'progress', step: 60, total: 65, phase: 'conv3' },
      { kind: 'progress', step: 61, total: 65, phase: 'fine-tune' },
      { kind: 'progress', step: 65, total: 65, phase: 'fine-tune' },
    ]);
  });

  it('transfers whole buffers and copies views into larger ones', () => {
    const dataset = new Uint8Array(100);
    const own = new Uint8Array(4);
    let sent: { events: RunEvent[]; transfer: Transferable[] } | undefined;
    const b = new EventBatcher(
      (events, transfer) => (sent = { events, transfer }),
      () => 0,
    );
    const image = (pixels: Uint8Array): RunEvent => ({
      kind: 'images',
      key: 'x',
      step: 1,
      width: 2,
      height: 2,
      channels: 1,
      pixels,
    });
    b.push(image(dataset.subarray(0, 4)));
    expect(sent!.transfer).toHaveLength(1);
    expect(sent!.transfer[0]).not.toBe(dataset.buffer);
    b.flush();
    b.push(image(own));
    b.flush();
    expect(sent!.transfer[0]).toBe(own.buffer);
  });

  it('transfers every array of an embedding once, nested ones included', () => {
    const dataset = new Uint8Array(100);
    const labels = new Int32Array([1, 2]);
    const values = new Float32Array(4);
    let sent: { events: RunEvent[]; transfer: Transferable[] } | undefined;
    const b = new EventBatcher(
      (events, transfer) => (sent = { events, transfer }),
      () => 0,
    );
    b.push({
      kind: 'embedding',
      key: 'e',
      step: 1,
      points: new Float32Array(4),
      labels,
      // The same array twice: its buffer may be listed once only.
      predictions: labels,
      images: { width: 1, height: 1, channels: 1, pixels: dataset.subarray(0, 2) },
      gates: { layers: ['a'], widths: [2], values },
    });
    const [event] = sent!.events as Extract<RunEvent, { kind: 'embedding' }>[];
    expect(sent!.transfer).toHaveLength(4);
    expect(sent!.transfer).toContain(values.buffer);
    expect(event.images!.pixels.buffer).not.toBe(dataset.buffer);
    expect(sent!.transfer).toContain(event.images!.pixels.buffer);
    expect(event.groups).toBeUndefined();
  });
});
