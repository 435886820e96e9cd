/**
 * Runs a topology synchronously on an in-memory broker, with no consumer group and no timers of its
 * own: `pipeInput` processes the record (and anything it writes to topics the topology reads, such
 * as repartition topics) before it returns, so outputs can be read right away. Wall-clock time is
 * virtual and moves only with `advanceWallClockTime`; stream time follows record timestamps.
 *
 * @example
 * const driver = new TopologyTestDriver(topology);
 * const input = driver.createInputTopic('ratings', { keySerde: 'string', valueSerde: 'json' });
 * const output = driver.createOutputTopic('ratings_clean', { keySerde: 'string', valueSerde: 'json' });
 * input.pipeInput('r1', { score: 5 });
 * expect(output.readKeyValue()).toEqual({ key: 'r1', value: { score: 5 } });
 */
import { VirtualTimeScheduler } from 'rxjs';
import { readDeadLetterHeaders } from '../errors/dead-letter.ts';
import type { Lineage } from '../runtime/lineage.ts';
import { releaseLineage } from '../runtime/lineage.ts';
import { ErrorRouter, type ErrorPolicies } from '../runtime/error-router.ts';
import { silentLogger, type Logger } from '../runtime/logger.ts';
import type { RecordOutput } from '../runtime/record-output.ts';
import { Task } from '../runtime/task.ts';
import { resolveSerde, type SerdeSpec } from '../serdes/serde-registry.ts';
import type { Serde } from '../serdes/serde.ts';
import type { GlobalTableNode, SourceNode, TableSourceNode } from '../topology/graph.ts';
import { GLOBAL, StateStores } from '../runtime/state-stores.ts';
import type { KeyValueStore } from '../state/key-value-store.ts';
import { Topology } from '../topology/topology.ts';
import { MemoryBroker } from '../transport/memory/memory-broker.ts';
import type { Headers, IncomingRecord, OutgoingRecord } from '../transport/transport.ts';
import { tpKey } from '../transport/topic-partition-key.ts';
import { TestInputTopic, TestOutputTopic } from './test-topics.ts';

export interface TopologyTestDriverOptions {
  /** Default `test-app`. */
  readonly applicationId?: string;
  readonly errorPolicy?: ErrorPolicies;
  /** Default `<applicationId>-dlq`. */
  readonly deadLetterTopic?: string;
  /** Wall-clock start in ms since the epoch; default 0. */
  readonly wallClockStartMs?: number;
  /** Run steps as under exactly-once (see `NodeContext.transactional`); default false. */
  readonly transactional?: boolean;
  /** Partitions of topics the driver creates on first use; default 1. */
  readonly defaultPartitions?: number;
  readonly logger?: Logger;
}

export interface DeadLetter {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly error: ReturnType<typeof readDeadLetterHeaders>;
}

export class TopologyTestDriver {
  readonly broker: MemoryBroker;
  readonly applicationId: string;
  readonly deadLetterTopic: string;
  /** The virtual clock; pass it to time-based operators (`delay(10, driver.scheduler)`), or use `context.scheduler` in `transform()`. */
  readonly scheduler: VirtualTimeScheduler;
  private readonly tasks = new Map<string, Task>();
  private readonly positions = new Map<string, number>();
  private readonly written = new Map<string, IncomingRecord[]>();
  private readonly errors: ErrorRouter;
  private readonly output: RecordOutput;
  private fatal: Error | undefined;
  private readonly transactional: boolean;
  private closed = false;
  /** Stores of tables and aggregations, one per partition, and one per global table. */
  readonly stores: StateStores;

  constructor(
    readonly topology: Topology,
    options: TopologyTestDriverOptions = {},
  ) {
    this.applicationId = options.applicationId ?? 'test-app';
    this.deadLetterTopic = options.deadLetterTopic ?? `${this.applicationId}-dlq`;
    this.transactional = options.transactional ?? false;
    this.scheduler = new VirtualTimeScheduler();
    this.scheduler.frame = options.wallClockStartMs ?? 0;
    this.broker = new MemoryBroker({ defaultPartitions: options.defaultPartitions ?? 1, now: () => this.scheduler.now() });
    this.stores = new StateStores(topology);
    for (const node of topology.nodes) if (node.kind === 'globalTable') this.stores.open(node.store.name, GLOBAL);
    this.output = {
      write: (record, lineage, _onError) => this.write(record, lineage),
      flush: async () => {},
      close: async () => {},
    };
    this.errors = new ErrorRouter({
      app: this.applicationId,
      policies: options.errorPolicy ?? {},
      deadLetterTopic: this.deadLetterTopic,
      output: this.output,
      logger: options.logger ?? silentLogger(),
      now: () => this.scheduler.now(),
      secrets: [],
      onFatal: (error) => {
        this.fatal ??= error;
      },
    });
  }

