import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

/** Zero or more values per record, each keeping the record's key. */
export function flatMapValues<K, V, V2>(
  context: NodeContext,
  mapper: (value: V, record: StreamRecord<K, V>) => Iterable<V2>,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    const values = mapper(typed.value, typed);
    // Most mappers return an array: no iterator protocol for them.
    if (Array.isArray(values)) return (values as readonly V2[]).map((value) => typed.withValue(value) as AnyRecord);
    return Array.from(values, (value) => typed.withValue(value) as AnyRecord);
  });
}
