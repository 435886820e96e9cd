/**
 * One run of a `pipe()` step's RxJS operators over a source of its own: the unit the step starts,
 * completes, and throws away. It checks what comes out and reports how the run ended.
 *
 * The source is not a plain Subject:
 * - records pushed before the operators subscribe (`subscribeOn`, `delaySubscription`) wait for
 *   them instead of being lost;
 * - an operator that subscribes again after an error (`retry` on the whole step) gets every record
 *   of the run again, as it would from a cold source: the run starts over (the step takes back the
 *   outputs it has not passed on), so nothing that was in flight is lost. At most
 *   `MAX_RESUBSCRIPTIONS` times, so an unbounded `retry()` over a record that always fails ends;
 * - subscribing again after the source completed (`repeat` on the whole step) is refused with an
 *   error naming the fix: it would run the records again, forever.
 */
import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { ProcessingError, toError } from '../errors/streams-error.ts';
import { isAlive, retainLineage, type Origin } from '../runtime/lineage.ts';
import { isStreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';

const MAX_RESUBSCRIPTIONS = 100;

export interface ChainCallbacks {
  /** The input record stamped `stamp`, when it belongs to this run. */
  input(stamp: number): AnyRecord | undefined;
  /** Every input of the run so far, in order: what a re-subscribing operator gets again. */
  inputs(): Iterable<AnyRecord>;
  /** A checked output, already holding references of its own (stamps cleared). */
  output(record: AnyRecord): void;
  /** The operators re-subscribed: outputs not yet passed on will be made again. */
  restart(): void;
  /** The run completed (no error) or failed; called once, never during `start`. */
  end(error?: Error): void;
}

/** How a run ended while it was being started: it completed at once, or failed. */
export type EarlyEnd = { readonly completed: true } | { readonly error: Error };

export class OperatorChain {
  private readonly subscribers = new Set<Subscriber<AnyRecord>>();
  private readonly waiting: AnyRecord[] = [];
  private sourceCompleted = false;
  private everSubscribed = false;
  private resubscriptions = 0;
  private subscription: Subscription | undefined;
  private ended = false;
  private starting = true;
  private early: EarlyEnd | undefined;

  private constructor(
    private readonly context: NodeContext,
    private readonly callbacks: ChainCallbacks,
  ) {}

  /** Subscribes the operators; returns the run, or how it ended before it could take a record. */
  static start(context: NodeContext, operator: OperatorFunction<AnyRecord, unknown>, callbacks: ChainCallbacks): OperatorChain | EarlyEnd {
    const chain = new OperatorChain(context, callbacks);
    try {
      chain.subscription = chain.source().pipe(operator).subscribe({
        next: (out) => chain.onOutput(out),
        error: (error: unknown) => chain.finish(toError(error ?? new Error('the operators failed without a reason'))),
        complete: () => chain.finish(),
      });
    } catch (error) {
      // An operator that throws while being subscribed fails the records, through the error policy,
      // instead of crashing the process.
      chain.ended = true;
      chain.subscription?.unsubscribe();
      return { error: stepError(context.nodeName, `subscribing the pipe() operators failed: ${toError(error).message}`, error) };
    }
    chain.starting = false;
    if (chain.early !== undefined) {
      chain.subscription?.unsubscribe();
      return chain.early;
    }
    return chain;
  }

  push(record: AnyRecord): void {
    if (this.ended || this.sourceCompleted) return;
    if (this.subscribers.size === 0 && !this.everSubscribed) this.waiting.push(record);
    else for (const subscriber of [...this.subscribers]) subscriber.next(record);
  }

  /** Completes the source: the operators emit what they hold, then complete (or fail). */
  complete(): void {
    if (this.sourceCompleted) return;
    this.sourceCompleted = true;
    for (const subscriber of [...this.subscribers]) subscriber.complete();
  }

  /** Tears the run down; no callback follows. */
  dispose(): void {
    this.ended = true;
    this.subscription?.unsubscribe();
    this.waiting.length = 0;
  }

  private source(): Observable<AnyRecord> {
    return new Observable<AnyRecord>((subscriber) => {
      if (this.everSubscribed && this.subscribers.size === 0) {
        this.resubscribe(subscriber);
        return () => {
          this.subscribers.delete(subscriber);
        };
      }
      this.everSubscribed = true;
      this.subscribers.add(subscriber);
      for (const record of this.waiting.splice(0)) subscriber.next(record);
      if (this.sourceCompleted) subscriber.complete();
      return () => {
        this.subscribers.delete(subscriber);
      };
    });
  }

  private resubscribe(subscriber: Subscriber<AnyRecord>): void {
    const refusal =
      this.sourceCompleted
        ? "a pipe() operator subscribed to the step's input again after it completed (repeat on the whole step), which would run its records again without end; repeat the inner work instead"
        : this.resubscriptions >= MAX_RESUBSCRIPTIONS
          ? `a pipe() operator subscribed to the step's input ${MAX_RESUBSCRIPTIONS} times (an unbounded retry over a record that always fails); bound the retry, or retry the inner work: mergeMap((r) => call(r).pipe(retry(3)))`
          : undefined;
    if (refusal !== undefined) {
      // Failing the run ourselves (and leaving this subscriber silent) ends the loop: an error
      // handed to the operator would only make it subscribe again.
      this.finish(stepError(this.context.nodeName, refusal));
      this.subscription?.unsubscribe();
      return;
    }
    this.resubscriptions += 1;
    this.callbacks.restart();
    this.subscribers.add(subscriber);
    for (const record of [...this.callbacks.inputs()]) {
      if (subscriber.closed) return;
      subscriber.next(record);
    }
  }

  private onOutput(out: unknown): void {
    if (this.ended) return;
    const problem = checkOutput(this.context.nodeName, out, this.callbacks.input);
    if (problem !== undefined) {
      this.finish(problem);
      this.subscription?.unsubscribe();
      return;
    }
    const record = out as AnyRecord;
    retainLineage(record.lineage);
    this.callbacks.output(record.withLineage(record.lineage, []));
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    if (this.starting) this.early = error === undefined ? { completed: true } : { error };
    else this.callbacks.end(error);
  }
}

/**
 * Why an output cannot be passed on, or undefined when it can: it must be a record whose stamps are
 * inputs of this run and whose lineage comes from those inputs only (a record kept from another
 * task or an earlier run carries stamps that may collide, never its lineage).
 */
function checkOutput(node: string, out: unknown, input: (stamp: number) => AnyRecord | undefined): Error | undefined {
  if (!isStreamRecord(out)) {
    return stepError(
      node,
      `a pipe() operator emitted ${out === null ? 'null' : typeof out}, not a record; derive outputs with record.withValue()/withKey() or combineRecords()`,
    );
  }
  const origins = new Set<Origin>();
  for (const stamp of out.stamps) {
    const from = input(stamp);
    if (from === undefined) return notDerived(node);
    for (const origin of from.lineage) origins.add(origin);
  }
  if (origins.size === 0 || !out.lineage.every((origin) => origins.has(origin)) || !isAlive(out.lineage)) return notDerived(node);
  return undefined;
}

function notDerived(node: string): Error {
  return stepError(
    node,
    'a pipe() operator emitted a record not derived from the inputs it holds; derive outputs with record.withValue()/withKey() or combineRecords(), and keep no records across epochs or tasks',
  );
}

export function stepError(node: string, message: string, cause?: unknown): ProcessingError {
  return new ProcessingError(`${node}: ${message}`, { ...(cause === undefined ? {} : { cause }), context: { node } });
}
