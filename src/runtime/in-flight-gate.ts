/**
 * The bound on records in flight: input records taken in but not yet done. Intake waits at the
 * bound (the consumer stops fetching, heartbeats go on) and resumes as records finish.
 */
export class InFlightGate {
  private count = 0;
  private waiters: Array<() => void> = [];

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
    const deadline = Date.now() + timeoutMs;
    while (this.count > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.count === 0;
  }
}
