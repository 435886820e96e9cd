/**
 * A task runs the part of the topology fed by one input topic-partition: its own instance of every
 * node reachable from that source, wired with RxJS subjects. Records are processed synchronously up
 * to asynchronous steps; `close()` tears the whole pipeline down.
 */
import type { SchedulerLike, Subject, Subscription } from 'rxjs';
import { ConfigError, ProductionError, SerializationError, StateStoreError, StreamsError, toError, withoutStack } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import type { AnyRecord, DeadLetterSinkNode, ForEachSinkNode, NodeContext, TopicSinkNode, TopologyNode } from '../topology/graph.ts';
import type { Topology } from '../topology/topology.ts';
import type { IncomingRecord } from '../transport/transport.ts';
import type { ErrorStage } from '../errors/dead-letter.ts';
import type { ErrorRouter } from './error-router.ts';
import { instrumentationEnabled, publish } from './instrumentation.ts';
import { PartitionProgress, releaseLineage, retainLineage, type Lineage, type ProgressListener } from './lineage.ts';
import type { RecordOutput } from './record-output.ts';
import { RecordSubject } from './record-subject.ts';
import { StreamRecord } from './stream-record.ts';
import { aggregateStep, joinStep, startWrite, type StepHost } from './stateful-steps.ts';
import { GLOBAL, type StateStores, type StoreHandle } from './state-stores.ts';

export interface TaskDependencies {
  readonly app: string;
  readonly topology: Topology;
  readonly output: RecordOutput;
  readonly errors: ErrorRouter;
  readonly scheduler: SchedulerLike;
  /** Topic name as written to the log (internal topics get the application id prefix). */
  readonly topicName: (node: { readonly topic: string; readonly internal: boolean }) => string;
  readonly progressListener?: ProgressListener;
  /** True under exactly-once (see `NodeContext.transactional`). */
  readonly transactional?: boolean;
  /** The state stores tables, joins and aggregations use; required when the topology has any. */
  readonly stores?: StateStores;
  /**
   * A table task: records below this offset were processed before (it is the committed offset the
   * task started from); they only rebuild the store and are not forwarded again.
   */
  readonly restoreUntil?: number;
}

export class Task {
  readonly id: string;
  readonly progress: PartitionProgress;
  private readonly inputs = new Map<string, Subject<AnyRecord>>();
  private readonly subscriptions: Subscription[] = [];
  private readonly keySerde: Serde<unknown>;
  private readonly valueSerde: Serde<unknown>;
  private streamTimeValue = 0;
  private actionsRunning = 0;
  private closed = false;
  private nextOffset: number | undefined;
  private readonly flushers = new Set<() => void>();
  private readonly closers = new Set<() => void>();
  /** Set when the task reads a table's topic: records update its store. */
  private readonly table: StoreHandle | undefined;

