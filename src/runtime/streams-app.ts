/**
 * Runs a topology on a transport as one member of the consumer group `applicationId`. Start as
 * many instances as there are input partitions; they share the work.
 *
 * Guarantees (see the README, "Guarantees"):
 * - an input offset is committed only once everything derived from it was written, dead-lettered
 *   or filtered out (record lineage); a crash re-reads, never skips;
 * - `exactly-once`: outputs and input offsets commit in one transaction;
 * - at most `maxInFlight` input records are in flight; at the bound, intake waits while the
 *   consumer keeps heartbeating, so slow sinks slow consumption instead of filling memory;
 * - revoked partitions commit what is done and stop; shutdown stops intake, lets in-flight work
 *   finish (up to `shutdownTimeoutMs`), commits, and leaves the group.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { ConfigError, StreamsError, toError } from '../errors/streams-error.ts';
import { Topology } from '../topology/topology.ts';
import { assertRuntimeSupports } from './supported-nodes.ts';
import type {
  BatchContext,
  ConsumedBatch,
  TopicPartition,
  Transport,
  TransportConsumer,
  TransportProducer,
} from '../transport/transport.ts';
import { BatchingOutput, type BatchingOptions } from './batching-output.ts';
import { CommitCoordinator } from './commit-coordinator.ts';
import { tpKey } from '../transport/topic-partition-key.ts';
import { ErrorRouter, type ErrorPolicies } from './error-router.ts';
import { InFlightGate } from './in-flight-gate.ts';
import { publish, type AppState } from './instrumentation.ts';
import { defaultLogger, redactingLogger, type Logger } from './logger.ts';
import type { RecordOutput } from './record-output.ts';
import { Task } from './task.ts';
import { TransactionalOutput } from './transactional-output.ts';
import { waitAtMost } from '../transport/wait-at-most.ts';

export interface StreamsAppOptions {
  /** Consumer group id, prefix of internal topics, and the default dead-letter topic `<id>-dlq`. */
  readonly applicationId: string;
  readonly transport: Transport;
  /** Default `at-least-once`. */
  readonly processingGuarantee?: 'at-least-once' | 'exactly-once';
  /** Input records in flight at most; default 1000. */
  readonly maxInFlight?: number;
  /** Default 1000 ms (at-least-once) or 100 ms (exactly-once). */
  readonly commitIntervalMs?: number;
  readonly errorPolicy?: ErrorPolicies;
  /** Default `<applicationId>-dlq`. */
  readonly deadLetterTopic?: string;
  /** Default 4. */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Failed transactions in a row after which the app stops (state `failed`); before that, each
   * failure drops the uncommitted work and re-reads from the last commit. Default 5.
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


export class StreamsApp {
  private stateValue: AppState = 'created';
  private readonly logger: Logger;
  private readonly gate: InFlightGate;
  private readonly tasks = new Map<string, Task>();
  private readonly exactlyOnce: boolean;
  private readonly deadLetterTopic: string;
  private consumer: TransportConsumer | undefined;
  private producer: TransportProducer | undefined;
  private output: RecordOutput | undefined;
  private errors: ErrorRouter | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private stopped: Promise<void> | undefined;
  private readonly stateListeners = new Set<(state: AppState) => void>();
  private recovering = false;
  private readonly commits: CommitCoordinator;
  private readonly instanceIdValue: string;

