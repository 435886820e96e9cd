/**
 * A table: the latest value per key, from a topic (`builder.table()`) or an aggregation
 * (`count()`, `reduce()`, `aggregate()`). A stream joins it by key (`stream.join(table, joiner)`);
 * `toStream()` turns its changes back into a stream.
 */
import { KStream } from './kstream.ts';
import type { Named } from './options.ts';
import type { GraphDraft } from './streams-builder.ts';

export class KTable<K, V> {
  /** Types only: keeps `KTable<string, User>` and `KTable<number, User>` apart for joins. */
  private declare readonly types?: (key: K, value: V) => void;

  /** @internal */
  constructor(
    /** @internal the builder this table belongs to. */
    readonly draft: GraphDraft,
    /** @internal the node holding the table (`table` or `aggregate`). */
    readonly nodeName: string,
    /** The name of the table's store (shown by describe()). */
    readonly storeName: string,
  ) {}

  /**
   * The table's changes as a stream: one record per update, with the key and the new value. A
   * key deleted by a tombstone of the source topic arrives with a `null` value; aggregations never
   * delete.
   */
  toStream(options: Named = {}): KStream<K, V> {
    const name = options.name ?? this.draft.nextName('TOSTREAM', 'KTABLE');
    this.draft.add({ kind: 'processor', type: 'toStream', name, parents: [this.nodeName], build: () => (source) => source });
    return new KStream<K, V>(this.draft, name);
  }
}
