/**
 * A custom step made of ordinary RxJS operators over records (`KStream.pipe` / `KStream.transform`),
 * with lineage kept right even though the runtime cannot see inside the operators.
 *
 * How: every record entering the step gets a sequence number (a "stamp") and the step holds its
 * input references. Records derived with `withValue` / `combineRecords` carry the stamps of their
 * inputs. When an output leaves the step it takes references of its own, then the step lets go of
 * the inputs it no longer needs:
 * - ordered (default): every input stamped at or before the newest stamp the output carries. Right
 *   for order-keeping operators (filter, map, scan, distinct, buffer*, debounce, throttle, ...):
 *   an input the operator neither emitted nor still buffers by then was dropped on purpose.
 * - unordered: only the inputs the output carries. For operators that reorder (mergeMap with
 *   concurrency, delayWhen); an input such an operator drops holds the commit back until the task
 *   closes, so prefer dropping records with `filter()` outside the step.
 *
 * If the operators throw, the chain is rebuilt: the record that caused it goes to the error policy
 * (dead-letter by default) and the records it held are fed again, in order, into the new chain.
 */
import { Observable, Subject, type OperatorFunction, type Subscription } from 'rxjs';
import { ProcessingError } from '../errors/streams-error.ts';
import { releaseLineage, retainLineage } from '../runtime/lineage.ts';
import { isStreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';

export interface PipeStepOptions {
  readonly ordered: boolean;
}

export function pipeStep(
  context: NodeContext,
  makeOperator: (context: NodeContext) => OperatorFunction<AnyRecord, unknown>,
  options: PipeStepOptions,
): OperatorFunction<AnyRecord, AnyRecord> {
  return (source) =>
    new Observable<AnyRecord>((subscriber) => {
      /** Inputs the step still holds references for, by stamp, in arrival order. */
      const held = new Map<number, AnyRecord>();
      let nextStamp = 0;
      let inner: Subject<AnyRecord> | undefined;
      let innerSubscription: Subscription | undefined;
      let pushing: number | undefined;
      let chainEnded = false;
      let restartPending = false;
      let generation = 0;

      const releaseHeld = (stamp: number) => {
        const record = held.get(stamp);
        if (record === undefined) return;
        held.delete(stamp);
        releaseLineage(record.lineage);
      };

      const failHeld = (stamp: number, error: unknown) => {
        const record = held.get(stamp);
        if (record === undefined) return;
        held.delete(stamp);
        context.fail(record, error);
      };

      const onOutput = (out: unknown) => {
        if (!isStreamRecord(out) || out.stamps.length === 0) {
          const culprit = pushing ?? held.keys().next().value;
          if (culprit !== undefined) {
            failHeld(
              culprit,
              new ProcessingError(
                `${context.nodeName}: a pipe() operator emitted ${isStreamRecord(out) ? 'a record not derived from its input' : typeof out}; emit records derived with record.withValue()/withKey() or combineRecords()`,
                { context: { node: context.nodeName } },
              ),
            );
          }
          return;
        }
        retainLineage(out.lineage);
        if (options.ordered) {
          const newest = Math.max(...out.stamps);
          for (const stamp of [...held.keys()]) {
            if (stamp > newest) break;
            releaseHeld(stamp);
          }
        } else {
          for (const stamp of out.stamps) releaseHeld(stamp);
        }
        subscriber.next(out.withLineage(out.lineage, []));
      };

      const start = (replay: readonly AnyRecord[]) => {
        chainEnded = false;
        inner = new Subject<AnyRecord>();
        innerSubscription = inner.pipe(makeOperator(context)).subscribe({
          next: onOutput,
          error: (error: unknown) => onChainError(error),
          complete: () => {
            // The operators finished early (e.g. take(n)): whatever they still hold was dropped.
            chainEnded = true;
            for (const stamp of [...held.keys()]) releaseHeld(stamp);
          },
        });
        const current = ++generation;
        for (const record of replay) {
          // A record failing again during the replay starts a newer chain, which replays the rest.
          if (generation !== current) break;
          if (held.has(record.stamps[0] as number)) push(record);
        }
      };

      const onChainError = (error: unknown) => {
        const wrapped = new ProcessingError(`${context.nodeName}: pipe() operators failed: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
          context: { node: context.nodeName },
        });
        innerSubscription?.unsubscribe();
        if (pushing !== undefined) {
          failHeld(pushing, wrapped);
          // push() rebuilds the chain once the failed call has unwound.
          restartPending = true;
        } else {
          for (const stamp of [...held.keys()]) failHeld(stamp, wrapped);
          start([]);
        }
      };

      const push = (stamped: AnyRecord) => {
        if (chainEnded || inner === undefined) {
          releaseHeld(stamped.stamps[0] as number);
          return;
        }
        pushing = stamped.stamps[0];
        try {
          inner.next(stamped);
        } finally {
          pushing = undefined;
        }
        if (restartPending) {
          restartPending = false;
          start([...held.values()]);
        }
      };

      start([]);
      const upstream = source.subscribe({
        next(record) {
          const stamp = nextStamp++;
          const stamped = record.withLineage(record.lineage, [stamp]);
          held.set(stamp, stamped);
          push(stamped);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        upstream.unsubscribe();
        innerSubscription?.unsubscribe();
      };
    });
}
