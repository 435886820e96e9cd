/**
 * The topology graph: plain nodes with names, parents and what they do. The DSL builds it; the
 * runtime compiles one pipeline per task from it; `describe()` prints it.
 *
 * A processor node carries a factory that builds its RxJS operator for one task, so the graph stays
 * free of I/O and the same topology can run many tasks side by side.
 *
 * ## Contract for the runtime: tables, joins and aggregations
 *
 * Everything a task needs is on the nodes; nothing here does I/O.
 *
 * Records and edges. `parents` are data edges. A node that holds a table (`table`, `globalTable`,
 * `aggregate`) sends each change of it to its children as a record: the key, the new value (or
 * `null` when a tombstone deleted the key), the timestamp of the record that caused it, and that
 * record's lineage. Its only child kind today is `toStream`, an identity processor. A `join` is
 * not a child of its table: it reads the table's store, so a table update never triggers a join
 * output, as in Kafka Streams' stream-table joins.
 *
 * Stores. `Topology.stores()` lists every `StoreSpec` with its owning node; build one per task (per
 * instance for a global table) with `materialize({ name: store.name, keySerde:
 * topology.serde(node, 'keySerde'), valueSerde: topology.serde(node, 'valueSerde'), ...store.layers })`,
 * `init()` it before use, `flush()` it at each commit, `close()` it with the task.
 *
 * - `table` (`builder.table`): before any task that joins it processes a stream record, restore its
 *   store from partition N of `store.changelog.topic` (the source topic: `internal: false`, so
 *   nothing is ever written to it) up to the high watermark. Then each record of the topic is put
 *   (a `null` value on the wire is a tombstone: delete, and do not hand the null to the value
 *   serde) and forwarded as a change.
 * - `globalTable` (`builder.globalTable`): the same over every partition, on every instance, outside
 *   any task (its sub-topology has `global: true` and `planTasks()` makes no task for it); restored
 *   before the app reports ready, then kept up to date.
 * - `join`: per record from its parent, `lookupKey(record)` gives the table key. A `null` or
 *   `undefined` lookup key is dropped by an inner join and joined with `null` by a left join (as
 *   Kafka Streams does since KIP-962). Otherwise `store.get(key)` of the `table` node's store:
 *   an inner join drops the record when it is absent; a left join calls `joiner(record, null)`.
 *   The output is `record.withValue(joiner(record, tableValue))`: same key, timestamp and lineage.
 *   `global: true` reads the instance's global store, which needs no co-partitioning.
 * - `aggregate`: records with a `null` key or value are dropped, as in Kafka Streams. Per record,
 *   `update(previous, record)` gives the new aggregate (`previous` is `undefined` the first time a
 *   key, or a window, is seen); store it and write the change to the compacted changelog
 *   `store.changelog` (`internal: true`; `Topology.topicName(store.changelog, applicationId)` gives
 *   `<applicationId>-<store.name>-changelog`; as wide as the sub-topology has tasks; task N owns
 *   partition N), from which a new owner restores it. A record counts as done for the commit
 *   once its change is in the changelog, not when a result is emitted.
 *   With a `window` (see `windows.ts`): the store and changelog key is the grouping key plus the
 *   window start (the runtime chooses the encoding around `keySerde`); a record updates each window
 *   `windowsFor(record.timestamp, window)` gives that `isClosed(start, window, streamTime)` does not
 *   call closed, where stream time is the task's highest record timestamp; a record all of whose
 *   windows are closed is dropped and counted as late. Results are keyed by `Windowed<K>`
 *   (`{ key, window: { start, end } }`). `emit: 'onWindowUpdate'` forwards every change;
 *   `'onWindowClose'` forwards each window's final value once, when stream time closes it.
 *
 * Tasks. `Topology.subtopologies()` groups nodes as `describe()` numbers them (a join links the
 * stream and table sides; repartition topics separate them). `Topology.planTasks()` checks that
 * the topics of each `Topology.copartitionGroups()` entry have one partition count (else an error
 * naming both topics and both counts) and lists the tasks `<subtopology>_<partition>`, each
 * reading partition N of every source topic (streams and tables) of its sub-topology.
 */
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { ErrorStage } from '../errors/dead-letter.ts';
import type { StreamRecord } from '../runtime/stream-record.ts';
import type { MaterializeOptions } from '../state/materialize.ts';
import type { WindowSpec } from './windows.ts';

/** Records as the wiring sees them: types are checked by the DSL, not here. */
export type AnyRecord = StreamRecord<unknown, unknown>;

/** What a node's operator can reach while it runs inside a task. */
export interface NodeContext {
  readonly nodeName: string;
  readonly taskId: string;
  /** Scheduler for time-based steps; virtual in the test driver. */
  readonly scheduler: SchedulerLike;
  /** Highest record timestamp this task has seen. */
  streamTime(): number;
  /**
   * Hands a record whose processing failed to the stage's error policy (dead-letter, continue or
   * fail). The record's lineage is released by the policy, so the caller must not release it.
   */
  fail(record: AnyRecord, error: unknown, stage?: ErrorStage): void;
  /**
   * Registers what to do when the task asks its steps to stop holding records (before a commit
   * under exactly-once, when the in-flight bound is reached, when the task closes): a step that
   * holds inputs emits or releases them. Returns the unregister function.
   */
  onFlush(callback: () => void): () => void;
  /**
   * True under exactly-once: a step must not pass on outputs it might have to take back (after an
   * error, its inputs are processed again), so it holds them until its inputs are settled.
   */
  readonly transactional: boolean;
}

