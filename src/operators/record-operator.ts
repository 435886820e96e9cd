/**
 * The shared kernel of the built-in steps: runs a per-record function, keeps lineage right (a
 * dropped record releases its inputs, one record turned into N holds N references) and hands
 * exceptions to the node's error policy instead of letting them end the stream.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { releaseLineage, retainLineage } from '../runtime/lineage.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';

/** What a step makes of one record: nothing (dropped), one record, or several. */
export type StepResult = AnyRecord | readonly AnyRecord[] | undefined;

export function recordOperator(context: NodeContext, step: (record: AnyRecord) => StepResult): OperatorFunction<AnyRecord, AnyRecord> {
  return (source) =>
    new Observable<AnyRecord>((subscriber) =>
      source.subscribe({
        next(record) {
          let result: StepResult;
          try {
            result = step(record);
          } catch (error) {
            context.fail(record, error);
            return;
          }
          if (result === undefined) {
            releaseLineage(record.lineage);
          } else if (!Array.isArray(result)) {
            subscriber.next(result as AnyRecord);
          } else if (result.length === 0) {
            releaseLineage(record.lineage);
          } else {
            // Take every reference before emitting: a downstream step may finish the first output
            // synchronously, and the input must not complete while its siblings are still pending.
            retainLineage(record.lineage, result.length - 1);
            for (const out of result) subscriber.next(out);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
