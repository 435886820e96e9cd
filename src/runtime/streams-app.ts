/**
 * Runs a topology on a transport as one member of the consumer group `applicationId`. Start as
 * many instances as there are input partitions; they share the work.
 *
 * Guarantees (see the README, "Guarantees"):
 * - an input offset is committed only once everything derived from it was written, dead-lettered
 *   or filtered out (record lineage); a crash re-reads, never skips;
 * - `exactly-once`: each task (input partition) has its own transactional producer, initialised
 *   (fencing any previous owner) before the task reads its committed offset; its outputs and its
 *   input offset commit in one transaction (see `exactly-once-task.ts`);
 * - at most `maxInFlight` input records are in flight, under both guarantees: a record is done only
 *   once its outputs were acknowledged by the log; at the bound, intake waits while the consumer
 *   keeps heartbeating, so slow sinks slow consumption instead of filling memory;
 * - revoked partitions write out what they produced, commit what is done and stop; shutdown stops
 *   intake, lets in-flight work finish (up to `shutdownTimeoutMs`), commits, and leaves the group.
 *   `stop()` may be called at any moment, also while `start()` runs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { ConfigError, StreamsError, toError } from '../errors/streams-error.ts';
import { Topology } from '../topology/topology.ts';
import type { TopologyNode } from '../topology/graph.ts';
import { GlobalTables } from './global-tables.ts';
import { Restoration } from './restoration.ts';
import { StateStores, type StoreStats } from './state-stores.ts';
import type { KeyValueStore } from '../state/key-value-store.ts';
import { planTopics, topicRoles, type TopicRole } from './topic-layout.ts';
import type {
  BatchContext,
  ConsumedBatch,
  TopicPartition,
  Transport,
  TransportAdmin,
  TransportConsumer,
  TransportProducer,
} from '../transport/transport.ts';
import { BatchingOutput, type BatchingOptions } from './batching-output.ts';
import { CommitCoordinator } from './commit-coordinator.ts';
import { tpKey } from '../transport/topic-partition-key.ts';
import { ErrorRouter, type ErrorPolicies } from './error-router.ts';
import { ExactlyOnceTask } from './exactly-once-task.ts';
import { InFlightGate } from './in-flight-gate.ts';
import { instrumentationEnabled, publish, type AppState } from './instrumentation.ts';
import { defaultLogger, redactingLogger, type Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import { Task } from './task.ts';
import { waitAtMost } from '../transport/wait-at-most.ts';

export interface StreamsAppOptions {
  /** Consumer group id, prefix of internal topics and transactional ids, and the default dead-letter topic `<id>-dlq`. */
  readonly applicationId: string;
  readonly transport: Transport;
  /** Default `at-least-once`. */
  readonly processingGuarantee?: 'at-least-once' | 'exactly-once';
  /**
   * Input records in flight at most (taken in and not yet done); default 10,000, a few megabytes of
   * records. The bound is what lets intake run on while a send waits for the broker: at 1,000 the
   * enrichment sat idle a sixth of the time, waiting for acknowledgements.
   */
  readonly maxInFlight?: number;
  /** Default 1000 ms (at-least-once) or 100 ms (exactly-once). */
  readonly commitIntervalMs?: number;
  readonly errorPolicy?: ErrorPolicies;
  /** Default `<applicationId>-dlq`. */
  readonly deadLetterTopic?: string;
  /** Default 4. */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Exactly-once: a task whose transaction failed (fenced, broker away) starts again from its last
   * committed offset, retrying with exponential backoff from `initialMs` (default 200) up to
   * `maxMs` (default 10000) for as long as the app runs, as Kafka Streams does.
   */
  readonly transactionRetryBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * @deprecated Ignored: a failed transaction no longer stops the app; the task retries with
   * `transactionRetryBackoff` for as long as the app runs.
   */
  readonly maxTransactionRetries?: number;
  /**
   * Id of this instance in client ids and logs. Default `<hostname>-<pid>-<random>`: unique even
   * when every replica runs as pid 1 in its own container.
   */
  readonly instanceId?: string;
  readonly producerBatch?: BatchingOptions;
  /** How long shutdown waits for in-flight records; default 30000. */
  readonly shutdownTimeoutMs?: number;
  /** Partitions of internal topics when the topology does not say; default: widest input topic. */
  readonly internalTopicPartitions?: number;
  readonly logger?: Logger;
  /** Extra values to scrub from logs and dead-letter headers (API keys, passwords). */
  readonly secrets?: readonly string[];
  readonly scheduler?: SchedulerLike;
  readonly consumer?: { readonly sessionTimeoutMs?: number; readonly heartbeatIntervalMs?: number; readonly rebalanceTimeoutMs?: number };
}

/** How long an exactly-once commit waits for a task's in-flight records before trying at the next interval. */
const COMMIT_DRAIN_TIMEOUT_MS = 5_000;