export type { SerdeSpec } from '../serdes/serde-registry.ts';
import type { SerdeSpec } from '../serdes/serde-registry.ts';

interface NodeBase {
  readonly name: string;
  /** e.g. `map`, `filter`, `split`, `to`, `forEach`. */
  readonly type: string;
  readonly parents: readonly string[];
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly topic: string;
  /** Repartition topics are named `<applicationId>-<topic>` at run time. */
  readonly internal: boolean;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
}

export interface ProcessorNode extends NodeBase {
  readonly kind: 'processor';
  readonly build: (context: NodeContext) => OperatorFunction<AnyRecord, AnyRecord>;
}

/** Sends each record to exactly one of its children (by index), or to none (-1). */
export interface RouterNode extends NodeBase {
  readonly kind: 'router';
  readonly route: (record: AnyRecord) => number;
  /** Child node names, in the order `route` indexes them. */
  readonly routes: readonly string[];
}

export interface TopicSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'topic';
  readonly topic: string;
  readonly internal: boolean;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  /** Partitions of an internal topic; default: as many as the topology's widest input topic. */
  readonly partitions?: number;
}

export interface ForEachSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'forEach';
  readonly action: (record: AnyRecord, call: { readonly signal: AbortSignal }) => Promise<void>;
  readonly concurrency: number;
  /** A call still running after this long counts as failed (production error policy). */
  readonly timeoutMs: number;
}

/** Sends every record that reaches it to the dead-letter topic, in the standard format, whatever the error policy. */
export interface DeadLetterSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'deadLetter';
  /** Why the record is dead-lettered; shown in `dlq.error.message`. */
  readonly reason: (record: AnyRecord) => string;
}

export type SinkNode = TopicSinkNode | ForEachSinkNode | DeadLetterSinkNode;

/** The layers of a store, as `materialize()` takes them (name and serdes come from the node). */
export type StoreLayers = Omit<MaterializeOptions<unknown, unknown>, 'name' | 'keySerde' | 'valueSerde'>;

/**
 * A state store a node owns. Build it with
 * `materialize({ name, keySerde: topology.serde(node, 'keySerde'), valueSerde: topology.serde(node, 'valueSerde'), ...layers })`.
 */
export interface StoreSpec {
  /** Unique in the topology; letters, digits, '.', '_' and '-' (it names the changelog topic). */
  readonly name: string;
  readonly layers: StoreLayers;
  /**
   * The topic the store is restored from. `internal: false`: the table's own (compacted) source
   * topic, never written by the runtime. `internal: true`: `<store>-changelog`, prefixed with the
   * application id at run time, created compacted and written with every change.
   */
  readonly changelog: { readonly topic: string; readonly internal: boolean };
}

/** `builder.table()`: latest value per key of a topic; a `null` value deletes. */
export interface TableSourceNode extends NodeBase {
  readonly kind: 'table';
  readonly topic: string;
  readonly internal: false;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  readonly store: StoreSpec;
}

/** `builder.globalTable()`: like a table, fully replicated on every instance; no task reads it. */
export interface GlobalTableNode extends NodeBase {
  readonly kind: 'globalTable';
  readonly topic: string;
  readonly internal: false;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  readonly store: StoreSpec;
}

/** A stream-table join: enriches each record of its parent with the table's value for a key. */
export interface JoinNode extends NodeBase {
  readonly kind: 'join';
  readonly joinType: 'inner' | 'left';
  /** Name of the `table`, `globalTable` or `aggregate` node whose store is read. */
  readonly table: string;
  /** Name of that node's store. */
  readonly store: string;
  /** True when `table` is a global table (no co-partitioning needed). */
  readonly global: boolean;
  /** The table key to look up: the record's key, or the key selector's result for a global table. */
  readonly lookupKey: (record: AnyRecord) => unknown;
  /** The output value; `tableValue` is `null` for a left join that found nothing. */
  readonly joiner: (record: AnyRecord, tableValue: unknown) => unknown;
}

/** `count` / `reduce` / `aggregate`, optionally windowed: a table of one aggregate per key (and window). */
export interface AggregateNode extends NodeBase {
  readonly kind: 'aggregate';
  readonly operation: 'count' | 'reduce' | 'aggregate';
  /** The new aggregate; `previous` is `undefined` the first time a key (or window) is seen. */
  readonly update: (previous: unknown, record: AnyRecord) => unknown;
  /** Absent for a non-windowed aggregation. */
  readonly window: WindowSpec | undefined;
  /** Windowed only: forward every update, or only the final result when the window closes. */
  readonly emit: 'onWindowUpdate' | 'onWindowClose';
  /** Serdes of the store (key: the grouping key; value: the aggregate). */
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  readonly store: StoreSpec;
}

/** Nodes that hold a table and can be joined with. */
export type TableNode = TableSourceNode | GlobalTableNode | AggregateNode;

export type TopologyNode = SourceNode | ProcessorNode | RouterNode | SinkNode | TableSourceNode | GlobalTableNode | JoinNode | AggregateNode;
