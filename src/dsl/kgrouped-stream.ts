/**
 * A stream grouped by key (`groupByKey()` / `groupBy()`), ready to aggregate: `count`, `reduce`,
 * `aggregate`, or `windowedBy(...)` for the same per time window. The result is a `KTable` whose
 * store is backed by the compacted changelog `<applicationId>-<store>-changelog`.
 *
 * @example ratings.groupBy((_key, rating) => rating.productId, { keySerde: 'string' }).count({ store: { name: 'ratings-per-product' } })
 */
import type { StreamRecord } from '../runtime/stream-record.ts';
import { addAggregate } from './aggregation.ts';
import type { KStream } from './kstream.ts';
import type { KTable } from './ktable.ts';
import type { AggregateOptions, GroupedOptions, StoreOptions } from './options.ts';
import type { GraphDraft } from './streams-builder.ts';
import { TimeWindowedKStream, type WindowsArgument } from './time-windowed-kstream.ts';

/** The `update` of each operation: the new aggregate from the previous one (`undefined` at first). */
export const updates = {
  count: () => (previous: unknown) => ((previous as number | undefined) ?? 0) + 1,
  reduce:
    <K, V>(reducer: (aggregate: V, value: V, key: K | null) => V) =>
    (previous: unknown, record: StreamRecord<K, V>) =>
      previous === undefined ? record.value : reducer(previous as V, record.value, record.key),
  aggregate:
    <K, V, VA>(initializer: () => VA, aggregator: (key: K | null, value: V, aggregate: VA) => VA) =>
    (previous: unknown, record: StreamRecord<K, V>) =>
      aggregator(record.key, record.value, previous === undefined ? initializer() : (previous as VA)),
};

export class KGroupedStream<K, V> {
  /** @internal */
  constructor(
    private readonly draft: GraphDraft,
    private readonly stream: KStream<K, V>,
    private readonly grouped: GroupedOptions,
  ) {}

  /** Records per key; the count's serde defaults to `json`. */
  count(options: AggregateOptions<K, number> = {}): KTable<K, number> {
    return this.add('count', updates.count(), { ...options, valueSerde: options.valueSerde ?? 'json' });
  }

  /** Combines the values of a key into one of the same type, starting from the first. */
  reduce(reducer: (aggregate: V, value: V, key: K | null) => V, options: AggregateOptions<K, V> = {}): KTable<K, V> {
    return this.add('reduce', updates.reduce(reducer), { ...options, valueSerde: options.valueSerde ?? this.grouped.valueSerde });
  }

  /** Folds the values of a key into an aggregate, starting from `initializer()`. */
  aggregate<VA>(initializer: () => VA, aggregator: (key: K | null, value: V, aggregate: VA) => VA, options: AggregateOptions<K, VA> = {}): KTable<K, VA> {
    return this.add('aggregate', updates.aggregate(initializer, aggregator), options);
  }

  /** The same aggregations per time window (tumbling or hopping, with a grace period). */
  windowedBy(windows: WindowsArgument): TimeWindowedKStream<K, V> {
    return new TimeWindowedKStream<K, V>(this.draft, this.stream, this.grouped, windows);
  }

  private add<VA>(
    operation: 'count' | 'reduce' | 'aggregate',
    update: (previous: unknown, record: StreamRecord<K, V>) => unknown,
    options: AggregateOptions<K, VA>,
  ): KTable<K, VA> {
    return addAggregate<K, V, K, VA>({
      draft: this.draft,
      stream: this.stream,
      grouped: this.grouped,
      operation,
      update,
      window: undefined,
      emit: 'onWindowUpdate',
      name: options.name,
      valueSerde: options.valueSerde,
      store: options.store as StoreOptions<unknown, unknown> | undefined,
    });
  }
}
