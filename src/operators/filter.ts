import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

/**
 * Keeps the records the predicate accepts (or, with `negate`, rejects). A dropped record counts as
 * done for its input offset.
 */
export function filterRecords<K, V>(
  context: NodeContext,
  predicate: (key: K | null, value: V, record: StreamRecord<K, V>) => boolean,
  negate = false,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    return predicate(typed.key, typed.value, typed) !== negate ? record : undefined;
  });
}
