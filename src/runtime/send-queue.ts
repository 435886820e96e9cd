/**
 * Records waiting to go out in one batched send: a send starts when `maxRecords` are waiting or
 * `lingerMs` after the first one, and sends run one at a time, so records keep their order. The
 * shared part of both outputs (at-least-once and exactly-once); what a send does is theirs.
 */
import type { BatchingOptions } from './batching-output.ts';

export class SendQueue<T> {
  private waiting: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
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
    if (this.waiting.length >= this.maxRecords) this.schedule(0);
    else if (this.timer === undefined) this.schedule(this.lingerMs);
  }

  /** Sends what is waiting; resolves once every send so far has settled. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length > 0) this.sending = this.sending.then(() => this.send(batch));
    return this.sending;
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
