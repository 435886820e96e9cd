/**
 * One run of a `pipe()` step's RxJS operators over a source of its own: the unit the step starts,
 * completes, and throws away. It checks what comes out and reports how the run ended.
 *
 * The source is not a plain Subject:
 * - records pushed before the operators subscribe (`subscribeOn`, `delaySubscription`) wait for
 *   them instead of being lost;
 * - subscribing again after a subscription ended (`retry`, `repeat`, `retryWhen` on the whole
 *   step) is refused with an error naming the fix: on a live stream it would lose the records in
 *   flight, or loop forever on a completed source.
 */
import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { ProcessingError, toError } from '../errors/streams-error.ts';
import { isAlive, retainLineage } from '../runtime/lineage.ts';
import { isStreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';

export interface ChainCallbacks {
  /** A checked output, already holding references of its own (stamps cleared). */
  output(record: AnyRecord): void;
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
  private subscription: Subscription | undefined;
  private ended = false;
  private starting = true;
  private early: EarlyEnd | undefined;

  private constructor(
    private readonly context: NodeContext,
    private readonly allowed: (stamp: number) => boolean,
    private readonly callbacks: ChainCallbacks,
  ) {}

  /** Builds and subscribes the operators; returns the run, or how it ended before it could take a record. */
  static start(
    context: NodeContext,
    makeOperator: (context: NodeContext) => OperatorFunction<AnyRecord, unknown>,
    allowed: (stamp: number) => boolean,
    callbacks: ChainCallbacks,
  ): OperatorChain | EarlyEnd {
    const chain = new OperatorChain(context, allowed, callbacks);
    try {
      const operator = makeOperator(context);
      chain.subscription = chain.source().pipe(operator).subscribe({
        next: (out) => chain.onOutput(out),
        error: (error: unknown) => chain.finish(toError(error ?? new Error('the operators failed without a reason'))),
        complete: () => chain.finish(),
      });
    } catch (error) {
      // A factory or operator that throws while being built or subscribed fails the records, through
      // the error policy, instead of crashing the process.
      chain.ended = true;
      chain.subscription?.unsubscribe();
      return { error: stepError(context.nodeName, `building the pipe() operators failed: ${toError(error).message}`, error) };
    }
    chain.starting = false;
    if (chain.early !== undefined) {
      chain.subscription?.unsubscribe();
      return chain.early;
    }
    return chain;
  }

  get isEnded(): boolean {
    return this.ended;
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
        // Failing the run ourselves (and leaving this subscriber silent) also ends an unbounded
        // retry(): an error handed to it would only make it subscribe again, forever.
        this.finish(
          stepError(
            this.context.nodeName,
            "a pipe() operator subscribed to the step's input again (retry/repeat on the whole step), which would lose or repeat the records in flight; retry the inner work instead: mergeMap((r) => call(r).pipe(retry(3)))",
          ),
        );
        this.subscription?.unsubscribe();
        return undefined;
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

  private onOutput(out: unknown): void {
    if (this.ended) return;
    const problem = checkOutput(this.context.nodeName, out, this.allowed);
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

/** Why an output cannot be passed on, or undefined when it can. */
function checkOutput(node: string, out: unknown, allowed: (stamp: number) => boolean): Error | undefined {
  if (!isStreamRecord(out)) {
    return stepError(
      node,
      `a pipe() operator emitted ${out === null ? 'null' : typeof out}, not a record; derive outputs with record.withValue()/withKey() or combineRecords()`,
    );
  }
  if (out.stamps.length === 0 || !out.stamps.every(allowed) || !isAlive(out.lineage)) {
    return stepError(
      node,
      'a pipe() operator emitted a record not derived from the inputs it holds; derive outputs with record.withValue()/withKey() or combineRecords(), and keep no records across epochs',
    );
  }
  return undefined;
}

export function stepError(node: string, message: string, cause?: unknown): ProcessingError {
  return new ProcessingError(`${node}: ${message}`, { ...(cause === undefined ? {} : { cause }), context: { node } });
}
