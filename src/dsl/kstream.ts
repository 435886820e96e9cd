/**
 * A stream of keyed records. Every method adds a node to the topology and returns a new stream (or
 * nothing, for sinks); the key and value types flow through each step.
 */
import type { Observable, OperatorFunction } from 'rxjs';
import { filterRecords } from '../operators/filter.ts';
import { flatMapValues } from '../operators/flat-map-values.ts';
import { flatMapRecords } from '../operators/flat-map.ts';
import { mapValues } from '../operators/map-values.ts';
import { mapRecords, type KeyValue } from '../operators/map.ts';
import { peekRecords } from '../operators/peek.ts';
import { pipeStep } from '../operators/pipe-step.ts';
import { selectKey } from '../operators/select-key.ts';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { AnyRecord, NodeContext, TopicSinkNode } from '../topology/graph.ts';
import { BranchedKStream } from './branched-kstream.ts';
import type { DeadLetterOptions, ForEachCall, ForEachOptions, GroupedOptions, JoinOptions, Named, RepartitionOptions, ToOptions, TransformOptions } from './options.ts';
import { TopologyError } from '../errors/streams-error.ts';
import { HttpSink, type HttpSinkHandle, type HttpSinkOptions } from '../connectors/http-sink.ts';
import type { GlobalKTable } from './global-ktable.ts';
import { KGroupedStream } from './kgrouped-stream.ts';
import type { KTable } from './ktable.ts';
import { addJoin } from './stream-table-join.ts';

/** Node's timers fire at once for delays above this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkPositive(method: string, option: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS)) {
    throw new TopologyError(
      `${method}(): option ${option} must be a positive number of milliseconds up to ${MAX_TIMER_MS} (about 24.8 days, the longest timer Node runs; got ${String(value)})`,
    );
  }
}
import type { GraphDraft } from './streams-builder.ts';

type RecordOperator<K, V, K2, V2> = OperatorFunction<StreamRecord<K, V>, StreamRecord<K2, V2>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inference target only: any record type matches, K and V are read back below
type AnyStreamRecord = StreamRecord<any, any>;
type KeyOf<R> = R extends StreamRecord<infer K2, unknown> ? K2 : never;
type ValueOf<R> = R extends StreamRecord<unknown, infer V2> ? V2 : never;
type Joiner<K, V> = (value: V, tableValue: unknown, record: StreamRecord<K, V>) => unknown;
/** What follows the table in `join` / `leftJoin`: `(joiner, options?)` or `(keySelector, joiner, options?)`. */
type JoinArguments<K, V> = [Joiner<K, V> | ((key: K | null, value: V) => unknown), (Joiner<K, V> | JoinOptions)?, JoinOptions?];

/**
 * Whether a step may change the key. After one, a join with a table or an aggregation first sends
 * the records through a repartition topic, so that records meet the table partition (or the other
 * records) of their new key. `pipe` and `transform` may do anything, so they count as changing it.
 */
type KeyEffect = 'keeps-key' | 'changes-key';

export class KStream<K, V> {
  /** The repartitioned stream a join made, reused by later joins, as Kafka Streams does. */
  private repartitionedForJoin: KStream<K, V> | undefined;

  /** @internal */
  constructor(
    private readonly draft: GraphDraft,
    /** @internal the node whose output this stream is. */
    readonly nodeName: string,
    /** @internal true when a step since the last source or repartition may have changed the key. */
    readonly keyChanged = false,
  ) {}

  private processor<K2, V2>(
    type: string,
    prefix: string,
    options: Named,
    effect: KeyEffect,
    build: (context: NodeContext) => OperatorFunction<AnyRecord, AnyRecord>,
    parents: readonly string[] = [this.nodeName],
    keyChanged = this.keyChanged || effect === 'changes-key',
  ): KStream<K2, V2> {
    const name = options.name ?? this.draft.nextName(prefix);
    this.draft.add({ kind: 'processor', type, name, parents, build });
    return new KStream<K2, V2>(this.draft, name, keyChanged);
  }

  /** New key and value for each record. */
  map<K2, V2>(mapper: (key: K | null, value: V, record: StreamRecord<K, V>) => KeyValue<K2, V2>, options: Named = {}): KStream<K2, V2> {
    return this.processor('map', 'MAP', options, 'changes-key', (context) => mapRecords(context, mapper));
  }

  /** New value for each record; the key stays. */
  mapValues<V2>(mapper: (value: V, record: StreamRecord<K, V>) => V2, options: Named = {}): KStream<K, V2> {
    return this.processor('mapValues', 'MAPVALUES', options, 'keeps-key', (context) => mapValues(context, mapper));
  }

