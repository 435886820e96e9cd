/**
 * Adds a stream-table join node: the part of `KStream.join` / `leftJoin` that is the same for both
 * kinds of table. Checks that the table comes from the same builder (reported at `build()`).
 */
import { TopologyError } from '../errors/streams-error.ts';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord } from '../topology/graph.ts';
import { GlobalKTable } from './global-ktable.ts';
import type { KTable } from './ktable.ts';
import type { JoinOptions } from './options.ts';
import type { GraphDraft } from './streams-builder.ts';

export interface JoinRequest<K, V> {
  readonly draft: GraphDraft;
  /** The stream node to join (already repartitioned when its key may have changed). */
  readonly parent: string;
  readonly joinType: 'inner' | 'left';
  readonly table: KTable<unknown, unknown> | GlobalKTable<unknown, unknown>;
  readonly keySelector: ((key: K | null, value: V) => unknown) | undefined;
  readonly joiner: (value: V, tableValue: unknown, record: StreamRecord<K, V>) => unknown;
  readonly options: JoinOptions;
}

/** Adds the join node and returns its name. */
export function addJoin<K, V>(request: JoinRequest<K, V>): string {
  const { draft, table, keySelector, joiner, options } = request;
  const global = table instanceof GlobalKTable;
  const name = options.name ?? draft.nextName(request.joinType === 'left' ? 'LEFTJOIN' : 'JOIN');
  if (table.draft !== draft) {
    draft.fail(
      new TopologyError(`${name}: option table: ${table.nodeName} was built by another StreamsBuilder; create the table with the builder of the stream`, {
        context: { node: name },
      }),
    );
  }
  draft.add({
    kind: 'join',
    type: request.joinType === 'left' ? 'leftJoin' : 'join',
    name,
    parents: [request.parent],
    joinType: request.joinType,
    table: table.nodeName,
    store: table.storeName,
    global,
    lookupKey: keySelector === undefined ? (record: AnyRecord) => record.key : (record: AnyRecord) => keySelector(record.key as K | null, record.value as V),
    joiner: (record: AnyRecord, tableValue: unknown) => joiner(record.value as V, tableValue, record as StreamRecord<K, V>),
  });
  return name;
}
