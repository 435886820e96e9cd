/**
 * Adds an aggregate node, the shared part of `KGroupedStream` and `TimeWindowedKStream`: inserts the
 * repartition topic when the grouping key may have changed, names the store and its changelog.
 */
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AggregateNode, AnyRecord, SerdeSpec } from '../topology/graph.ts';
import type { WindowSpec } from '../topology/windows.ts';
import type { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import type { GroupedOptions, StoreOptions } from './options.ts';
import { storeLayers } from './store-layers.ts';
import type { GraphDraft } from './streams-builder.ts';

export interface AggregateRequest<K, V> {
  readonly draft: GraphDraft;
  readonly stream: KStream<K, V>;
  readonly grouped: GroupedOptions;
  readonly operation: AggregateNode['operation'];
  readonly update: (previous: unknown, record: StreamRecord<K, V>) => unknown;
  readonly window: WindowSpec | undefined;
  readonly emit: AggregateNode['emit'];
  readonly name: string | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  readonly store: StoreOptions<unknown, unknown> | undefined;
}

/** Adds the aggregate node (after a repartition if needed) and returns its table. */
export function addAggregate<K, V, KT, VA>(request: AggregateRequest<K, V>): KTable<KT, VA> {
  const { draft, grouped } = request;
  const name = request.name ?? draft.nextName('AGGREGATE');
  const storeName = request.store?.name ?? `KSTREAM-AGGREGATE-STATE-STORE-${draft.nextIndex()}`;
  const serdes = draft.serdes(grouped);
  let parent = request.stream;
  if (parent.keyChanged) {
    parent = parent.repartition({ name: grouped.name ?? storeName, ...(serdes.keySerde === undefined ? {} : { keySerde: serdes.keySerde }), ...(serdes.valueSerde === undefined ? {} : { valueSerde: serdes.valueSerde }) });
  }
  const { update } = request;
  draft.add({
    kind: 'aggregate',
    type: request.operation,
    name,
    parents: [parent.nodeName],
    operation: request.operation,
    update: (previous: unknown, record: AnyRecord) => update(previous, record as StreamRecord<K, V>),
    window: request.window,
    emit: request.emit,
    keySerde: serdes.keySerde,
    valueSerde: request.valueSerde ?? draft.serdes({}).valueSerde,
    store: { name: storeName, layers: storeLayers(request.store), changelog: { topic: `${storeName}-changelog`, internal: true } },
  });
  return new KTable<KT, VA>(draft, name, storeName);
}
