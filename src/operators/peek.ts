import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

/** Looks at each record (logging, counting) and passes it on unchanged. */
export function peekRecords<K, V>(
  context: NodeContext,
  action: (key: K | null, value: V, record: StreamRecord<K, V>) => void,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    action(typed.key, typed.value, typed);
    return record;
  });
}
