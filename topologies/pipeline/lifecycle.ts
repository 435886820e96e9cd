/**
 * Starts components one after another and stops them in the reverse order, also when the stop is
 * asked for in the middle of starting them (Ctrl-C during start-up).
 *
 * - `step(name, start, stop)` runs one start-up step; once it succeeded, `stop` is remembered.
 * - `onStop(name, stop)` remembers a stop without a step, e.g. before a start that may be stopped
 *   while it runs (`StreamsApp.start()` ends at once when `stop()` is called).
 * - `stop(startup)` makes the step in progress give up (start-up rejects with `StoppedDuringStart`),
 *   waits for the start-up sequence to settle, then runs the remembered stops, newest first, each
 *   bounded by `stopTimeoutMs`. Start-up code must wait only through `step()`, so it settles promptly. A step given up on
 *   keeps running in the background: when it completes anyway, its `stop` runs then, and `stop()`
 *   waits for that too (bounded), so what it started is still stopped.
 */
import { toError, type Logger } from '../../src/index.ts';

export class StoppedDuringStart extends Error {
  constructor(step: string) {
    super(`stopped while starting ${step}`);
    this.name = 'StoppedDuringStart';
  }
}

interface Entry {
  readonly name: string;
  readonly stop: () => Promise<void>;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  /** Bound on each stop; default 20000 ms. */
  readonly stopTimeoutMs?: number;
}

export class Lifecycle {
  private readonly entries: Entry[] = [];
  /** Cleanups of steps given up on, still running. */
  private readonly late: Promise<void>[] = [];
  private stopRequested = false;
  private readonly stopSignal: Promise<void>;
  private requestStop: () => void = () => {};
  private stopping: Promise<string[]> | undefined;
  private readonly stopTimeoutMs: number;
  private readonly abort = new AbortController();

  constructor(private readonly options: LifecycleOptions) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
    this.stopSignal = new Promise<void>((resolve) => (this.requestStop = resolve));
  }

  get stopped(): boolean {
    return this.stopRequested;
  }

  /**
   * Runs `start`, remembering `stop` for its result; rejects with `StoppedDuringStart` once a stop
   * is asked for. `start` gets a signal that aborts then, to skip work nobody will use.
   */
  async step<T>(name: string, start: (signal: AbortSignal) => Promise<T>, stop?: (value: T) => Promise<void>): Promise<T> {
    if (this.stopRequested) throw new StoppedDuringStart(name);
    const work = start(this.abort.signal);
    const outcome = await Promise.race([work.then((value) => ({ value })), this.stopSignal.then(() => undefined)]);
    if (outcome === undefined) {
      // Given up on: when it completes anyway, what it started is stopped then.
      this.late.push(
        work.then(
          (value) => stop?.(value),
          () => undefined,
        ).catch((error: unknown) => this.options.logger.warn({ err: toError(error), step: name }, 'stopping a step given up on failed')),
      );
      throw new StoppedDuringStart(name);
    }
    if (stop !== undefined) this.entries.push({ name, stop: () => stop(outcome.value) });
    return outcome.value;
  }

  onStop(name: string, stop: () => Promise<void>): void {
    this.entries.push({ name, stop });
  }

  /**
   * Stops everything started, newest first, once `startup` (the start-up sequence, which gives up
   * at its current step) has settled; resolves with the names of the stops that failed or timed
   * out (empty when all went well). Idempotent.
   */
  stop(startup: Promise<unknown> = Promise.resolve()): Promise<string[]> {
    this.stopRequested = true;
    this.requestStop();
    this.abort.abort(new StoppedDuringStart('(stop requested)'));
    this.stopping ??= startup.then(
      () => this.unwind(),
      () => this.unwind(),
    );
    return this.stopping;
  }

  private async unwind(): Promise<string[]> {
    const failed: string[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop() as Entry; // length checked above
      const began = performance.now();
      try {
        await within(entry.stop(), this.stopTimeoutMs, `stopping ${entry.name}`);
        this.options.logger.debug({ component: entry.name, ms: Math.round(performance.now() - began) }, 'stopped');
      } catch (error) {
        failed.push(entry.name);
        this.options.logger.error({ err: toError(error), component: entry.name }, 'a component did not stop cleanly');
      }
    }
    try {
      await within(Promise.all(this.late), this.stopTimeoutMs, 'stopping what a step given up on started');
    } catch (error) {
      failed.push('a start-up step given up on');
      this.options.logger.error({ err: toError(error) }, 'a start-up step given up on did not stop in time');
    }
    return failed;
  }
}

function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
