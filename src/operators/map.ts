import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

export interface KeyValue<K, V> {
  readonly key: K | null;
  readonly value: V;
}

/** New key and value for every record, like Kafka Streams' `map`; lineage and headers carry over. */
export function mapRecords<K, V, K2, V2>(
  context: NodeContext,
  mapper: (key: K | null, value: V, record: StreamRecord<K, V>) => KeyValue<K2, V2>,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    const out = mapper(typed.key, typed.value, typed);
    return typed.withKey(out.key).withValue(out.value) as AnyRecord;
  });
}