  constructor(
    private readonly deps: TaskDependencies,
    private readonly sourceName: string,
    readonly topic: string,
    readonly partition: number,
  ) {
    this.id = `${topic}-${partition}`;
    this.progress = new PartitionProgress(topic, partition, deps.progressListener, deps.app);
    this.keySerde = deps.topology.serde(sourceName, 'keySerde');
    this.valueSerde = deps.topology.serde(sourceName, 'valueSerde');
    const source = deps.topology.node(sourceName);
    this.table = source.kind === 'table' ? this.store(source.store.name, partition) : undefined;
    this.wire();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Highest timestamp of the records this task has taken in. */
  get streamTime(): number {
    return this.streamTimeValue;
  }

  /**
   * The offset after the last input record this task took in. A task never takes an offset twice:
   * a consumer that delivers a batch again (kafkajs does after a failed heartbeat or a rejected
   * batch) must not process records the task already holds. Re-reading means a new task.
   */
  get position(): number | undefined {
    return this.nextOffset;
  }

  /** Whether `process` would take this record in (it is new to this task and the task is open). */
  accepts(raw: IncomingRecord): boolean {
    return !this.closed && (this.nextOffset === undefined || raw.offset >= this.nextOffset);
  }

  /** Whether `process` only rebuilds the table's store with this record: it takes no in-flight slot and is never committed. */
  rebuildsOnly(raw: IncomingRecord): boolean {
    return this.table !== undefined && raw.offset < (this.deps.restoreUntil ?? 0);
  }

  /** forEach actions started and not yet settled. */
  get pendingActions(): number {
    return this.actionsRunning;
  }

  /** Runs `callback` when the task closes; returns the unregister function. */
  private onClose(callback: () => void): () => void {
    this.closers.add(callback);
    return () => this.closers.delete(callback);
  }

  /**
   * Asks every step that holds input records (`pipe()` / `transform()`) to emit or release them
   * now. Afterwards the task's window empties as soon as its sinks acknowledge what is on its way.
   */
  flush(): void {
    for (const flush of [...this.flushers]) flush();
  }

  /**
   * Decodes one input record and pushes it through the pipeline. A record that only rebuilds the
   * table's store returns the store write: awaiting it lets a store that buffers writes (PostgreSQL,
   * `maxPendingEntries`) hold restoration back while it flushes, instead of taking in the whole
   * topic. The promise never rejects; a failed write is fatal, as in processing.
   */
  process(raw: IncomingRecord): Promise<void> | undefined {
    if (!this.accepts(raw)) return undefined;
    this.nextOffset = raw.offset + 1;
    if (this.table !== undefined) return this.processTableRecord(this.table, raw);
    const origin = this.progress.track(raw);
    const lineage = [origin];
    let key: unknown;
    let value: unknown;
    try {
      key = this.keySerde.deserialize(raw.key, raw.topic);
      value = this.valueSerde.deserialize(raw.value, raw.topic);
    } catch (error) {
      this.deps.errors.handle('deserialization', this.sourceName, lineage, error);
      return;
    }
    if (raw.timestamp > this.streamTimeValue) this.streamTimeValue = raw.timestamp;
    // The input record is its own source: it has the topic, partition and offset, and nothing changes it.
    const record = new StreamRecord(key, value, raw.headers, raw.timestamp, raw, lineage);
    this.forward(this.sourceName, record);
    return undefined;
  }

  /**
   * A record of a table's topic: the store takes it (a `null` value deletes without reaching the
   * value serde), then the change goes to the table's children, unless the record is below
   * `restoreUntil` and only rebuilds the store.
   */
  private processTableRecord(table: StoreHandle, raw: IncomingRecord): Promise<void> | undefined {
    if (this.rebuildsOnly(raw)) {
      return this.deps.stores?.restore(table, raw, () => undefined)?.catch((error: unknown) => {
        this.deps.errors.fatal(new StateStoreError(`${this.sourceName}: restoring store ${table.name} failed: ${toError(error).message}`, { cause: error, context: { node: this.sourceName } }));
      });
    }
    const lineage = [this.progress.track(raw)];
    let key: unknown;
    let value: unknown;
    try {
      key = this.keySerde.deserialize(raw.key, raw.topic);
      value = raw.value === null ? null : this.valueSerde.deserialize(raw.value, raw.topic);
    } catch (error) {
      this.deps.errors.handle('deserialization', this.sourceName, lineage, error);
      return;
    }
    // As in Kafka Streams, a table record without a key cannot be stored.
    if (key === null || key === undefined) {
      releaseLineage(lineage);
      return;
    }
    if (raw.timestamp > this.streamTimeValue) this.streamTimeValue = raw.timestamp;
    // Applied to the store before the change is forwarded; a `null` value deletes.
    startWrite(this.host(), this.sourceName, table.store, key, value);
    const record = new StreamRecord(key, value, raw.headers, raw.timestamp, { topic: raw.topic, partition: raw.partition, offset: raw.offset }, lineage);
    this.forward(this.sourceName, record);
    return undefined;
  }

  /** The open store `storeName` of this task's partition (or the instance's global one). */
  private store(storeName: string, partition: number): StoreHandle {
    const handle = this.deps.stores?.get(storeName, partition);
    if (handle === undefined) {
      throw new StreamsError(`task ${this.id}: store ${storeName} (partition ${partition === GLOBAL ? 'global' : partition}) is not open`, { code: 'TOPOLOGY_INVALID' });
    }
    return handle;
  }

  private hostValue: StepHost | undefined;

  /** What the stateful steps see of this task. */
  private host(): StepHost {
    this.hostValue ??= {
      app: this.deps.app,
      partition: this.partition,
      forward: (node, record) => this.forward(node, record),
      fail: (node, lineage, error, stage) => this.deps.errors.handle(stage, node, lineage, error),
      storeFailed: (error) => this.deps.errors.fatal(error),
      streamTime: () => this.streamTimeValue,
      output: {
        // A closed task's changelog writes must not land after the next owner's.
        write: (record, lineage, onError) => {
          if (this.closed) releaseLineage(lineage);
          else this.deps.output.write(record, lineage, onError);
        },
        flush: () => this.deps.output.flush(),
        close: async () => {},
      },
      isClosed: () => this.closed,
    };
    return this.hostValue;
  }

  /** Stops the pipeline; records still in flight no longer move the commit point. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.progress.close();
    // Tearing the steps down releases what they hold; sinks drop what still reaches them.
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const input of this.inputs.values()) input.complete();
    this.flushers.clear();
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }

  private wire(): void {
    // The source has no input subject: process() forwards its records to the children directly.
    const nodes = this.deps.topology.descendants(this.sourceName).filter((node) => node.kind !== 'source' && node.name !== this.sourceName);
    for (const node of nodes) this.inputs.set(node.name, new RecordSubject<AnyRecord>());
    for (const node of nodes) {
      const input = this.inputs.get(node.name) as Subject<AnyRecord>;
      switch (node.kind) {
        case 'processor':
          this.subscriptions.push(input.pipe(node.build(this.contextFor(node.name))).subscribe((out) => this.forward(node.name, out)));
          break;
        case 'router':
          this.subscriptions.push(input.subscribe((record) => this.route(node.name, node.route, node.routes, record)));
          break;
        case 'sink':
          this.subscriptions.push(this.runSink(node, input));
          break;
        case 'join': {
          const table = this.store(node.store, node.global ? GLOBAL : this.partition);
          this.subscriptions.push(input.subscribe(joinStep(this.host(), node, table.store)));
          break;
        }
        case 'aggregate': {
          const handle = this.store(node.store.name, this.partition);
          // Stream time survives a restart through the changelog: closed windows stay closed.
          this.streamTimeValue = Math.max(this.streamTimeValue, handle.restoredStreamTime());
          const step = aggregateStep(this.host(), {
            node,
            store: handle.store,
            keySerde: handle.keySerde,
            valueSerde: handle.valueSerde,
            changelogTopic: this.deps.topicName(node.store.changelog),
            restoredKeys: handle.restoredKeys(),
          });
          this.subscriptions.push(input.subscribe(step));
          break;
        }
        default:
          // Table sources start tasks of their own; a global table is read outside any task.
          throw new ConfigError(`${node.name}: a ${node.kind} node cannot be fed by another node`);
      }
    }
  }

  private contextFor(nodeName: string): NodeContext {
    return {
      nodeName,
      taskId: this.id,
      scheduler: this.deps.scheduler,
      streamTime: () => this.streamTimeValue,
      fail: (record, error, stage: ErrorStage = 'processing') => this.deps.errors.handle(stage, nodeName, record.lineage, error),
      onFlush: (callback) => {
        this.flushers.add(callback);
        return () => this.flushers.delete(callback);
      },
      transactional: this.deps.transactional ?? false,
    };
  }

  private runSink(node: TopologyNode & { kind: 'sink' }, input: Subject<AnyRecord>): Subscription {
    switch (node.sink) {
      case 'topic':
        return input.subscribe(this.topicWriter(node));
      case 'forEach':
        return this.runForEach(node, input);
      case 'deadLetter':
        return input.subscribe((record) => this.deadLetter(node, record));
    }
  }

  private deadLetter(node: DeadLetterSinkNode, record: AnyRecord): void {
    let reason: string;
    try {
      reason = node.reason(record);
    } catch (error) {
      reason = `the reason function of ${node.name} threw: ${toError(error).message}`;
    }
    // Nothing threw: the runtime's own call stack would say nothing about the record.
    const error = withoutStack(() => new StreamsError(`${node.name}: ${reason}`, { code: 'RECORD_REJECTED', context: { node: node.name } }));
    this.deps.errors.handle('processing', node.name, record.lineage, error, 'dead-letter');
  }

  /** Hands a node's output to its children; each child gets its own reference on the lineage. */
  private forward(nodeName: string, record: AnyRecord): void {
    if (this.closed) {
      releaseLineage(record.lineage);
      return;
    }
    if (instrumentationEnabled()) publish({ type: 'node.out', app: this.deps.app, node: nodeName, count: 1 });
    const children = this.deps.topology.children(nodeName);
    if (children.length === 0) {
      releaseLineage(record.lineage);
      return;
    }
    retainLineage(record.lineage, children.length - 1);
    for (const child of children) this.inputs.get(child)?.next(record);
  }

  private route(nodeName: string, route: (record: AnyRecord) => number, routes: readonly string[], record: AnyRecord): void {
    let index: number;
    try {
      index = route(record);
    } catch (error) {
      this.deps.errors.handle('processing', nodeName, record.lineage, error);
      return;
    }
    const child = routes[index];
    if (child === undefined) {
      releaseLineage(record.lineage);
      return;
    }
    if (instrumentationEnabled()) publish({ type: 'node.out', app: this.deps.app, node: nodeName, count: 1 });
    this.inputs.get(child)?.next(record);
  }

  /** The per-record write of a topic sink; topic name and serdes are resolved once, not per record. */
  private topicWriter(node: TopicSinkNode): (record: AnyRecord) => void {
    const { topology, output, errors } = this.deps;
    const topic = this.deps.topicName(node);
    const keySerde = topology.serde(node.name, 'keySerde');
    const valueSerde = topology.serde(node.name, 'valueSerde');
    return (record) => {
      // A closed task's partition has a new owner: what its steps still emit must not land after
      // the new owner's writes. Its inputs are read again from the last commit.
      if (this.closed) {
        releaseLineage(record.lineage);
        return;
      }
      let key: Buffer | null;
      let value: Buffer | null;
      try {
        key = keySerde.serialize(record.key, topic);
        value = valueSerde.serialize(record.value, topic);
      } catch (error) {
        const wrapped =
          error instanceof SerializationError
            ? error
            : new SerializationError(`${node.name}: serializing for ${topic} failed: ${toError(error).message}`, { cause: error, context: { node: node.name, topic } });
        errors.handle('production', node.name, record.lineage, wrapped);
        return;
      }
      output.write({ topic, key, value, headers: record.headers, timestamp: record.timestamp }, record.lineage, (error) =>
        errors.handle('production', node.name, record.lineage, error),
      );
    };
  }

  /**
   * Runs the action with at most `concurrency` records at once; queued records wait in order (the
   * in-flight bound keeps the queue finite). A call that has not settled after `timeoutMs` counts
   * as failed and goes to the production error policy, so one hung call cannot hold its partition's
   * commit, and through it intake, forever; whatever it does later is ignored.
   */
  private runForEach(node: ForEachSinkNode, input: Subject<AnyRecord>): Subscription {
    const queue: AnyRecord[] = [];
    let active = 0;
    const start = (record: AnyRecord) => {
      active += 1;
      this.actionsRunning += 1;
      let settled = false;
      const abort = new AbortController();
      const settle = (error?: unknown) => {
        if (settled) return;
        settled = true;
        timer.unsubscribe();
        closeWatch();
        // A call abandoned on timeout (or by a closing task) is told to stop.
        if (error !== undefined || this.closed) abort.abort(error ?? new Error('the task closed'));
        active -= 1;
        this.actionsRunning -= 1;
        if (error === undefined || this.closed) releaseLineage(record.lineage);
        else this.failSink(node, record.lineage, error);
        // A closed task starts nothing new; what waited for a slot is let go.
        if (this.closed) for (const queued of queue.splice(0)) releaseLineage(queued.lineage);
        const next = queue.shift();
        if (next !== undefined) start(next);
      };
      const closeWatch = this.onClose(() => abort.abort(new Error('the task closed')));
      const timer = this.deps.scheduler.schedule(() => {
        settle(
          new ProductionError(`${node.name}: forEach action did not settle within ${node.timeoutMs} ms`, {
            code: 'SINK_FAILED',
            cause: new StreamsError('timed out', { code: 'TIMED_OUT' }),
            retriable: true,
            context: { node: node.name },
          }),
        );
      }, node.timeoutMs);
      let result: Promise<void>;
      try {
        // Called synchronously so the test driver sees the call as soon as the record arrives.
        result = Promise.resolve(node.action(record, { signal: abort.signal }));
      } catch (error) {
        result = Promise.reject(error);
      }
      result.then(
        () => settle(),
        (error: unknown) => settle(error ?? new Error('forEach action rejected without a reason')),
      );
    };
    const subscription = input.subscribe((record) => {
      if (active < node.concurrency) start(record);
      else queue.push(record);
    });
    subscription.add(() => {
      for (const queued of queue.splice(0)) releaseLineage(queued.lineage);
    });
    return subscription;
  }

  private failSink(node: ForEachSinkNode, lineage: Lineage, error: unknown): void {
    const cause = toError(error);
    const wrapped =
      cause instanceof ProductionError
        ? cause
        : new ProductionError(`${node.name}: forEach action failed: ${cause.message}`, { code: 'SINK_FAILED', cause, context: { node: node.name } });
    this.deps.errors.handle('production', node.name, lineage, wrapped);
  }
}
