/**
 * The send queue behind both outputs: one send at a time, in order; records that arrive while a
 * send is in flight go out together in the next one; a quiet queue still sends within `lingerMs`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SendQueue } from '../../../src/runtime/send-queue.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A queue whose sends wait until the test releases them. */
function gatedQueue(options: { maxRecords?: number; lingerMs?: number } = {}) {
  const sends: number[][] = [];
  const gates: Array<() => void> = [];
  let active = 0;
  let maxActive = 0;
  const queue = new SendQueue<number>(async (batch) => {
    sends.push(batch);
    active += 1;
    maxActive = Math.max(maxActive, active);
    const gate = deferred();
    gates.push(gate.resolve);
    await gate.promise;
    active -= 1;
  }, options);
  return { queue, sends, release: () => gates.shift()?.(), maxActive: () => maxActive };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SendQueue', () => {
  it('sends a full batch at once and everything that arrived meanwhile in one next send, one send at a time', async () => {
    vi.useFakeTimers();
    const { queue, sends, release, maxActive } = gatedQueue({ maxRecords: 3, lingerMs: 1_000 });
    for (const n of [1, 2, 3]) queue.add(n);
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([[1, 2, 3]]);
    // While that send is in flight, ten records arrive: far past maxRecords, still one send.
    for (let n = 4; n <= 13; n++) queue.add(n);
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(sends).toEqual([[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(maxActive()).toBe(1);
  });

  it('sends a lone record after lingerMs, not before', async () => {
    vi.useFakeTimers();
    const { queue, sends, release } = gatedQueue({ maxRecords: 100, lingerMs: 50 });
    queue.add(1);
    await vi.advanceTimersByTimeAsync(49);
    expect(sends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sends).toEqual([[1]]);
    release();
  });

  it('flush() resolves only once the records waiting at the call went out, including those queued behind a send in flight', async () => {
    const { queue, sends, release } = gatedQueue({ maxRecords: 2, lingerMs: 1_000 });
    queue.add(1);
    queue.add(2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    queue.add(3);
    let flushed = false;
    const flushing = queue.flush().then(() => (flushed = true));
    release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sends).toEqual([[1, 2], [3]]);
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect(flushed).toBe(true);
  });

  it('keeps every record, once and in order, for any interleaving of adds, flushes and send completions', async () => {
    const { queue, sends, release } = gatedQueue({ maxRecords: 4, lingerMs: 1 });
    let next = 0;
    for (let step = 0; step < 400; step++) {
      const choice = (step * 7919) % 5;
      if (choice < 3) queue.add(next++);
      else if (choice === 3) void queue.flush();
      else release();
      if (step % 13 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const done = queue.flush();
    for (let i = 0; i < 500 && sends.flat().length < next; i++) {
      release();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    release();
    await done;
    expect(sends.flat()).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
