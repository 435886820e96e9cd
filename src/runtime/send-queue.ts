/**
 * Records waiting to go out in batched sends, one send at a time so records keep their order. A
 * send starts when `maxRecords` are waiting or `lingerMs` after the first one; while a send is in
 * flight, everything that arrives waits and goes out in the next send, however much it is (the
 * producer cuts a send into requests by bytes). So a slow broker gets fewer, larger sends instead
 * of a queue of small ones, and a quiet one still sees a record within `lingerMs`. The shared part
 * of both outputs (at-least-once and exactly-once); what a send does is theirs.
 */
import type { BatchingOptions } from './batching-output.ts';

export class SendQueue<T> {
  private waiting: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Settles when every send started or queued so far has settled. */
  private sending: Promise<void> = Promise.resolve();
  /** The send queued behind the one in flight; it takes whatever waits when it starts. */
  private next: Promise<void> | undefined;
  private readonly maxRecords: number;
  private readonly lingerMs: number;

  constructor(
    private readonly send: (batch: T[]) => Promise<void>,
    options: BatchingOptions = {},
  ) {
    this.maxRecords = options.maxRecords ?? 500;
    this.lingerMs = options.lingerMs ?? 5;
  }

  add(item: T): void {
    this.waiting.push(item);
    // A send already queued takes this record too: no timer needed.
    if (this.next !== undefined) return;
    if (this.waiting.length >= this.maxRecords) this.schedule(0);
    else if (this.timer === undefined) this.schedule(this.lingerMs);
  }

  /** Sends what is waiting; resolves once every send so far has settled. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.waiting.length === 0 || this.next !== undefined) return this.next ?? this.sending;
    const next = this.sending.then(() => {
      this.next = undefined;
      const batch = this.waiting;
      this.waiting = [];
      return batch.length > 0 ? this.send(batch) : undefined;
    });
    this.next = next;
    this.sending = next;
    return next;
  }

  private schedule(delay: number): void {
    if (this.timer !== undefined && delay > 0) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
  }
}

/** The two halves of a batch that failed as a whole: finding the records that cannot go out takes log(n) sends, not n. */
export function halves<T>(batch: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(batch.length / 2);
  return [batch.slice(0, middle), batch.slice(middle)];
}
