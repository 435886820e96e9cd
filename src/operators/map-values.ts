import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

/** New value for every record, key unchanged (so no repartitioning is ever needed after it). */
export function mapValues<K, V, V2>(
  context: NodeContext,
  mapper: (value: V, record: StreamRecord<K, V>) => V2,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    return typed.withValue(mapper(typed.value, typed)) as AnyRecord;
  });
}
