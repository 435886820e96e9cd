/**
 * The stateful steps of a task: a table source applying its topic to its store, a stream-table join
 * reading a store, and an aggregation updating one (and its changelog). See `topology/graph.ts`,
 * "Contract for the runtime", for the semantics.
 *
 * Order. Each step keeps its records in arrival order. A store that can answer at once (`peek`: in
 * memory, a cache hit) is read synchronously; otherwise the record waits in a queue behind the ones
 * before it, so a slow PostgreSQL lookup never lets a later record overtake it. An aggregation reads
 * and writes one key after another, so two records of one key never see the same previous value.
 *
 * Lineage. Every changelog write and forwarded change holds a reference on the input's lineage, so
 * the input is committed only once its change reached the store's changelog. Store writes are made
 * durable by the store's `flush()` before each commit.
 */
import { ProcessingError, SerializationError, StateStoreError, toError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { valueOf, type KeyValueStore, type Lookup } from '../state/key-value-store.ts';
import { keyIdentity } from '../state/store-key.ts';
import type { AggregateNode, AnyRecord, JoinNode } from '../topology/graph.ts';
import { isClosed, windowAt, windowsFor, type Windowed } from '../topology/windows.ts';
import { publish } from './instrumentation.ts';
import { releaseLineage, retainLineage, type Lineage } from './lineage.ts';
import type { RecordOutput } from './record-output.ts';

/** What a stateful step needs from its task. */
export interface StepHost {
  readonly app: string;
  readonly partition: number;
  /** Hands a node's output to its children. */
  forward(node: string, record: AnyRecord): void;
  /** The stage's error policy for a record whose processing failed; releases the lineage. */
  fail(node: string, lineage: Lineage, error: unknown, stage: 'processing' | 'production'): void;
  /** A store write failed: the store no longer matches its topic, so the task cannot go on. */
  storeFailed(error: Error): void;
  streamTime(): number;
  readonly output: RecordOutput;
  isClosed(): boolean;
}

/** Keeps results in arrival order while some of them wait for a store. */
class OrderedQueue {
  private readonly waiting: Array<{ ready: boolean; run: () => void }> = [];

  get busy(): boolean {
    return this.waiting.length > 0;
  }

  /** Adds a slot that runs `run` once `settle` was called and every slot before it has run. */
  add(): { settle(run: () => void): void } {
    const slot = { ready: false, run: () => {} };
    this.waiting.push(slot);
    return {
      settle: (run) => {
        slot.run = run;
        slot.ready = true;
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.waiting[0]?.ready) {
      const slot = this.waiting.shift() as { run: () => void };
      slot.run();
    }
  }
}

/**
 * Starts a store write. Writes are not awaited per record: every layer applies a write to what it
 * reads before the write resolves, and durability comes from `flush()` at commit time, which fails
 * the commit when the store cannot write. A write that rejects right away is reported.
 */
export function startWrite(host: StepHost, node: string, store: KeyValueStore<unknown, unknown>, key: unknown, value: unknown): void {
  let write: Promise<void>;
  try {
    write = value === null ? store.delete(key) : store.put(key, value);
  } catch (error) {
    write = Promise.reject(toError(error));
  }
  write.catch((error: unknown) => host.storeFailed(new StateStoreError(`${node}: writing to store ${store.name} failed: ${toError(error).message}`, { cause: error, context: { node } })));
}

/**
 * A stream-table join: per record, the table value for `lookupKey(record)`; an inner join drops a
 * record without one, a left join passes `null` to the joiner.
 */
export function joinStep(host: StepHost, node: JoinNode, store: KeyValueStore<unknown, unknown>): (record: AnyRecord) => void {
  const queue = new OrderedQueue();
  const finish = (record: AnyRecord, tableValue: unknown) => {
    if (tableValue === undefined || tableValue === null) {
      if (node.joinType === 'inner') {
        releaseLineage(record.lineage);
        return;
      }
      tableValue = null;
    }
    let joined: unknown;
    try {
      joined = node.joiner(record, tableValue);
    } catch (error) {
      host.fail(node.name, record.lineage, error, 'processing');
      return;
    }
    host.forward(node.name, record.withValue(joined));
  };
  return (record) => {
    let key: unknown;
    try {
      key = node.lookupKey(record);
    } catch (error) {
      host.fail(node.name, record.lineage, error, 'processing');
      return;
    }
    if (key === null || key === undefined) {
      if (queue.busy) queue.add().settle(() => finish(record, null));
      else finish(record, null);
      return;
    }
    const known = queue.busy ? undefined : safePeek(store, key);
    if (known !== undefined) {
      finish(record, valueOf(known));
      return;
    }
    const slot = queue.add();
    store.get(key).then(
      (value) => slot.settle(() => finish(record, value)),
      (error: unknown) =>
        slot.settle(() =>
          host.fail(node.name, record.lineage, new StateStoreError(`${node.name}: looking up key ${describeKey(key)} in store ${store.name} failed: ${toError(error).message}`, { cause: error, context: { node: node.name } }), 'processing'),
        ),
    );
  };
}

function safePeek(store: KeyValueStore<unknown, unknown>, key: unknown): Lookup<unknown> | undefined {
  try {
    return store.peek?.(key);
  } catch {
    // The asynchronous path reports the error with the record.
    return undefined;
  }
}

function describeKey(key: unknown): string {
  const text = typeof key === 'string' ? key : JSON.stringify(key) ?? String(key);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export interface AggregateStepOptions {
  readonly node: AggregateNode;
  /** Keyed by the grouping key, or by `Windowed<K>` for a windowed aggregation. */
  readonly store: KeyValueStore<unknown, unknown>;
  /** Serdes of the store's key (windowed when windowed) and value, for the changelog. */
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  /** Full changelog topic name. */
  readonly changelogTopic: string;
  /** Windowed keys restored into the store, so their windows close (and are emitted) on time. */
  readonly restoredKeys?: readonly unknown[];
}

/**
 * An aggregation. Per record: the new aggregate of its key (each open window of it, when windowed)
 * goes to the store and to the changelog (partition = the task's), and is forwarded unless only final
 * results are wanted. Windowed: windows that stream time closed are emitted (`onWindowClose`) and
 * removed from the store with a changelog tombstone.
 */
export function aggregateStep(host: StepHost, options: AggregateStepOptions): (record: AnyRecord) => void {
  const { node, store } = options;
  const window = node.window;
  const identity = keyIdentity(options.keySerde, store.name);
  /** Open windows by start: the windowed keys each holds. */
  const open = new Map<number, Map<string, Windowed<unknown>>>();
  const remember = (windowed: Windowed<unknown>) => {
    let keys = open.get(windowed.window.start);
    if (keys === undefined) open.set(windowed.window.start, (keys = new Map()));
    keys.set(identity(windowed), windowed);
  };
  for (const key of options.restoredKeys ?? []) if (window !== undefined) remember(key as Windowed<unknown>);
  let chain: Promise<void> | undefined;
  let queued = 0;

  const writeChangelog = (key: unknown, value: unknown, timestamp: number, lineage: Lineage) => {
    let keyBytes: Buffer | null;
    let valueBytes: Buffer | null;
    try {
      keyBytes = options.keySerde.serialize(key, options.changelogTopic);
      valueBytes = value === null ? null : options.valueSerde.serialize(value, options.changelogTopic);
    } catch (error) {
      host.fail(node.name, lineage, new SerializationError(`${node.name}: serializing for changelog ${options.changelogTopic} failed: ${toError(error).message}`, { cause: error, context: { node: node.name } }), 'production');
      return;
    }
    host.output.write({ topic: options.changelogTopic, partition: host.partition, key: keyBytes, value: valueBytes, timestamp }, lineage, (error) =>
      host.fail(node.name, lineage, error, 'production'),
    );
  };

  /** Stores `value` under `key`, logs it, and forwards it when asked; each takes a lineage reference. */
  const change = (record: AnyRecord, key: unknown, value: unknown, forward: boolean) => {
    retainLineage(record.lineage, forward ? 2 : 1);
    startWrite(host, node.name, store, key, value);
    writeChangelog(key, value, record.timestamp, record.lineage);
    if (forward) host.forward(node.name, record.withKey(key).withValue(value));
  };

  /** The keys the record updates: its key, or one windowed key per window still open. */
  const targets = (record: AnyRecord): unknown[] => {
    if (window === undefined) return [record.key];
    const streamTime = host.streamTime();
    return windowsFor(record.timestamp, window)
      .filter((start) => !isClosed(start, window, streamTime))
      .map((start) => ({ key: record.key, window: windowAt(start, window) }));
  };

  /** Windows stream time has closed: emit their final values, then drop them. */
  const closeWindows = (record: AnyRecord, read: (key: unknown) => Lookup<unknown>, streamTime: number) => {
    if (window === undefined) return;
    for (const start of [...open.keys()].sort((a, b) => a - b)) {
      if (!isClosed(start, window, streamTime)) break;
      const keys = open.get(start) as Map<string, Windowed<unknown>>;
      open.delete(start);
      for (const windowed of keys.values()) {
        const final = valueOf(read(windowed));
        if (final === undefined) continue;
        if (node.emit === 'onWindowClose') {
          retainLineage(record.lineage);
          host.forward(node.name, record.withKey(windowed).withValue(final).withTimestamp(Math.max(record.timestamp, windowed.window.end - 1)));
        }
        change(record, windowed, null, false);
      }
    }
  };

  const apply = (record: AnyRecord, keys: readonly unknown[], previous: ReadonlyArray<Lookup<unknown>>, read: (key: unknown) => Lookup<unknown>, streamTime: number) => {
    if (host.isClosed()) {
      releaseLineage(record.lineage);
      return;
    }
    const updated: unknown[] = [];
    try {
      for (const index of keys.keys()) updated.push(node.update(valueOf(previous[index] as Lookup<unknown>), record));
    } catch (error) {
      host.fail(node.name, record.lineage, new ProcessingError(`${node.name}: ${node.operation} failed: ${toError(error).message}`, { cause: error, context: { node: node.name } }), 'processing');
      return;
    }
    const forward = window === undefined || node.emit === 'onWindowUpdate';
    for (const [index, key] of keys.entries()) {
      if (window !== undefined) remember(key as Windowed<unknown>);
      change(record, key, updated[index], forward);
    }
    // Written values are visible to reads at once (stores apply writes before they resolve).
    closeWindows(record, read, streamTime);
    releaseLineage(record.lineage);
  };

  const late = (record: AnyRecord) => {
    publish({ type: 'record.skipped', app: host.app, node: node.name, stage: 'processing', code: 'LATE_RECORD' });
    releaseLineage(record.lineage);
  };

  return (record) => {
    // As in Kafka Streams: aggregations skip records without a key or a value.
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) {
      releaseLineage(record.lineage);
      return;
    }
    const keys = targets(record);
    // Stream time as this record found it; a record waiting for the store closes no later window.
    const streamTime = host.streamTime();
    if (queued === 0) {
      const previous = keys.map((key) => safePeek(store, key));
      const closing = closingKeys(streamTime);
      const closingValues = closing.map((key) => safePeek(store, key));
      if (previous.every((p) => p !== undefined) && closingValues.every((p) => p !== undefined)) {
        const read = (key: unknown) => safePeek(store, key) ?? { kind: 'unknown' as const };
        if (keys.length === 0) {
          closeWindows(record, read, streamTime);
          late(record);
        } else apply(record, keys, previous as Lookup<unknown>[], read, streamTime);
        return;
      }
    }
    enqueue(record, keys, streamTime);
  };

  /** Windowed keys of windows that the current stream time closes. */
  function closingKeys(streamTime: number): Windowed<unknown>[] {
    if (window === undefined) return [];
    const out: Windowed<unknown>[] = [];
    for (const [start, keys] of open) if (isClosed(start, window, streamTime)) out.push(...keys.values());
    return out;
  }

  function enqueue(record: AnyRecord, keys: readonly unknown[], streamTime: number): void {
    queued += 1;
    const run = async () => {
      const previous = await Promise.all(keys.map((key) => store.lookup(key)));
      const closing = closingKeys(streamTime);
      const closingValues = new Map<string, Lookup<unknown>>();
      for (const key of closing) closingValues.set(identity(key), await store.lookup(key));
      const read = (key: unknown): Lookup<unknown> => closingValues.get(identity(key)) ?? safePeek(store, key) ?? { kind: 'unknown' };
      if (keys.length === 0) {
        closeWindows(record, read, streamTime);
        late(record);
      } else apply(record, keys, previous, read, streamTime);
    };
    chain = (chain ?? Promise.resolve())
      .then(run)
      .catch((error: unknown) =>
        host.fail(node.name, record.lineage, new StateStoreError(`${node.name}: reading store ${store.name} failed: ${toError(error).message}`, { cause: error, context: { node: node.name } }), 'processing'),
      )
      .finally(() => {
        queued -= 1;
      });
  }
}