export class StreamsApp {
  private stateValue: AppState = 'created';
  private readonly logger: Logger;
  private readonly gate: InFlightGate;
  /** At-least-once tasks; under exactly-once every task lives in its `ExactlyOnceTask`. */
  private readonly tasks = new Map<string, Task>();
  private readonly exactlyOnceTasks = new Map<string, ExactlyOnceTask>();
  private readonly exactlyOnce: boolean;
  private readonly deadLetterTopic: string;
  private consumer: TransportConsumer | undefined;
  private producer: TransportProducer | undefined;
  private admin: TransportAdmin | undefined;
  private output: RecordOutput | undefined;
  private errors: ErrorRouter | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private stopped: Promise<void> | undefined;
  private stopRequested = false;
  /** Resolves when shutdown begins; a step of start() still running gives up on it. */
  private readonly stopSignal = signal();
  /** The step `start()` is awaiting; shutdown lets it settle before it tears down what exists. */
  private pendingStep: Promise<unknown> | undefined;
  private readonly stateListeners = new Set<(state: AppState) => void>();
  private readonly commits: CommitCoordinator;
  private readonly instanceIdValue: string;
  /** True when the topology has tables, global tables or aggregations. */
  private readonly stateful: boolean;
  private readonly stores: StateStores;
  private readonly roles: ReadonlyMap<string, TopicRole>;
  /** Table and changelog partitions being read back, per partition number. */
  private readonly restoration: Restoration;
  private readonly globals: GlobalTables;
  /** At-least-once table tasks: the committed offset below which records only rebuild the store. */
  private readonly restoreUntil = new Map<string, number>();
  /** Exactly-once: the last offset each task of this instance committed (see `committedOffset`). */
  private readonly ownCommits = new Map<string, number>();
  /** At-least-once: stream partitions held until the stores of their partition number are restored. */
  private readonly held = new Map<string, TopicPartition>();
  /** Assignments whose stores are being opened and whose restoration has not begun yet. */
  private assigning = 0;