  constructor(
    readonly topology: Topology,
    private readonly options: StreamsAppOptions,
  ) {
    if (!options.applicationId || !/^[A-Za-z0-9._-]+$/.test(options.applicationId)) {
      throw new ConfigError(`applicationId ${JSON.stringify(options.applicationId)} is invalid; use letters, digits, '.', '_' and '-'`);
    }
    const maxInFlight = options.maxInFlight ?? 1000;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new ConfigError(`maxInFlight must be a whole number >= 1 (got ${maxInFlight})`);
    this.gate = new InFlightGate(maxInFlight);
    this.instanceIdValue = options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.exactlyOnce = options.processingGuarantee === 'exactly-once';
    this.deadLetterTopic = options.deadLetterTopic ?? `${options.applicationId}-dlq`;
    this.logger = redactingLogger((options.logger ?? defaultLogger('streams')).child({ app: options.applicationId }), options.secrets ?? []);
    this.commits = new CommitCoordinator({
      app: options.applicationId,
      logger: this.logger,
      exactlyOnce: this.exactlyOnce,
      tasks: () => this.tasks.values(),
      consumer: () => this.consumer,
      producer: () => this.producer,
      output: () => this.output,
      onTransactionFailed: (error) => void this.recover(error),
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

  /** Creates internal topics, joins the group and starts processing; resolves once running. */
  async start(): Promise<void> {
    if (this.stateValue !== 'created') throw new ConfigError(`start() called in state ${this.stateValue}; an app starts once`);
    assertRuntimeSupports(this.topology);
    this.setState('starting');
    try {
      await this.prepareTopics();
      await this.openOutput();
      await this.startConsumer();
      this.startCommitTimer();
      this.setState('running');
    } catch (error) {
      this.failure = toError(error);
      await this.shutdown('failed');
      throw error;
    }
  }

  private startCommitTimer(): void {
    this.commitTimer = setInterval(() => void this.commit(), this.options.commitIntervalMs ?? (this.exactlyOnce ? 100 : 1000));
  }

  /** Stops intake, lets in-flight records finish, commits and leaves the group. Safe to call twice. */
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
      const external = [
        ...this.topology.sources().filter((s) => !s.internal).map((s) => s.topic),
        ...this.topology.sinks().flatMap((sink) => (sink.sink === 'topic' && !sink.internal ? [sink.topic] : [])),
      ];
      const missing = [...new Set(external.filter((topic) => !existing.has(topic)))];
      if (missing.length > 0) {
        throw new ConfigError(
          `topics ${missing.join(', ')} do not exist; create them before starting ${this.options.applicationId} (the app creates only its internal topics and ${this.deadLetterTopic})`,
        );
      }
      let widest = 1;
      for (const source of this.topology.sources().filter((s) => !s.internal)) widest = Math.max(widest, await admin.partitionCount(source.topic));
      const internal = this.topology
        .sinks()
        .flatMap((sink) => (sink.sink === 'topic' && sink.internal ? [sink] : []))
        .map((sink) => ({ topic: this.topicName(sink), partitions: sink.partitions ?? this.options.internalTopicPartitions ?? widest }));
      // The dead-letter topic is as wide as the widest input, so dead letters keep their key's partition order.
      await admin.createTopics([...internal, { topic: this.deadLetterTopic, partitions: widest }]);
    } finally {
      await admin.disconnect();
    }
  }

  private async openOutput(): Promise<void> {
    const { transport, applicationId } = this.options;
    const { instanceId } = this;
    this.producer = transport.producer(
      this.exactlyOnce ? { clientId: `${applicationId}-${instanceId}`, transactionalId: `${applicationId}-${instanceId}` } : { clientId: `${applicationId}-${instanceId}` },
    );
    await this.producer.connect();
    this.output = this.exactlyOnce ? new TransactionalOutput() : new BatchingOutput(this.producer, applicationId, this.logger, this.options.producerBatch);
    this.errors = new ErrorRouter({
      app: applicationId,
      policies: this.options.errorPolicy ?? {},
      deadLetterTopic: this.deadLetterTopic,
      output: this.output,
      logger: this.logger,
      now: () => (this.options.scheduler ?? asyncScheduler).now(),
      secrets: this.options.secrets ?? [],
      onFatal: (error) => void this.fail(error),
    });
  }

  private async startConsumer(): Promise<void> {
    const { transport, applicationId } = this.options;
    const consumer = transport.consumer({ groupId: applicationId, clientId: `${applicationId}-consumer`, ...this.options.consumer });
    this.consumer = consumer;
    await consumer.connect();
    const topics = this.topology.sources().map((source) => this.topicName(source));
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 4,
      eachBatch: (batch, context) => this.onBatch(batch, context),
      onAssigned: (partitions) => {
        publish({ type: 'rebalance', app: applicationId, change: 'assigned', partitions });
        this.logger.info({ partitions }, 'partitions assigned');
      },
      onRevoked: (partitions) => this.onRevoked(partitions),
    });
  }

  private taskFor(topic: string, partition: number): Task {
    const key = tpKey({ topic, partition });
    const existing = this.tasks.get(key);
    if (existing && !existing.isClosed) return existing;
    const source = this.topology.sources().find((s) => this.topicName(s) === topic);
    if (!source) throw new StreamsError(`no source reads topic ${topic}`, { code: 'TOPOLOGY_INVALID' });
    const task = new Task(
      {
        app: this.options.applicationId,
        topology: this.topology,
        output: this.output as RecordOutput,
        errors: this.errors as ErrorRouter,
        scheduler: this.options.scheduler ?? asyncScheduler,
        topicName: (node) => this.topicName(node),
        progressListener: { onFreed: (count) => this.gate.remove(count) },
        transactional: this.exactlyOnce,
      },
      source.name,
      topic,
      partition,
    );
    this.tasks.set(key, task);
    return task;
  }

  /** Whether new input may be taken in: the app is (starting to be) running and not recovering. */
  private accepting(): boolean {
    return (this.stateValue === 'running' || this.stateValue === 'starting') && !this.recovering;
  }

  private running(context: BatchContext): boolean {
    return context.isRunning() && this.accepting();
  }

  private async onBatch(batch: ConsumedBatch, context: BatchContext): Promise<void> {
    if (!this.accepting()) return;
    const task = this.taskFor(batch.topic, batch.partition);
    publish({ type: 'records.in', app: this.options.applicationId, topic: batch.topic, partition: batch.partition, count: batch.records.length });
    let sinceHeartbeat = 0;
    for (const record of batch.records) {
      while (this.gate.isFull) {
        publish({ type: 'in-flight', app: this.options.applicationId, inFlight: this.gate.inFlight, paused: true });
        // Steps that hold records (a buffer, a filter's drops) let go of them, or nothing would move.
        for (const open of this.tasks.values()) open.flush();
        await this.gate.waitForRoom(1_000);
        await context.heartbeat();
        if (!this.running(context) || task.isClosed) return;
      }
      if (!this.running(context) || task.isClosed) return;
      // A batch delivered again (after a failed heartbeat) holds records this task already took.
      if (!task.accepts(record)) continue;
      this.gate.add();
      task.process(record);
      if (++sinceHeartbeat >= 100) {
        sinceHeartbeat = 0;
        await context.heartbeat();
      }
    }
    const last = batch.records[batch.records.length - 1];
    if (last) publish({ type: 'lag', app: this.options.applicationId, topic: batch.topic, partition: batch.partition, lag: Math.max(0, batch.highWatermark - last.offset - 1) });
  }

  /** Commits what is done for these partitions, then stops their tasks. */
  private async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    publish({ type: 'rebalance', app: this.options.applicationId, change: 'revoked', partitions });
    this.logger.info({ partitions }, 'partitions revoked');
    await this.commit();
    for (const { topic, partition } of partitions) this.closeTask(tpKey({ topic, partition }));
  }

  private closeTask(key: string): void {
    const task = this.tasks.get(key);
    if (!task) return;
    task.close();
    this.tasks.delete(key);
    this.commits.forget(key);
  }

  /** Commits every open task's progress; one commit runs at a time. */
  commit(): Promise<void> {
    return this.commits.commit();
  }

  /**
   * After a failed transaction: drops everything since the last commit, then reads again from the
   * committed offsets with a new consumer and a new transactional producer (which also fences any
   * zombie with the same id), backing off between attempts.
   */
  private async recover(error: StreamsError): Promise<void> {
    if (this.recovering || this.stateValue !== 'running') return;
    const attempt = this.commits.failedTransactions;
    publish({ type: 'error', app: this.options.applicationId, error });
    if (attempt > (this.options.maxTransactionRetries ?? 5)) {
      await this.fail(error);
      return;
    }
    this.recovering = true;
    this.logger.warn({ err: error, attempt }, 'transaction failed; re-reading from the last committed offsets');
    if (this.commitTimer) clearInterval(this.commitTimer);
    for (const key of [...this.tasks.keys()]) this.closeTask(key);
    (this.output as TransactionalOutput).discard();
    try {
      await this.consumer?.disconnect();
      await this.producer?.disconnect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 200 * 2 ** (attempt - 1))));
      await this.openOutput();
      this.recovering = false;
      await this.startConsumer();
      this.startCommitTimer();
    } catch (recoveryError) {
      this.recovering = false;
      await this.fail(new StreamsError(`recovering from a failed transaction failed: ${toError(recoveryError).message}`, { code: 'TRANSACTION_FAILED', cause: recoveryError }));
    }
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
    const wasRunning = this.stateValue === 'running';
    this.setState('stopping');
    if (this.commitTimer) clearInterval(this.commitTimer);
    const deadline = Date.now() + (this.options.shutdownTimeoutMs ?? 30_000);
    const remaining = () => Math.max(1_000, deadline - Date.now());
    const consumer = this.consumer;
    if (consumer) consumer.pause(consumer.assignment());
    if (wasRunning && final === 'stopped') {
      const drained = await this.gate.drain(remaining());
      if (!drained) this.logger.warn({ inFlight: this.gate.inFlight }, 'shutdown timeout: leaving in-flight records uncommitted');
    }
    if (this.output) await waitAtMost(this.output.flush(), remaining());
    // A failed transaction left nothing it may commit; everything else commits what is done.
    if (!(this.failure instanceof StreamsError && this.failure.code === 'TRANSACTION_FAILED')) await waitAtMost(this.commit(), remaining());
    for (const key of [...this.tasks.keys()]) this.closeTask(key);
    if (consumer) {
      await waitAtMost(
        consumer.disconnect().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'consumer disconnect failed')),
        remaining(),
      );
    }
    if (this.output) await waitAtMost(this.output.close(), remaining());
    if (this.producer) {
      await waitAtMost(
        this.producer.disconnect().catch((error: unknown) => this.logger.warn({ err: toError(error) }, 'producer disconnect failed')),
        remaining(),
      );
    }
    this.setState(final);
  }
}
