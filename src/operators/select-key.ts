import type { OperatorFunction } from 'rxjs';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext } from '../topology/graph.ts';
import { recordOperator } from './record-operator.ts';

/** Replaces the key; follow with `repartition()` when downstream needs records grouped by it. */
export function selectKey<K, V, K2>(
  context: NodeContext,
  selector: (key: K | null, value: V, record: StreamRecord<K, V>) => K2,
): OperatorFunction<AnyRecord, AnyRecord> {
  return recordOperator(context, (record) => {
    const typed = record as StreamRecord<K, V>;
    return typed.withKey(selector(typed.key, typed.value, typed)) as AnyRecord;
  });
}
