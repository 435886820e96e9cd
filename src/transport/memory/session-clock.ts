/**
 * A member's session as Kafka's group coordinator keeps it. kafkajs heartbeats on its own only
 * between batches, so a member is alive while it has no batch in flight; while one runs, only the
 * batch's `heartbeat()` (or a batch ending) renews the session, and once `timeoutMs` passes without
 * either the member is expired. Real timers: an in-process member can be just as silent.
 */
export class SessionClock {
  private busy = 0;
  private lastBeat = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onExpired: () => void,
  ) {}

  batchStarted(): void {
    if (this.busy++ === 0) this.beat();
    if (this.timer === undefined) this.arm();
  }

  batchEnded(): void {
    this.busy = Math.max(0, this.busy - 1);
    this.beat();
    if (this.busy === 0) this.disarm();
  }

  beat(): void {
    this.lastBeat = Date.now();
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.check(), Math.max(0, this.lastBeat + this.timeoutMs - Date.now()));
    // A session check alone must not keep the process alive.
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    this.timer = undefined;
    if (this.busy === 0 || this.stopped) return;
    if (Date.now() - this.lastBeat >= this.timeoutMs) this.onExpired();
    else this.arm();
  }
}
