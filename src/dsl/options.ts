/**
 * Options objects of the DSL: one per call, every field optional unless the call cannot work
 * without it.
 */
import type { MaterializeOptions } from '../state/materialize.ts';
import type { SerdeSpec } from '../topology/graph.ts';

export interface Named {
  /** Overrides the generated node name (`KSTREAM-MAP-0000000003`); shown by describe() and in DLQ headers. */
  readonly name?: string;
}

export interface SerdeOptions {
  /** A Serde, or the name of a built-in one: `string`, `json`, `bytes`. Default: the builder's default. */
  readonly keySerde?: SerdeSpec;
  readonly valueSerde?: SerdeSpec;
}

export type StreamOptions = Named & SerdeOptions;
export type ToOptions = Named & SerdeOptions;

export interface RepartitionOptions extends Named, SerdeOptions {
  /** Partitions of the repartition topic; default: as many as the widest input topic. */
  readonly partitions?: number;
}

export interface ForEachOptions extends Named {
  /**
   * How many calls are awaited at once; default 1 (strictly in order). A call that timed out is
   * abandoned and its slot goes to the next record: pass `call.signal` to your client (axios,
   * fetch) so the abandoned call really stops.
   */
  readonly concurrency?: number;
  /** A call still running after this long counts as failed (production error policy) and its `signal` aborts; default 30000. */
  readonly timeoutMs?: number;
}

/** What a forEach action gets besides the record. */
export interface ForEachCall {
  /** Aborted when the call times out or its task closes; pass it to the HTTP client or database driver. */
  readonly signal: AbortSignal;
}

export interface TransformOptions extends Named {
  /**
   * How long the operators may hold a record before the step ends their epoch (completes them, so
   * they emit or drop what they hold, and starts fresh ones); default 1000. Raise it for operators
   * that are meant to hold records longer (`bufferTime(5000)`, `debounceTime(2000)`). See `pipe()`.
   */
  readonly maxHoldMs?: number;
  /**
   * How long an epoch's operators may take to complete once asked to (async work still running, a
   * `delay`) before the records they still hold go to the processing error policy as timed out;
   * default 30000.
   */
  readonly completionTimeoutMs?: number;
}

export interface DeadLetterOptions<K = unknown, V = unknown> extends Named {
  /** Why the records are dead-lettered (`dlq.error.message`): a text, or a function of the record. Default: "rejected by <name>". */
  readonly reason?: string | ((key: K | null, value: V) => string);
}

export interface BuilderOptions {
  readonly defaultKeySerde?: SerdeSpec;
  readonly defaultValueSerde?: SerdeSpec;
}

/**
 * How a table or aggregation keeps its state, `Materialized`-style: the layers `materialize()` in
 * `src/state/` stacks (PostgreSQL or in-memory, a read-through loader, an LRU cache in front).
 * Default: in memory, no cache, no loader.
 */
export interface StoreOptions<K, V> extends Omit<MaterializeOptions<K, V>, 'name' | 'keySerde' | 'valueSerde'> {
  /** The store's name, shown by describe(); names its changelog `<applicationId>-<name>-changelog`. Default: generated. */
  readonly name?: string;
}

export interface TableOptions<K, V> extends Named, SerdeOptions {
  readonly store?: StoreOptions<K, V>;
}

export interface JoinOptions extends Named, SerdeOptions {
  /**
   * Base name of the repartition topic inserted when the stream's key may have changed
   * (`<applicationId>-<name>-repartition`); default: the stream's node name. `keySerde` and
   * `valueSerde` are that topic's serdes (default: the builder's).
   */
  readonly repartitionName?: string;
}

export interface GroupedOptions extends SerdeOptions {
  /**
   * Base name of the repartition topic inserted when the key may have changed
   * (`<applicationId>-<name>-repartition`); default: the store's name. The serdes are the grouping
   * key's and the values' (default: the builder's).
   */
  readonly name?: string;
}

export interface AggregateOptions<K, VA> extends Named {
  /** Serde of the aggregate in the store and its changelog; `count()` defaults to `json`. */
  readonly valueSerde?: SerdeSpec;
  readonly store?: StoreOptions<K, VA>;
}

export interface WindowedAggregateOptions<K, VA> extends AggregateOptions<K, VA> {
  /**
   * `onWindowUpdate` (default) forwards every change of a window's aggregate; `onWindowClose`
   * forwards only its final result, once, when the window closes (Kafka Streams'
   * `EmitStrategy.onWindowClose()` / `suppress(untilWindowCloses)`).
   */
  readonly emit?: 'onWindowUpdate' | 'onWindowClose';
}
