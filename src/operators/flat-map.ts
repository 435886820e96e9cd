import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import type { KeyValue } from './map.ts';
import { recordOperator } from './record-operator.ts';

/** Zero or more key-value pairs per record; the input offset is done when all of them are. */
export function flatMapRecords<K, V, K2, V2>(
  context: NodeContext,
  mapper: (key: K | null, value: V, record: StreamRecord<K, V>) => Iterable<KeyValue<K2, V2>>,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    return Array.from(mapper(typed.key, typed.value, typed), (out) => typed.withKey(out.key).withValue(out.value) as AnyRecord);
  });
}
