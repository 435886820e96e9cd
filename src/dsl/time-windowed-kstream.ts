/**
 * A grouped stream cut into time windows (`groupByKey().windowedBy(windows)`): the aggregations give
 * one value per key and window, keyed by `Windowed<K>`. Window semantics: `topology/windows.ts`.
 *
 * @example
 * ratings.groupByKey().windowedBy(TimeWindows.ofSizeWithGrace(60_000, 5_000)).count({ emit: 'onWindowClose' }).toStream().to('ratings-per-minute')
 */
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { Windowed, WindowSpec } from '../topology/windows.ts';
import { addAggregate } from './aggregation.ts';
import { updates } from './kgrouped-stream.ts';
import type { KStream } from './kstream.ts';
import type { KTable } from './ktable.ts';
import type { GroupedOptions, StoreOptions, WindowedAggregateOptions } from './options.ts';
import type { GraphDraft } from './streams-builder.ts';
import { TimeWindows } from './time-windows.ts';

/** `TimeWindows.ofSizeWithGrace(...)`, or the same as an options object (advance defaults to the size, grace to 0). */
export type WindowsArgument = TimeWindows | { readonly sizeMs: number; readonly advanceMs?: number; readonly graceMs?: number };

function windowSpec(windows: WindowsArgument): WindowSpec {
  if (windows instanceof TimeWindows) return windows.spec;
  return { sizeMs: windows.sizeMs, advanceMs: windows.advanceMs ?? windows.sizeMs, graceMs: windows.graceMs ?? 0 };
}

export class TimeWindowedKStream<K, V> {
  private readonly window: WindowSpec;

  /** @internal */
  constructor(
    private readonly draft: GraphDraft,
    private readonly stream: KStream<K, V>,
    private readonly grouped: GroupedOptions,
    windows: WindowsArgument,
  ) {
    this.window = windowSpec(windows);
  }

  /** Records per key and window; the count's serde defaults to `json`. */
  count(options: WindowedAggregateOptions<K, number> = {}): KTable<Windowed<K>, number> {
    return this.add('count', updates.count(), { ...options, valueSerde: options.valueSerde ?? 'json' });
  }

  reduce(reducer: (aggregate: V, value: V, key: K | null) => V, options: WindowedAggregateOptions<K, V> = {}): KTable<Windowed<K>, V> {
    return this.add('reduce', updates.reduce(reducer), { ...options, valueSerde: options.valueSerde ?? this.grouped.valueSerde });
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K | null, value: V, aggregate: VA) => VA,
    options: WindowedAggregateOptions<K, VA> = {},
  ): KTable<Windowed<K>, VA> {
    return this.add('aggregate', updates.aggregate(initializer, aggregator), options);
  }

  private add<VA>(
    operation: 'count' | 'reduce' | 'aggregate',
    update: (previous: unknown, record: StreamRecord<K, V>) => unknown,
    options: WindowedAggregateOptions<K, VA>,
  ): KTable<Windowed<K>, VA> {
    return addAggregate<K, V, Windowed<K>, VA>({
      draft: this.draft,
      stream: this.stream,
      grouped: this.grouped,
      operation,
      update,
      window: this.window,
      emit: options.emit ?? 'onWindowUpdate',
      name: options.name,
      valueSerde: options.valueSerde,
      store: options.store as StoreOptions<unknown, unknown> | undefined,
    });
  }
}