  /** Keeps the records the predicate accepts. */
  filter(predicate: (key: K | null, value: V, record: StreamRecord<K, V>) => boolean, options: Named = {}): KStream<K, V> {
    return this.processor('filter', 'FILTER', options, 'keeps-key', (context) => filterRecords(context, predicate));
  }

  /** Drops the records the predicate accepts. */
  filterNot(predicate: (key: K | null, value: V, record: StreamRecord<K, V>) => boolean, options: Named = {}): KStream<K, V> {
    return this.processor('filterNot', 'FILTER', options, 'keeps-key', (context) => filterRecords(context, predicate, true));
  }

  /** Zero or more key-value pairs per record. */
  flatMap<K2, V2>(
    mapper: (key: K | null, value: V, record: StreamRecord<K, V>) => Iterable<KeyValue<K2, V2>>,
    options: Named = {},
  ): KStream<K2, V2> {
    return this.processor('flatMap', 'FLATMAP', options, 'changes-key', (context) => flatMapRecords(context, mapper));
  }

  /** Zero or more values per record, each with the record's key. */
  flatMapValues<V2>(mapper: (value: V, record: StreamRecord<K, V>) => Iterable<V2>, options: Named = {}): KStream<K, V2> {
    return this.processor('flatMapValues', 'FLATMAPVALUES', options, 'keeps-key', (context) => flatMapValues(context, mapper));
  }

  /** A new key computed from each record. */
  selectKey<K2>(selector: (key: K | null, value: V, record: StreamRecord<K, V>) => K2, options: Named = {}): KStream<K2, V> {
    return this.processor('selectKey', 'KEY-SELECT', options, 'changes-key', (context) => selectKey(context, selector));
  }

  /** Looks at each record without changing it. */
  peek(action: (key: K | null, value: V, record: StreamRecord<K, V>) => void, options: Named = {}): KStream<K, V> {
    return this.processor('peek', 'PEEK', options, 'keeps-key', (context) => peekRecords(context, action));
  }

  /** Records of this stream and `other`, interleaved as they arrive. */
  merge(other: KStream<K, V>, options: Named = {}): KStream<K, V> {
    return this.processor('merge', 'MERGE', options, 'keeps-key', () => (source) => source, [this.nodeName, other.nodeName], this.keyChanged || other.keyChanged);
  }

  /** Splits the stream into named branches; each record goes to the first branch whose predicate accepts it. */
  split(options: Named = {}): BranchedKStream<K, V> {
    return new BranchedKStream<K, V>(this.draft, this.nodeName, options.name, this.keyChanged);
  }

  /**
   * A custom step of ordinary RxJS operators over records. Derive outputs from inputs with
   * `record.withValue()` / `withKey()`, or `combineRecords()` when several become one, so their
   * input offsets are committed only when the outputs are done.
   *
   * @example stream.pipe(bufferCount(10), map((batch) => combineRecords(batch, { key: null, value: batch.length })))
   */
  pipe<A extends AnyStreamRecord>(op1: OperatorFunction<StreamRecord<K, V>, A>): KStream<KeyOf<A>, ValueOf<A>>;
  pipe<A, B extends AnyStreamRecord>(op1: OperatorFunction<StreamRecord<K, V>, A>, op2: OperatorFunction<A, B>): KStream<KeyOf<B>, ValueOf<B>>;
  pipe<A, B, C extends AnyStreamRecord>(
    op1: OperatorFunction<StreamRecord<K, V>, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
  ): KStream<KeyOf<C>, ValueOf<C>>;
  pipe<A, B, C, D extends AnyStreamRecord>(
    op1: OperatorFunction<StreamRecord<K, V>, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
  ): KStream<KeyOf<D>, ValueOf<D>>;
  pipe(...operators: Array<OperatorFunction<never, unknown>>): KStream<unknown, unknown> {
    // The overloads check each operator against the previous one; at run time they are one chain.
    const chain = (source: Observable<AnyRecord>): Observable<unknown> =>
      (operators as unknown as Array<OperatorFunction<unknown, unknown>>).reduce<Observable<unknown>>((acc, operator) => acc.pipe(operator), source);
    return this.processor('pipe', 'PIPE', {}, 'changes-key', (context) => pipeStep(context, () => chain));
  }

  /**
   * Like `pipe`, with the operator built per task from a factory that gets the node context (its
   * scheduler, which is virtual in the test driver) and with options.
   */
  transform<K2, V2>(factory: (context: NodeContext) => RecordOperator<K, V, K2, V2>, options: TransformOptions = {}): KStream<K2, V2> {
    checkPositive('transform', 'maxHoldMs', options.maxHoldMs);
    checkPositive('transform', 'completionTimeoutMs', options.completionTimeoutMs);
    const stepOptions = {
      ...(options.maxHoldMs === undefined ? {} : { maxHoldMs: options.maxHoldMs }),
      ...(options.completionTimeoutMs === undefined ? {} : { completionTimeoutMs: options.completionTimeoutMs }),
    };
    return this.processor('transform', 'TRANSFORM', options, 'changes-key', (context) =>
      pipeStep(context, factory as unknown as (context: NodeContext) => OperatorFunction<AnyRecord, unknown>, stepOptions),
    );
  }