  /** An input topic to pipe records into; serdes are names of built-ins or Serde objects. */
  createInputTopic<K, V>(topic: string, serdes: { readonly keySerde: SerdeSpec; readonly valueSerde: SerdeSpec }): TestInputTopic<K, V> {
    return new TestInputTopic<K, V>(
      (record) => this.pipe(record),
      topic,
      resolveSerde(serdes.keySerde) as Serde<K>,
      resolveSerde(serdes.valueSerde) as Serde<V>,
      () => this.scheduler.now(),
    );
  }

  /** An output topic to read what the topology wrote, in the order it was written. */
  createOutputTopic<K, V>(topic: string, serdes: { readonly keySerde: SerdeSpec; readonly valueSerde: SerdeSpec }): TestOutputTopic<K, V> {
    return new TestOutputTopic<K, V>(() => this.written.get(topic) ?? [], resolveSerde(serdes.keySerde) as Serde<K>, resolveSerde(serdes.valueSerde) as Serde<V>);
  }

  /**
   * The store `name` of a table, global table or aggregation, for `partition` (ignored for a global
   * table), as the topology's tasks see it; `undefined` until a record of that partition arrived.
   * A windowed aggregation's store is keyed by `{ key, window: { start, end } }`.
   *
   * @example expect(await driver.getKeyValueStore<string, number>('counts')?.get('p1')).toBe(2);
   */
  getKeyValueStore<K, V>(name: string, partition = 0): KeyValueStore<K, V> | undefined {
    const global = this.topology.stores().some(({ node, store }) => store.name === name && this.topology.node(node).kind === 'globalTable');
    return this.stores.get(name, global ? GLOBAL : partition)?.store as KeyValueStore<K, V> | undefined;
  }

  /** Dead-letter records written so far, with their `dlq.*` headers decoded. */
  deadLetters(): DeadLetter[] {
    return (this.written.get(this.deadLetterTopic) ?? []).map((record) => ({
      key: record.key,
      value: record.value,
      headers: record.headers,
      error: readDeadLetterHeaders(record.headers),
    }));
  }

  /** The offset the driver committed for an input partition (the next one to read), if any. */
  committedOffset(topic: string, partition = 0): number | undefined {
    return this.broker.committed(this.applicationId, { topic, partition });
  }

  /** Virtual wall-clock time in ms. */
  get wallClockTime(): number {
    return this.scheduler.now();
  }

  /** Highest record timestamp seen by any task. */
  get streamTime(): number {
    return Math.max(0, ...[...this.tasks.values()].map((task) => task.streamTime));
  }

  /** Moves virtual wall-clock time forward, running every timer due on the way (bufferTime, debounce...). */
  advanceWallClockTime(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advanceWallClockTime needs a non-negative number of ms (got ${ms})`);
    const target = this.scheduler.now() + ms;
    this.scheduler.maxFrames = target;
    this.scheduler.flush();
    this.scheduler.frame = target;
    this.scheduler.maxFrames = Number.POSITIVE_INFINITY;
    this.processPending();
  }

  /** Waits for forEach actions still running (they are async), then processes what they caused. */
  async settle(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.tasks.values()].some((task) => task.pendingActions > 0)) {
      if (Date.now() > deadline) throw new Error(`forEach actions still running after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.processPending();
  }

  /**
   * Lets promises that are already resolved run (one macrotask turn), then processes what they
   * caused and commits; unlike `settle`, it does not wait for actions that are still running.
   */
  async tick(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.processPending();
  }

