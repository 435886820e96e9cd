/**
 * A table every instance holds whole (`builder.globalTable()`): a stream joins it on a key it
 * computes from each record, with no co-partitioning. It has no operations of its own.
 */
import type { GraphDraft } from './streams-builder.ts';

export class GlobalKTable<K, V> {
  /** Types only: keeps `GlobalKTable<string, User>` and `GlobalKTable<number, Order>` apart. */
  private declare readonly types?: (key: K, value: V) => void;

  /** @internal */
  constructor(
    /** @internal the builder this table belongs to. */
    readonly draft: GraphDraft,
    /** @internal the `globalTable` node. */
    readonly nodeName: string,
    /** The name of the table's store (shown by describe()). */
    readonly storeName: string,
  ) {}
}
