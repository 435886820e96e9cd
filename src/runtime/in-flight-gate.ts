import { waitAtMost } from '../transport/wait-at-most.ts';

/**
 * The bound on records in flight: input records taken in but not yet done. Intake waits at the
 * bound (the consumer stops fetching, heartbeats go on) and resumes as records finish.
 */
export class InFlightGate {
  private count = 0;
  private waiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.limit;
  }

  add(n = 1): void {
    this.count += n;
  }

  remove(n = 1): void {
    this.count = Math.max(0, this.count - n);
    if (this.count < this.limit && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
    if (this.count === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when there is room, or after `timeoutMs` so the caller can heartbeat and check for stop. */
  waitForRoom(timeoutMs: number): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; returns whether it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.count > 0) await waitAtMost(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), timeoutMs);
    return this.count === 0;
  }
}