  /**
   * Ends the epoch of every `pipe()` / `transform()` step now, as the runtime does before an
   * exactly-once commit or when its in-flight bound is reached: the operators emit or drop what they
   * hold. Without it, an epoch ends `maxHoldMs` of virtual time after its first record.
   */
  flush(): void {
    for (const task of this.tasks.values()) task.flush();
    this.processPending();
  }

  close(): void {
    this.closed = true;
    for (const task of this.tasks.values()) task.close();
    this.tasks.clear();
    void this.stores.closeAll().catch(() => undefined);
  }

  private pipe(record: OutgoingRecord): void {
    if (this.closed) throw new Error('the driver is closed');
    this.broker.append(record);
    this.processPending();
  }

  private write(record: OutgoingRecord, lineage: Lineage): void {
    const position = this.broker.append(record);
    const stored = this.broker.read(record.topic, position.partition, position.offset, 1)[0];
    if (stored) {
      const list = this.written.get(record.topic) ?? [];
      list.push(stored);
      this.written.set(record.topic, list);
    }
    releaseLineage(lineage);
  }


  /** Feeds every unread record of every source topic to its task until nothing new appears. */
  private processPending(): void {
    let progressed = true;
    while (progressed && !this.fatal) {
      progressed = this.applyGlobalTables();
      for (const source of this.tableAndStreamSources()) {
        const topic = Topology.topicName(source, this.applicationId);
        if (!this.broker.hasTopic(topic)) continue;
        for (let partition = 0; partition < this.broker.partitionCount(topic); partition++) {
          const key = tpKey({ topic, partition });
          const records = this.broker.read(topic, partition, this.positions.get(key) ?? 0);
          if (records.length === 0) continue;
          progressed = true;
          const task = this.taskFor(source, topic, partition);
          for (const record of records) {
            this.positions.set(key, record.offset + 1);
            task.process(record);
            if (this.fatal) break;
          }
        }
      }
    }
    this.commit();
    if (this.fatal) {
      const error = this.fatal;
      this.fatal = undefined;
      throw error;
    }
  }

  /** Table sources first, so that a table record and a stream record piped in that order are processed in it. */
  private tableAndStreamSources(): Array<SourceNode | TableSourceNode> {
    return [
      ...this.topology.nodes.filter((node): node is TableSourceNode => node.kind === 'table'),
      ...this.topology.sources(),
    ];
  }

  /** Applies unread records of global tables' topics to their stores; true when there were any. */
  private applyGlobalTables(): boolean {
    let applied = false;
    for (const node of this.topology.nodes.filter((n): n is GlobalTableNode => n.kind === 'globalTable')) {
      if (!this.broker.hasTopic(node.topic)) continue;
      const handle = this.stores.get(node.store.name, GLOBAL);
      if (handle === undefined) continue;
      for (let partition = 0; partition < this.broker.partitionCount(node.topic); partition++) {
        const key = tpKey({ topic: node.topic, partition });
        for (const record of this.broker.read(node.topic, partition, this.positions.get(key) ?? 0)) {
          this.positions.set(key, record.offset + 1);
          applied = true;
          void this.stores.restore(handle, record, () => undefined)?.catch((error: unknown) => {
            this.fatal ??= error instanceof Error ? error : new Error(String(error));
          });
        }
      }
    }
    return applied;
  }

  private taskFor(source: SourceNode | TableSourceNode, topic: string, partition: number): Task {
    const key = tpKey({ topic, partition });
    let task = this.tasks.get(key);
    if (!task) {
      for (const { node, store } of this.topology.stores()) if (this.topology.node(node).kind !== 'globalTable') this.stores.open(store.name, partition);
      task = new Task(
        {
          app: this.applicationId,
          topology: this.topology,
          output: this.output,
          errors: this.errors,
          scheduler: this.scheduler,
          topicName: (node) => Topology.topicName(node, this.applicationId),
          transactional: this.transactional,
          stores: this.stores,
        },
        source.name,
        topic,
        partition,
      );
      this.tasks.set(key, task);
    }
    return task;
  }

  private commit(): void {
    const offsets = [];
    for (const task of this.tasks.values()) {
      const next = task.progress.committable();
      if (next !== undefined) offsets.push({ topic: task.topic, partition: task.partition, offset: next });
    }
    if (offsets.length > 0) this.broker.commit(this.applicationId, offsets);
  }
}