  /** Writes every record to `topic`. */
  to(topic: string, options: ToOptions = {}): void {
    this.addTopicSink({ type: 'to', name: options.name ?? this.draft.nextName('SINK'), topic, internal: false, ...this.draft.serdes(options) });
  }

  /**
   * Sends the records through an internal topic `<applicationId>-<name>-repartition`, so that
   * records with the same (new) key meet in the same partition downstream.
   */
  repartition(options: RepartitionOptions = {}): KStream<K, V> {
    const base = options.name ?? this.draft.nextName('REPARTITION');
    const topic = `${base}-repartition`;
    const serdes = this.draft.serdes(options);
    this.addTopicSink({
      type: 'repartition',
      name: `${base}-sink`,
      topic,
      internal: true,
      ...serdes,
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    });
    const source = `${base}-source`;
    this.draft.add({ kind: 'source', type: 'repartition', name: source, parents: [], topic, internal: true, ...serdes });
    return new KStream<K, V>(this.draft, source, false);
  }

  /**
   * Enriches each record with the table's value for its key; records the table has no value for
   * are dropped. With a `GlobalKTable`, the table key comes from `keySelector` and no
   * co-partitioning is needed. Table updates never trigger an output (a stream-table join).
   *
   * After a step that may change the key (`selectKey`, `map`, `flatMap`, `pipe`, `transform`),
   * joining a `KTable` first sends the records through `<applicationId>-<name>-repartition`, so
   * each meets the table partition of its key.
   *
   * @example ratings.join(users, (rating, user) => ({ ...rating, userName: user.name }))
   * @example ratings.join(products, (_key, rating) => rating.productId, (rating, product) => ({ ...rating, product: product.title }))
   */
  join<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT, record: StreamRecord<K, V>) => VR, options?: JoinOptions): KStream<K, VR>;
  join<KT, VT, VR>(
    table: GlobalKTable<KT, VT>,
    keySelector: (key: K | null, value: V) => KT,
    joiner: (value: V, tableValue: VT, record: StreamRecord<K, V>) => VR,
    options?: JoinOptions,
  ): KStream<K, VR>;
  join(table: KTable<K, unknown> | GlobalKTable<unknown, unknown>, ...rest: JoinArguments<K, V>): KStream<K, unknown> {
    return this.joinTable('inner', table, rest);
  }

  /** Like `join`, but a record the table has no value for is kept: the joiner gets `null`. */
  leftJoin<VT, VR>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | null, record: StreamRecord<K, V>) => VR, options?: JoinOptions): KStream<K, VR>;
  leftJoin<KT, VT, VR>(
    table: GlobalKTable<KT, VT>,
    keySelector: (key: K | null, value: V) => KT,
    joiner: (value: V, tableValue: VT | null, record: StreamRecord<K, V>) => VR,
    options?: JoinOptions,
  ): KStream<K, VR>;
  leftJoin(table: KTable<K, unknown> | GlobalKTable<unknown, unknown>, ...rest: JoinArguments<K, V>): KStream<K, unknown> {
    return this.joinTable('left', table, rest);
  }

  private joinTable(joinType: 'inner' | 'left', table: KTable<K, unknown> | GlobalKTable<unknown, unknown>, rest: JoinArguments<K, V>): KStream<K, unknown> {
    const [first, second, third] = rest;
    const withSelector = typeof second === 'function';
    const joiner = (withSelector ? second : first) as Joiner<K, V>;
    const keySelector = withSelector ? (first as (key: K | null, value: V) => unknown) : undefined;
    const options = (withSelector ? third : second) ?? {};
    const parent = keySelector === undefined ? this.copartitioned(options) : this;
    const name = addJoin<K, V>({ draft: this.draft, parent: parent.nodeName, joinType, table: table as KTable<unknown, unknown>, keySelector, joiner, options });
    // A co-partitioned join's output is partitioned by its key; a global join keeps what its input had.
    return new KStream<K, unknown>(this.draft, name, keySelector === undefined ? false : this.keyChanged);
  }

  /** This stream, or (after a key change) its records through a repartition topic. */
  private copartitioned(options: JoinOptions): KStream<K, V> {
    if (!this.keyChanged) return this;
    // Later joins reuse the first one's repartition topic (and its name and serdes).
    this.repartitionedForJoin ??= this.repartition({
      name: options.repartitionName ?? this.nodeName,
      ...(options.keySerde === undefined ? {} : { keySerde: options.keySerde }),
      ...(options.valueSerde === undefined ? {} : { valueSerde: options.valueSerde }),
    });
    return this.repartitionedForJoin;
  }

  /**
   * Groups records by their key for `count`, `reduce` or `aggregate`. After a step that may have
   * changed the key, the aggregation first repartitions by it.
   */
  groupByKey(options: GroupedOptions = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this.draft, this, options);
  }

  /**
   * Groups records by a new key; the aggregation repartitions by it
   * (`<applicationId>-<name>-repartition`), as Kafka Streams does.
   */
  groupBy<KG>(selector: (key: K | null, value: V, record: StreamRecord<K, V>) => KG, options: GroupedOptions = {}): KGroupedStream<KG, V> {
    return new KGroupedStream<KG, V>(this.draft, this.selectKey(selector), options);
  }

  private addTopicSink(sink: Omit<TopicSinkNode, 'kind' | 'sink' | 'parents'>): void {
    this.draft.add({ kind: 'sink', sink: 'topic', parents: [this.nodeName], ...sink });
  }

  /**
   * Runs an async side effect for each record (an HTTP call, a database write). A record counts as
   * done when the promise resolves; a rejection goes to the production error policy.
   */
  forEach(action: (key: K | null, value: V, record: StreamRecord<K, V>, call: ForEachCall) => Promise<void>, options: ForEachOptions = {}): void {
    checkPositive('forEach', 'timeoutMs', options.timeoutMs);
    this.draft.add({
      kind: 'sink',
      sink: 'forEach',
      type: 'forEach',
      name: options.name ?? this.draft.nextName('FOREACH'),
      parents: [this.nodeName],
      action: (record, call) => {
        const typed = record as StreamRecord<K, V>;
        return action(typed.key, typed.value, typed, call);
      },
      concurrency: options.concurrency ?? 1,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /**
   * Sends each record to an HTTP endpoint (one request per record, `Idempotency-Key` set), with
   * retries, a circuit breaker that makes calls wait out an outage, and permanent 4xx answers sent
   * to the production error policy. See `connectors/http-sink.ts`.
   *
   * @example
   * const sink = ratings.toHttp({ url: 'https://api.example.com/ratings', auth: `Bearer ${process.env.API_TOKEN}` });
   * setInterval(() => console.log(sink.stats()), 10_000);
   */
  toHttp(options: HttpSinkOptions<K, V>): HttpSinkHandle {
    const name = options.name ?? this.draft.nextName('HTTP-SINK');
    checkPositive('toHttp', 'timeoutMs', options.timeoutMs);
    checkPositive('toHttp', 'callTimeoutMs', options.callTimeoutMs);
    const sink = new HttpSink<K, V>(name, options);
    // The forEach node's timeout fails a call that takes too long. An HTTP call waiting for an open
    // circuit is meant to take long: that wait is the backpressure (records stay in flight, the
    // in-flight bound pauses consumption). A node timeout of the usual 30 s would turn every outage
    // into dead letters, so it defaults to the longest timer Node runs; calls still end on success,
    // a permanent failure, `maxAttempts` failures while the circuit is closed, or a closing task.
    // `callTimeoutMs` bounds the whole call for those who prefer dead letters to waiting.
    this.forEach((_key, _value, record, call) => sink.send(record, call.signal), {
      name,
      concurrency: options.concurrency ?? 8,
      timeoutMs: options.callTimeoutMs ?? MAX_TIMER_MS,
    });
    return sink;
  }

  /**
   * Sends every record that reaches it to the dead-letter topic in the standard format (the input's
   * original bytes and headers, `dlq.*` error headers with code `RECORD_REJECTED` and the reason),
   * whatever the error policy: the step for records a topology finds invalid.
   *
   * @example
   * const { valid, invalid } = ratings.split().branch((_k, r) => r.score >= 1 && r.score <= 5, { name: 'valid' }).defaultBranch({ name: 'invalid' });
   * invalid.deadLetter({ reason: (_k, r) => `score ${r.score} is outside 1..5` });
   */
  deadLetter(options: DeadLetterOptions<K, V> = {}): void {
    const name = options.name ?? this.draft.nextName('DEADLETTER');
    const { reason } = options;
    this.draft.add({
      kind: 'sink',
      sink: 'deadLetter',
      type: 'deadLetter',
      name,
      parents: [this.nodeName],
      reason:
        typeof reason === 'function'
          ? (record) => reason(record.key as K | null, record.value as V)
          : () => reason ?? `rejected by ${name}`,
    });
  }
}