  constructor(
    readonly topology: Topology,
    private readonly options: StreamsAppOptions,
  ) {
    if (!options.applicationId || !/^[A-Za-z0-9._-]+$/.test(options.applicationId)) {
      throw new ConfigError(`applicationId ${JSON.stringify(options.applicationId)} is invalid; use letters, digits, '.', '_' and '-'`);
    }
    const maxInFlight = options.maxInFlight ?? 10_000;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new ConfigError(`maxInFlight must be a whole number >= 1 (got ${maxInFlight})`);
    this.gate = new InFlightGate(maxInFlight);
    this.instanceIdValue = options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.exactlyOnce = options.processingGuarantee === 'exactly-once';
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.applicationId}-dlq`;
    this.logger = redactingLogger((options.logger ?? defaultLogger('streams')).child({ app: options.applicationId }), options.secrets ?? []);
    this.stateful = topology.nodes.some((node) => node.kind === 'table' || node.kind === 'globalTable' || node.kind === 'aggregate');
    this.stores = new StateStores(topology);
    this.roles = topicRoles(topology, options.applicationId);
    this.restoration = new Restoration(options.applicationId);
    this.restoration.onChange(() => this.restorationChanged());
    this.globals = new GlobalTables({
      app: options.applicationId,
      instanceId: this.instanceIdValue,
      topology,
      transport: options.transport,
      stores: this.stores,
      logger: this.logger,
      ...(options.consumer === undefined ? {} : { consumer: options.consumer }),
      onFatal: (error) => void this.fail(error),
    });
    this.commits = new CommitCoordinator({
      app: options.applicationId,
      logger: this.logger,
      tasks: () => this.tasks.values(),
      exactlyOnceTasks: () => this.exactlyOnceTasks.values(),
      consumer: () => this.consumer,
    });
  }

  get applicationId(): string {
    return this.options.applicationId;
  }

  get instanceId(): string {
    return this.instanceIdValue;
  }

  get state(): AppState {
    return this.stateValue;
  }

  /** Input records taken in and not yet done. */
  get inFlight(): number {
    return this.gate.inFlight;
  }

  /** The error that stopped the app, when its state is `failed`. */
  get error(): Error | undefined {
    return this.failure;
  }

  onStateChange(listener: (state: AppState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(to: AppState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    publish({ type: 'state', app: this.options.applicationId, from, to });
    this.logger.info({ from, to }, 'state changed');
    for (const listener of this.stateListeners) listener(to);
  }

  /**
   * Creates internal topics, joins the group and starts processing; resolves once running. Rejects
   * with code `SHUTDOWN` when `stop()` was called before it got there.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'created') throw new ConfigError(`start() called in state ${this.stateValue}; an app starts once`);
    this.setState('starting');
    try {
      await this.step(this.prepareTopics());
      await this.step(this.openOutput());
      if (this.globals.enabled) {
        this.setState('restoring');
        await this.step(this.globals.start());
      }
      await this.startConsumer();
      this.startCommitTimer();
      this.setState(this.restorationDone() ? 'running' : 'restoring');
    } catch (error) {
      // stop() tears down what was created; it only waits for the step that was running.
      if (this.stopRequested) throw stoppedDuringStart(error);
      this.failure = toError(error);
      await this.shutdown('failed');
      throw error;
    }
  }

  /** Runs one step of `start()`; a stop requested meanwhile ends `start()` after the step. */
  private async step<T>(work: Promise<T>): Promise<T> {
    this.pendingStep = work;
    let result: T;
    try {
      // A step hung on an unreachable broker must not keep start() pending after stop() returned:
      // it is left behind (shutdown tears down what it creates) and start() rejects at once.
      result = await Promise.race([work, this.stopSignal.promise.then((): never => { throw stoppedDuringStart(undefined); })]);
    } finally {
      this.pendingStep = undefined;
    }
    if (this.stopRequested) throw stoppedDuringStart(undefined);
    return result;
  }

  private startCommitTimer(): void {
    this.commitTimer = setInterval(() => void this.commit(), this.options.commitIntervalMs ?? (this.exactlyOnce ? 100 : 1000));
  }

  /** Stops intake, lets in-flight records finish, commits and leaves the group. Safe to call at any time, and twice. */
  stop(): Promise<void> {
    return this.shutdown('stopped');
  }

  /** Stops the app on SIGTERM / SIGINT; returns a function that removes the handlers. */
  stopOnSignals(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
    const handler = (signal: NodeJS.Signals) => {
      this.logger.info({ signal }, 'signal received; shutting down');
      void this.stop();
    };
    for (const signal of signals) process.once(signal, handler);
    return () => {
      for (const signal of signals) process.off(signal, handler);
    };
  }

  private topicName(node: { readonly topic: string; readonly internal: boolean }): string {
    return Topology.topicName(node, this.options.applicationId);
  }

  /**
   * Checks that the topics the topology reads and writes exist (the Kafka transport never creates
   * topics implicitly, so a missing one would otherwise stall the app), then creates the internal
   * repartition topics and the dead-letter topic.
   */
  private async prepareTopics(): Promise<void> {
    const admin = this.options.transport.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const inputs = [
        ...this.topology.sources().filter((s) => !s.internal).map((s) => s.topic),
        ...this.topology.nodes.flatMap((node) => (node.kind === 'table' || node.kind === 'globalTable' ? [node.topic] : [])),
      ];
      const external = [...inputs, ...this.topology.sinks().flatMap((sink) => (sink.sink === 'topic' && !sink.internal ? [sink.topic] : []))];
      const missing = [...new Set(external.filter((topic) => !existing.has(topic)))];
      if (missing.length > 0) {
        throw new ConfigError(
          `topics ${missing.join(', ')} do not exist; create them before starting ${this.options.applicationId} (the app creates only its internal topics and ${this.deadLetterTopic})`,
        );
      }
      const counts = new Map<string, number>();
      for (const topic of new Set(inputs)) counts.set(topic, await admin.partitionCount(topic));
      const widest = Math.max(1, ...counts.values());
      // Repartition topics joined with a table take its count; co-partitioning is checked here.
      const layout = planTopics(this.topology, this.options.applicationId, counts, this.options.internalTopicPartitions ?? widest);
      // The dead-letter topic is as wide as the widest input, so dead letters keep their key's partition order.
      await admin.createTopics([...layout.internal, { topic: this.deadLetterTopic, partitions: widest }]);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * At-least-once: one shared batching producer. Exactly-once: producers belong to tasks (see
   * `ExactlyOnceTask`); the app only keeps an admin client to read committed offsets.
   */
  private async openOutput(): Promise<void> {
    const { transport, applicationId } = this.options;
    if (this.exactlyOnce || this.stateful) {
      this.admin = transport.admin();
      await this.admin.connect();
    }
    if (this.exactlyOnce) return;
    this.producer = transport.producer({ clientId: `${applicationId}-${this.instanceId}` });
    await this.producer.connect();
    this.output = new BatchingOutput(this.producer, applicationId, this.logger, this.options.producerBatch);
    this.errors = this.errorRouter(this.output);
  }

  private errorRouter(output: RecordOutput): ErrorRouter {
    return new ErrorRouter({
      app: this.options.applicationId,
      policies: this.options.errorPolicy ?? {},
      deadLetterTopic: this.deadLetterTopic,
      output,
      logger: this.logger,
      now: () => (this.options.scheduler ?? asyncScheduler).now(),
      secrets: this.options.secrets ?? [],
      onFatal: (error) => void this.fail(error),
    });
  }

  private async startConsumer(): Promise<void> {
    const { transport, applicationId } = this.options;
    const consumer = transport.consumer({
      groupId: applicationId,
      clientId: `${applicationId}-consumer`,
      ...this.options.consumer,
      // Partition N of every topic on one member: a table's partition N is where its stream's is.
      ...(this.stateful ? { assignment: 'copartitioned' as const } : {}),
    });
    this.consumer = consumer;
    await this.step(consumer.connect());
    const topics = [...this.roles.keys()];
    await this.step(consumer.subscribe({ topics, fromBeginning: true }));
    await this.step(
      consumer.run({
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
        eachBatch: (batch, context) => (this.exactlyOnce ? this.onBatchExactlyOnce(batch, context) : this.onBatch(batch, context)),
        onAssigned: (partitions) =>
          this.stateful
            ? // Partitions whose stores cannot be opened stay paused for good; the transports only log a
              // failing callback, so the app would sit in `running` consuming nothing. It fails instead.
              this.onAssignedStateful(consumer, partitions).catch((error: unknown) => void this.fail(toError(error)))
            : this.onAssigned(consumer, partitions),
        onPosition: (tp, nextOffset) => this.onPosition(consumer, tp, nextOffset),
        onRevoked: (partitions) => this.onRevoked(partitions),
        onStopped: (error) =>
          void this.fail(new StreamsError(`the consumer stopped for good: ${error.message}`, { code: 'TRANSPORT_CLOSED', cause: error })),
      }),
    );
  }

  private newTask(topic: string, partition: number, output: RecordOutput, errors: ErrorRouter, onFreed?: () => void, restoreUntil?: number): Task {
    const source = this.topology.nodes.find((node) => (node.kind === 'source' && this.topicName(node) === topic) || (node.kind === 'table' && node.topic === topic));
    if (!source) throw new StreamsError(`no source reads topic ${topic}`, { code: 'TOPOLOGY_INVALID' });
    return new Task(
      {
        app: this.options.applicationId,
        topology: this.topology,
        output,
        errors,
        scheduler: this.options.scheduler ?? asyncScheduler,
        topicName: (node) => this.topicName(node),
        // A record leaving the window frees its in-flight slot (under exactly-once, once its outputs
        // are acknowledged into the open transaction).
        progressListener: {
          onFreed: (count) => {
            this.gate.remove(count);
            onFreed?.();
          },
        },
        transactional: this.exactlyOnce,
        stores: this.stores,
        ...(restoreUntil === undefined ? {} : { restoreUntil }),
      },
      source.name,
      topic,
      partition,
    );
  }

  private taskFor(topic: string, partition: number): Task {
    const key = tpKey({ topic, partition });
    const existing = this.tasks.get(key);
    if (existing && !existing.isClosed) return existing;
    const task = this.newTask(topic, partition, this.output as RecordOutput, this.errors as ErrorRouter, undefined, this.restoreUntil.get(key));
    this.tasks.set(key, task);
    return task;
  }

  /** Whether new input may be taken in: the app is (starting to be) running. */
  private accepting(): boolean {
    return this.stateValue === 'running' || this.stateValue === 'starting' || this.stateValue === 'restoring';
  }

  private onAssigned(consumer: TransportConsumer, partitions: readonly TopicPartition[]): void {
    publish({ type: 'rebalance', app: this.options.applicationId, change: 'assigned', partitions });
    this.logger.info({ partitions }, 'partitions assigned');
    if (!this.exactlyOnce || this.stopRequested) return;
    for (const tp of partitions) this.startExactlyOnceTask(consumer, tp);
  }

  private startExactlyOnceTask(consumer: TransportConsumer, tp: TopicPartition): void {
    {
      const key = tpKey(tp);
      if (this.exactlyOnceTasks.has(key)) return;
      const role = this.roles.get(tp.topic);
      const task = new ExactlyOnceTask({
        app: this.options.applicationId,
        partition: tp,
        transport: this.options.transport,
        consumer,
        logger: this.logger,
        clientId: `${this.options.applicationId}-${this.instanceId}`,
        ...(this.options.producerBatch === undefined ? {} : { producerBatch: this.options.producerBatch }),
        ...(this.options.transactionRetryBackoff === undefined ? {} : { backoff: this.options.transactionRetryBackoff }),
        committedOffset: () => this.committedOffset(tp),
        onCommitted: (offset) => this.ownCommits.set(tpKey(tp), Math.max(offset, this.ownCommits.get(tpKey(tp)) ?? 0)),
        createTask: (output, onFreed, committed) =>
          this.newTask(tp.topic, tp.partition, output, this.errorRouter(output), onFreed, role?.kind === 'table' ? (committed ?? 0) : undefined),
        drainTimeoutMs: COMMIT_DRAIN_TIMEOUT_MS,
        ...(role?.kind === 'table' ? { seekOffset: () => 0 } : {}),
        ...(role?.kind === 'stream' && this.stateful ? { beforeOpen: (_reopen: boolean, closed: AbortSignal) => this.beforeStreamTaskOpens(consumer, tp, closed) } : {}),
      });
      this.exactlyOnceTasks.set(key, task);
      task.start();
    }
  }

  /**
   * Tables and aggregations: every assigned partition is held while its stores are opened and read
   * back. Table partitions are read from offset 0 (records below the committed offset only rebuild
   * the store), changelog partitions from 0 up to their end offset and then paused for good; stream
   * partitions of partition number N start only once every table and changelog partition N is
   * restored (under exactly-once, their task waits for it before it opens).
   */
  private async onAssignedStateful(consumer: TransportConsumer, partitions: readonly TopicPartition[]): Promise<void> {
    publish({ type: 'rebalance', app: this.options.applicationId, change: 'assigned', partitions });
    this.logger.info({ partitions }, 'partitions assigned');
    if (this.stopRequested) return;
    // Until the stores are open and their restoration has begun, the restoration does not know
    // what is left to read: the app says `restoring`, so readiness never reports ready in between.
    this.assigning += 1;
    if (this.stateValue === 'running') this.setState('restoring');
    try {
      await this.openAssigned(consumer, partitions);
    } finally {
      this.assigning -= 1;
      this.restorationChanged();
    }
  }

  private async openAssigned(consumer: TransportConsumer, partitions: readonly TopicPartition[]): Promise<void> {
    consumer.pause(partitions);
    const numbers = [...new Set(partitions.map((tp) => tp.partition))];
    const handles = numbers.flatMap((n) =>
      this.topology.stores().flatMap(({ node, store }) => (this.topology.node(node).kind === 'globalTable' ? [] : [this.stores.open(store.name, n)])),
    );
    await Promise.all(handles.map((handle) => handle.ready));
    const admin = this.admin;
    if (admin === undefined || this.stopRequested) return;
    const restoring = partitions.filter((tp) => this.roles.get(tp.topic)?.kind !== 'stream');
    const ends = new Map<string, Map<number, number>>();
    for (const topic of new Set(restoring.map((tp) => tp.topic))) ends.set(topic, await admin.endOffsets(topic));
    const committed = new Map<string, Map<number, number>>();
    if (!this.exactlyOnce) {
      for (const topic of new Set(restoring.filter((tp) => this.roles.get(tp.topic)?.kind === 'table').map((tp) => tp.topic))) {
        committed.set(topic, await admin.committedOffsets(this.options.applicationId, topic));
      }
    }
    if (this.stopRequested) return;
    for (const tp of restoring) {
      const role = this.roles.get(tp.topic) as Exclude<TopicRole, { kind: 'stream' }>;
      // Exactly-once: an aggregation's changelog is read back by its task after the fence (see
      // beforeStreamTaskOpens), when the previous owner's last transaction is complete.
      if (this.exactlyOnce && role.kind === 'changelog') continue;
      this.restoration.begin(tp, role.store, ends.get(tp.topic)?.get(tp.partition) ?? 0);
      if (role.kind === 'table' && !this.exactlyOnce) this.restoreUntil.set(tpKey(tp), committed.get(tp.topic)?.get(tp.partition) ?? 0);
      if (role.kind === 'changelog' || !this.exactlyOnce) {
        consumer.seek(tp, 0);
        if (role.kind === 'table' || this.restoration.isRestoring(tp)) consumer.resume([tp]);
      }
    }
    if (this.exactlyOnce) {
      for (const tp of partitions) if (this.roles.get(tp.topic)?.kind !== 'changelog') this.startExactlyOnceTask(consumer, tp);
      return;
    }
    for (const tp of partitions) if (this.roles.get(tp.topic)?.kind === 'stream') this.held.set(tpKey(tp), tp);
    this.releaseHeld(consumer);
  }

  /** At-least-once: resumes held stream partitions whose partition number is restored. */
  private releaseHeld(consumer: TransportConsumer | undefined = this.consumer): void {
    if (consumer === undefined || this.stopRequested) return;
    for (const [key, tp] of this.held) {
      if (!this.restoration.isDone(tp.partition)) continue;
      this.held.delete(key);
      consumer.resume([tp]);
    }
  }

  private restorationChanged(): void {
    if (this.exactlyOnce) {
      // Tasks waiting in beforeStreamTaskOpens are woken by the restoration itself.
    } else this.releaseHeld();
    const done = this.restorationDone();
    if (this.stateValue === 'restoring' && done && this.consumer !== undefined && this.commitTimer !== undefined) this.setState('running');
    else if (this.stateValue === 'running' && !done) this.setState('restoring');
  }

  /** Every store this instance owns is restored, and no assignment is still being opened. */
  private restorationDone(): boolean {
    return this.assigning === 0 && this.restoration.isDone();
  }

  /**
   * Exactly-once, before a stream task opens (after its fence): the aggregation stores it writes
   * are rebuilt from their changelogs (after a failed transaction they hold its aborted updates);
   * then it waits until every store of its partition number is restored.
   */
  private async beforeStreamTaskOpens(consumer: TransportConsumer, tp: TopicPartition, closed: AbortSignal): Promise<void> {
    const admin = this.admin;
    if (admin === undefined) return;
    // On every open, not only after a failed transaction: the end offset is read after the fence,
    // once the previous owner's last transaction (and the markers that make its changelog records
    // readable) completed.
    for (const node of this.aggregatesReachedFrom(tp.topic)) {
      const changelog: TopicPartition = { topic: this.topicName(node.store.changelog), partition: tp.partition };
      consumer.pause([changelog]);
      await this.stores.close(node.store.name, tp.partition).catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'closing a store to rebuild it failed'));
      await this.stores.open(node.store.name, tp.partition).ready;
      const end = (await admin.endOffsets(changelog.topic)).get(tp.partition) ?? 0;
      if (closed.aborted) return;
      this.restoration.begin(changelog, node.store.name, end);
      consumer.seek(changelog, 0);
      if (this.restoration.isRestoring(changelog)) consumer.resume([changelog]);
    }
    const gone = new Promise<void>((resolve) => closed.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([this.restoration.whenDone(tp.partition), this.stopSignal.promise, gone]);
  }


  /** Aggregation nodes a record of `topic` reaches. */
  private aggregatesReachedFrom(topic: string): Array<Extract<TopologyNode, { kind: 'aggregate' }>> {
    return this.topology
      .sources()
      .filter((source) => this.topicName(source) === topic)
      .flatMap((source) => this.topology.descendants(source.name))
      .filter((node): node is Extract<TopologyNode, { kind: 'aggregate' }> => node.kind === 'aggregate');
  }


  /** Reads a changelog batch back into its store; a restored changelog partition is paused for good. */
  private restoreChangelog(context: BatchContext, batch: ConsumedBatch): void {
    const role = this.roles.get(batch.topic);
    const handle = role === undefined || role.kind === 'stream' ? undefined : this.stores.get(role.store, batch.partition);
    if (handle === undefined || !this.restoration.isRestoring(batch) || !context.isRunning()) return;
    for (const record of batch.records) {
      this.stores.restore(handle, record, (error) => this.logger.warn({ err: error, topic: record.topic, partition: record.partition, offset: record.offset }, 'changelog record skipped: it cannot be decoded'))?.catch((error: unknown) =>
        void this.fail(new StreamsError(`store ${handle.name}: restoring from ${batch.topic} failed: ${toError(error).message}`, { code: 'TOPOLOGY_INVALID', cause: error })),
      );
    }
    this.onPosition(this.consumer, batch, batch.nextOffset);
  }

  /** The consumer moved past offsets (also markers it never delivers): restoration may be complete. */
  private onPosition(consumer: TransportConsumer | undefined, tp: TopicPartition, nextOffset: number): void {
    if (!this.restoration.isRestoring(tp)) return;
    this.restoration.advance(tp, nextOffset);
    if (!this.restoration.isRestoring(tp) && this.roles.get(tp.topic)?.kind === 'changelog') consumer?.pause([tp]);
  }

  /** Revoked partitions: their restoration stops, and stores of partition numbers no longer owned close. */
  private async releaseState(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.restoration.forget(tp);
      this.restoreUntil.delete(tpKey(tp));
      this.held.delete(tpKey(tp));
    }
    const owned = new Set((this.consumer?.assignment() ?? []).filter((tp) => !partitions.some((r) => tpKey(r) === tpKey(tp))).map((tp) => tp.partition));
    for (const n of new Set(partitions.map((tp) => tp.partition))) {
      if (owned.has(n)) continue;
      await this.stores.closePartition(n).catch((error: unknown) => this.logger.warn({ err: toError(error), partition: n }, 'closing state stores failed'));
    }
  }

  /**
   * The group's committed offset, or the offset this instance itself committed last if that is
   * higher: right after a transaction commits, Kafka may still answer the offset before it (the
   * group applies transactional offsets after the commit markers, asynchronously, and kafkajs cannot
   * ask for stable offsets, KIP-447's `requireStable`). A partition revoked and assigned back to this
   * instance would otherwise re-process a transaction whose outputs are committed.
   */
  private async committedOffset(tp: TopicPartition): Promise<number | undefined> {
    const admin = this.admin;
    if (admin === undefined) throw new StreamsError('the app is stopping', { code: 'SHUTDOWN' });
    const fetched = (await admin.committedOffsets(this.options.applicationId, tp.topic)).get(tp.partition);
    const own = this.ownCommits.get(tpKey(tp));
    if (own === undefined) return fetched;
    return Math.max(own, fetched ?? 0);
  }

  private async onBatch(batch: ConsumedBatch, context: BatchContext): Promise<void> {
    if (!this.accepting()) return;
    if (this.roles.get(batch.topic)?.kind === 'changelog') {
      this.restoreChangelog(context, batch);
      return;
    }
    const task = this.taskFor(batch.topic, batch.partition);
    publish({ type: 'records.in', app: this.options.applicationId, topic: batch.topic, partition: batch.partition, count: batch.records.length });
    this.publishLag(batch, 'start');
    let sinceHeartbeat = 0;
    // What the consumer says (a rebalance, a stop, a seek) can only change while this loop awaits;
    // asked after every await, not per record. The app's own state and the task's are checked per
    // record: processing a record may fail the app or close the task.
    let consuming = context.isRunning();
    for (const record of batch.records) {
      while (this.gate.isFull) {
        await this.waitForRoom(context);
        consuming = context.isRunning();
        if (!consuming || !this.accepting() || task.isClosed) return;
      }
      // Checked again with no await before `process`: batches of other partitions run concurrently.
      if (!consuming || !this.accepting() || task.isClosed) return;
      // A batch delivered again (after a failed heartbeat) holds records this task already took.
      if (!task.accepts(record)) continue;
      if (!task.rebuildsOnly(record)) this.gate.add();
      // A rebuilding write is awaited, so a store that buffers bounds what restoration holds.
      const rebuilding = task.process(record);
      if (rebuilding !== undefined) {
        await rebuilding;
        consuming = context.isRunning();
      }
      if (++sinceHeartbeat >= 100) {
        sinceHeartbeat = 0;
        await context.heartbeat();
        consuming = context.isRunning();
      }
    }
    this.restoration.advance(batch, batch.nextOffset);
    this.publishLag(batch);
  }

  /**
   * Exactly-once intake: only the open task of the partition takes records, only from its committed
   * offset on, and not while a commit holds intake. A batch that arrives while the task is being
   * (re)opened is left alone: the opening ends with a seek to the committed offset.
   */
  private async onBatchExactlyOnce(batch: ConsumedBatch, context: BatchContext): Promise<void> {
    if (this.roles.get(batch.topic)?.kind === 'changelog') {
      if (this.accepting()) this.restoreChangelog(context, batch);
      return;
    }
    const owner = this.exactlyOnceTasks.get(tpKey(batch));
    if (owner === undefined || !this.accepting()) return;
    await owner.track(async () => {
      const task = owner.current;
      if (task === undefined) return;
      publish({ type: 'records.in', app: this.options.applicationId, topic: batch.topic, partition: batch.partition, count: batch.records.length });
      this.publishLag(batch, 'start');
      let sinceHeartbeat = 0;
      // As in `onBatch`: the consumer's word is asked again after every await, the rest per record.
      let consuming = context.isRunning();
      for (const record of batch.records) {
        for (;;) {
          const hold = owner.intakeOpen();
          if (hold === undefined && !this.gate.isFull) break;
          if (hold === undefined) await this.waitForRoom(context);
          else {
            await waitAtMost(hold, 1_000);
            await context.heartbeat();
          }
          consuming = context.isRunning();
          if (!consuming || !this.accepting() || task.isClosed) return;
        }
        // No await between the checks above and `process`: neither another partition's batch nor
        // a commit can run in between.
        if (!consuming || !this.accepting() || task.isClosed) return;
        if (!owner.accepts(task, record)) continue;
        if (!task.rebuildsOnly(record)) this.gate.add();
        // A rebuilding write is awaited (after process: nothing runs in between), bounding what restoration holds.
        const rebuilding = task.process(record);
        if (rebuilding !== undefined) {
          await rebuilding;
          consuming = context.isRunning();
        }
        if (++sinceHeartbeat >= 100) {
          sinceHeartbeat = 0;
          await context.heartbeat();
          consuming = context.isRunning();
        }
      }
      this.restoration.advance(batch, batch.nextOffset);
      this.publishLag(batch);
    });
  }

  /** Waits a while for room under the in-flight bound, heartbeating; the caller checks again. */
  private async waitForRoom(context: BatchContext): Promise<void> {
    publish({ type: 'in-flight', app: this.options.applicationId, inFlight: this.gate.inFlight, paused: true });
    // Steps that hold records (a buffer, a filter's drops) let go of them, or nothing would move.
    for (const open of this.tasks.values()) open.flush();
    for (const owner of this.exactlyOnceTasks.values()) owner.current?.flush();
    await this.gate.waitForRoom(1_000);
    await context.heartbeat();
  }

  /**
   * Records behind the high watermark: at the start of a batch, counting the batch itself (a long
   * batch, such as a table being rebuilt, is lag until it is processed); at its end, after it.
   */
  private publishLag(batch: ConsumedBatch, at: 'start' | 'end' = 'end'): void {
    if (!instrumentationEnabled()) return;
    const record = at === 'start' ? batch.records[0] : batch.records[batch.records.length - 1];
    if (record === undefined) return;
    const lag = at === 'start' ? batch.highWatermark - record.offset : batch.highWatermark - record.offset - 1;
    publish({ type: 'lag', app: this.options.applicationId, topic: batch.topic, partition: batch.partition, lag: Math.max(0, lag) });
  }

  /**
   * Gives partitions up. At-least-once: every output written so far is acknowledged first (an
   * output landing after the next owner's would reorder the key), then what is done is committed
   * and the tasks stop; their later outputs are dropped. Exactly-once: each task commits its
   * transaction and closes its producer.
   */
  private async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    publish({ type: 'rebalance', app: this.options.applicationId, change: 'revoked', partitions });
    this.logger.info({ partitions }, 'partitions revoked');
    try {
      await this.revokePartitions(partitions);
    } finally {
      if (this.stateful) await this.releaseState(partitions);
    }
  }

  private async revokePartitions(partitions: readonly TopicPartition[]): Promise<void> {
    // Bounded like the consumer's wait before it rejoins: past it, the group moves on anyway.
    const bound = this.revokeBoundMs();
    if (this.exactlyOnce) {
      const closing = partitions.map((tp) => {
        const task = this.exactlyOnceTasks.get(tpKey(tp));
        this.exactlyOnceTasks.delete(tpKey(tp));
        return task?.close({ commit: true });
      });
      // A close that outlasts the bound goes on in the background; the next owner's fence keeps
      // anything it still does from committing.
      await waitAtMost(Promise.all(closing), bound);
      return;
    }
    let flushed = false;
    if (this.output) await waitAtMost(this.output.flush().then(() => (flushed = true)), bound);
    // Outputs not acknowledged by now are dropped with their closed tasks (at-least-once: read again).
    if (!flushed && this.output) this.logger.warn({ partitions }, 'outputs of revoked partitions not acknowledged in time; dropping them');
    await waitAtMost(this.commit(), bound);
    for (const { topic, partition } of partitions) this.closeTask(tpKey({ topic, partition }));
  }

  /** How long the Kafka consumer waits for a revoke before it rejoins: min(session, rebalance) - heartbeat. */
  private revokeBoundMs(): number {
    const { sessionTimeoutMs = 30_000, rebalanceTimeoutMs = 60_000, heartbeatIntervalMs = 3_000 } = this.options.consumer ?? {};
    return Math.max(1_000, Math.min(sessionTimeoutMs, rebalanceTimeoutMs) - heartbeatIntervalMs);
  }

  private closeTask(key: string): void {
    const task = this.tasks.get(key);
    if (!task) return;
    task.close();
    this.tasks.delete(key);
    this.commits.forget(key);
  }

  /** Commits every open task's progress (exactly-once: each task its own transaction). */
  commit(): Promise<void> {
    // Stores write their buffered changes out as the offsets commit; they are rebuilt from their
    // topics on restart, so a failed flush is logged and retried at the next commit.
    if (this.stateful) void this.stores.flush().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'flushing state stores failed'));
    return this.commits.commit();
  }

  /** How far tables and stores are restored (offsets read and to read), global tables included. */
  restorationProgress(): { readonly restored: number; readonly total: number } {
    const own = this.restoration.progress();
    const global = this.globals.restoration.progress();
    return { restored: own.restored + global.restored, total: own.total + global.total };
  }

  /** The open store `name` (of `partition`, unless global), e.g. for interactive queries and tests. */
  store(name: string, partition = 0): KeyValueStore<unknown, unknown> | undefined {
    return (this.stores.get(name, partition) ?? this.stores.get(name, -1))?.store;
  }

  /**
   * Size and LRU-cache counters of every store this instance has open (tables, aggregations, global
   * tables), per partition: for dashboards and the pipeline's summary. A PostgreSQL-backed store's
   * partitions share one table and each reports its size (`backend: 'postgres'`).
   *
   * @example
   * const users = (await app.storeStats()).filter((s) => s.name === 'users');
   * const hits = users.reduce((n, s) => n + (s.cache?.hits ?? 0), 0);
   */
  storeStats(): Promise<StoreStats[]> {
    return this.stores.stats();
  }

  private async fail(error: Error): Promise<void> {
    if (this.failure || this.stateValue === 'stopping' || this.stateValue === 'stopped') return;
    this.failure = error;
    this.logger.error({ err: error }, 'stopping after a fatal error');
    publish({ type: 'error', app: this.options.applicationId, error });
    await this.shutdown('failed');
  }

  private shutdown(final: 'stopped' | 'failed'): Promise<void> {
    this.stopped ??= this.runShutdown(final);
    return this.stopped;
  }

  /**
   * Every step is bounded by `shutdownTimeoutMs` (at least a second each), so a broker that is
   * gone cannot make SIGTERM hang; what could not finish stays uncommitted and is read again.
   */
  private async runShutdown(final: 'stopped' | 'failed'): Promise<void> {
    this.stopRequested = true;
    this.stopSignal.resolve();
    const wasRunning = this.stateValue === 'running' || this.stateValue === 'restoring';
    this.setState('stopping');
    if (this.commitTimer) clearInterval(this.commitTimer);
    const deadline = Date.now() + (this.options.shutdownTimeoutMs ?? 30_000);
    const remaining = () => Math.max(1_000, deadline - Date.now());
    // start() may be in the middle of a step; what that step creates is torn down below.
    if (this.pendingStep) await waitAtMost(this.pendingStep, remaining());
    const consumer = this.consumer;
    if (consumer) consumer.pause(consumer.assignment());
    if (wasRunning && final === 'stopped') {
      // Steps that hold records (a buffer, an open epoch) emit them now, so they can finish and commit.
      for (const task of this.tasks.values()) task.flush();
      const drained = await this.gate.drain(remaining());
      if (!drained) this.logger.warn({ inFlight: this.gate.inFlight }, 'shutdown timeout: leaving in-flight records uncommitted');
    }
    if (this.output) await waitAtMost(this.output.flush(), remaining());
    await waitAtMost(this.commit(), remaining());
    for (const key of [...this.tasks.keys()]) this.closeTask(key);
    if (consumer) {
      await waitAtMost(
        consumer.disconnect().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'consumer disconnect failed')),
        remaining(),
      );
    }
    // Tasks the consumer did not revoke (it never ran, or its disconnect timed out).
    const left = [...this.exactlyOnceTasks.values()];
    this.exactlyOnceTasks.clear();
    await waitAtMost(Promise.all(left.map((task) => task.close({ commit: false }))), remaining());
    if (this.output) await waitAtMost(this.output.close(), remaining());
    if (this.producer) {
      await waitAtMost(
        this.producer.disconnect().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'producer disconnect failed')),
        remaining(),
      );
    }
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await waitAtMost(admin.disconnect().catch(() => undefined), remaining());
    await waitAtMost(this.globals.stop(), remaining());
    await waitAtMost(this.stores.closeAll().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'closing state stores failed')), remaining());
    this.setState(final);
  }
}

function stoppedDuringStart(cause: unknown): StreamsError {
  return new StreamsError('stop() was called while the app was starting', { code: 'SHUTDOWN', cause });
}

function signal(): { readonly promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => (resolve = done));
  // Nobody may be racing it yet; a rejection-free promise needs no handler.
  return { promise, resolve: () => resolve() };
}
