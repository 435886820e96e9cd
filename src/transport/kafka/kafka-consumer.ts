/**
 * The transport's group consumer over kafkajs (`eachBatch`, `autoCommit: false`).
 *
 * Rebalances. kafkajs has no revoke callback, so the consumer builds one (eager protocol: every
 * rebalance revokes all owned partitions, then assigns the new set, as Java's classic consumer
 * with the range or round-robin assignor does):
 * - `consumer.rebalancing` (emitted by kafkajs after its fetch loop stopped, i.e. after every batch
 *   being handled settled, and before it rejoins) starts `onRevoked` for all owned partitions.
 * - Before every JoinGroup request the consumer waits for that revoke (see `join-gate.ts`), at most
 *   min(session, rebalance timeout) - heartbeat interval.
 * - `consumer.group_join` (after SyncGroup) records the new assignment and queues `onAssigned`.
 * - `disconnect()` stops fetching, waits for the batches being handled, runs `onRevoked` for all
 *   owned partitions while the member is still in the group, then leaves.
 *
 * Guaranteed:
 * - Callbacks never overlap and keep the order of events: onAssigned(A), onRevoked(A),
 *   onAssigned(B), ... and a batch is only delivered after the callbacks queued before it settled.
 * - `onRevoked` starts only after every batch of the revoked partitions settled, and no batch of a
 *   revoked partition is delivered afterwards unless a later `onAssigned` names it again.
 * - After a rebalance, reading resumes from the group's committed offsets (kafkajs rebuilds its
 *   fetch positions on every join): uncommitted work of a revoked partition is delivered again, to
 *   this member or the new owner, never skipped. This is also why every partition is revoked, not
 *   only the ones that move: kafkajs re-reads even the partitions a member keeps.
 * - A rejecting `eachBatch` or callback never crashes the process: a rejected batch is delivered
 *   again (after kafkajs' retry back-off; once its retries are spent kafkajs restarts the consumer,
 *   which rejoins the group), a failing callback is logged.
 * - Commits made during `onRevoked` that fail because the group moved on surface as a retriable
 *   `TransportError` (code COMMIT_FAILED), never as a crash.
 *
 * Positions: kafkajs never hands `eachBatch` a fetch it filtered empty (only transaction markers or
 * aborted records), but moves past it; `onPosition` reports that move from kafkajs'
 * END_BATCH_PROCESS event, for owned and unpaused partitions only.
 *
 * Best effort:
 * - Commits in `onRevoked` land before the new owner reads when `onRevoked` settles within the
 *   join-gate bound. A slower `onRevoked` lets the member rejoin anyway (or the group would evict
 *   it); its commits then race the next owner: they may fail (retriable) or land after the next
 *   owner read the older committed offset, which means records processed twice, never lost. The
 *   same holds if kafkajs changed shape and the gate could not be installed (logged at WARN).
 * - When kafkajs crashes (a broker gone for longer than its retries) it has left the group before
 *   it says so: `onRevoked` then runs after the fact and its commits fail (retriable); kafkajs
 *   restarts the consumer and `onAssigned` follows the rejoin.
 * - In the moment between kafkajs stopping its runner after a crash and announcing the crash, a
 *   kafkajs commit resolves without committing; the offsets are simply delivered again later.
 * - `heartbeat()` keeps the membership alive while a batch runs; when it learns of a rebalance it
 *   resolves, `isRunning()` turns false, and the end of that batch (return or rejection) makes
 *   kafkajs rejoin without marking the batch consumed. kafkajs does not heartbeat on its own while
 *   a batch runs: a handler that neither returns nor calls `heartbeat()` within the session timeout
 *   is evicted, and its later commits fail (retriable).
 */
import type { Consumer, EachBatchPayload, Logger } from 'kafkajs';
import { PartitionAssigners } from './kafkajs.ts';
import { ConfigError, TransportError } from '../../errors/streams-error.ts';
import type {
  BatchContext,
  ConsumerOptions,
  ConsumerRunOptions,
  TopicPartition,
  TopicPartitionOffset,
  TransportConsumer,
} from '../transport.ts';
import { BatchHandlerError } from './batch-handler-error.ts';
import { isGroupMembershipError, wrapKafkaError } from './errors.ts';
import { copartitionedAssigner } from './copartitioned-assigner.ts';
import { createJoinGate, type JoinGate } from './join-gate.ts';
import type { ResolvedKafkaOptions } from './options.ts';
import { PartitionOwnership } from './partition-ownership.ts';
import { toConsumedBatch } from './records.ts';
import { requestListener } from './request-events.ts';
import { contextOf, describePartitions, flattenAssignment, groupByTopic } from './topic-partitions.ts';
import { tpKey } from '../topic-partition-key.ts';

const DEFAULTS = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxBytesPerPartition: 1024 * 1024,
};

/** How long a fetch waits for data on the broker; bounds how long `disconnect()` waits for the fetch loop. */
const MAX_FETCH_WAIT_MS = 500;

export class KafkaConsumer implements TransportConsumer {
  readonly groupId: string;
  private readonly consumer: Consumer;
  private readonly logger: Logger;
  private readonly redact: (text: string) => string;
  private readonly ownership: PartitionOwnership;
  private readonly gate: JoinGate;
  private readonly paused = new Map<string, TopicPartition>();
  private readonly topics = new Set<string>();
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private stopping = false;
  /** Set between a kafkajs crash it will recover from and the next group join. */
  private restarting = false;
  /** Set when kafkajs crashed and will not restart. */
  private crashed: unknown;
  private onStopped: ((error: Error) => void) | undefined;
  private onPosition: ((partition: TopicPartition, nextOffset: number) => void) | undefined;
  /** A group-membership error a heartbeat saw during a batch; cleared by the next join. */
  private rebalanceSignal: unknown;

  /** @throws ConfigError naming the option when the consumer options cannot work. */
  constructor(shared: ResolvedKafkaOptions, options: ConsumerOptions) {
    validate(options);
    this.groupId = options.groupId;
    this.redact = shared.redact;
    const clientId = options.clientId ?? shared.clientId;
    const kafka = shared.kafka(clientId);
    this.logger = kafka.logger().namespace('KafkaTransportConsumer');
    this.ownership = new PartitionOwnership(this.logger, (lost) => this.forgetPauses(lost));

    const sessionTimeout = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
    const heartbeatInterval = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
    const rebalanceTimeout = options.rebalanceTimeoutMs ?? DEFAULTS.rebalanceTimeoutMs;
    const gateBound = Math.max(1_000, Math.min(sessionTimeout, rebalanceTimeout) - heartbeatInterval);
    const assigner = options.assignment === 'copartitioned' ? copartitionedAssigner : PartitionAssigners.roundRobin;
    this.gate = createJoinGate(() => this.ownership.revokeAll('rejoining the group'), gateBound, assigner);

    this.consumer = kafka.consumer({
      groupId: options.groupId,
      partitionAssigners: [this.gate.assigner],
      sessionTimeout,
      heartbeatInterval,
      rebalanceTimeout,
      maxBytesPerPartition: options.maxBytesPerPartition ?? DEFAULTS.maxBytesPerPartition,
      maxWaitTimeInMs: MAX_FETCH_WAIT_MS,
      readUncommitted: (options.isolationLevel ?? 'read_committed') === 'read_uncommitted',
      allowAutoTopicCreation: false,
      // kafkajs asks this before restarting a crashed consumer; a restart after disconnect() began
      // would rejoin the group behind the caller's back.
      retry: { retries: 5, restartOnFailure: async () => !this.stopping },
    });
    if (!this.gate.installed()) {
      this.logger.warn('kafkajs consumer internals changed: onRevoked races the rejoin, its commits may fail', {
        groupId: this.groupId,
      });
    }
    this.listen();
    if (shared.onRequest !== undefined) {
      this.consumer.on(this.consumer.events.REQUEST, requestListener('consumer', shared.onRequest));
    }
  }

  async connect(): Promise<void> {
    await this.call(`connect of consumer for group "${this.groupId}"`, {}, () => this.consumer.connect());
  }

  async subscribe(options: { readonly topics: readonly string[]; readonly fromBeginning?: boolean }): Promise<void> {
    const what = `subscribe of group "${this.groupId}" to ${options.topics.map((topic) => JSON.stringify(topic)).join(', ')}`;
    await this.call(what, options.topics.length === 1 ? { topic: options.topics[0] } : {}, () =>
      this.consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true }),
    );
    for (const topic of options.topics) this.topics.add(topic);
  }

  /** Joins the group and starts the fetch loop; resolves after the first join. */
  async run(options: ConsumerRunOptions): Promise<void> {
    if (this.closing !== undefined) {
      throw new TransportError(`run of consumer for group "${this.groupId}" failed: disconnect() was called`, { code: 'TRANSPORT_CLOSED' });
    }
    if (this.starting !== undefined) {
      throw new TransportError(`run of consumer for group "${this.groupId}" failed: it already runs`);
    }
    const concurrency = options.partitionsConsumedConcurrently ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new TransportError(`run of consumer for group "${this.groupId}" failed: partitionsConsumedConcurrently must be a positive integer`);
    }
    this.onStopped = options.onStopped;
    this.onPosition = options.onPosition;
    this.ownership.setCallbacks({
      onAssigned: (partitions) => options.onAssigned?.(partitions),
      onRevoked: (partitions) => options.onRevoked?.(partitions),
    });
    this.starting = this.call(`run of consumer for group "${this.groupId}"`, {}, () =>
      this.consumer.run({
        autoCommit: false,
        // Moves kafkajs' fetch position past a handled batch; commits stay with the caller.
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: (payload) => this.handleBatch(payload, options),
      }),
    );
    await this.starting;
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const what = `commit of ${describeOffsets(offsets)} for group "${this.groupId}"`;
    const context = contextOf(offsets);
    if (this.crashed !== undefined) {
      throw new TransportError(`${what} failed: the consumer stopped after a crash`, { code: 'TRANSPORT_CLOSED', cause: this.crashed, context });
    }
    if (this.starting === undefined) {
      throw new TransportError(`${what} failed: run() was not called`, { code: 'COMMIT_FAILED', context });
    }
    try {
      await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })));
    } catch (error) {
      const wrapped = wrapKafkaError(error, what, { code: 'COMMIT_FAILED', context, redact: this.redact });
      if (!this.restarting || wrapped.retriable) throw wrapped;
      // Between a crash and the rejoin kafkajs has no group to commit to; after it, there is.
      throw new TransportError(`${wrapped.message} (the consumer is restarting)`, { code: 'COMMIT_FAILED', retriable: true, cause: error, context });
    }
  }

  /** Stops fetching the partitions; remembered across kafkajs restarts, dropped when they are revoked. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.set(tpKey(tp), tp);
    this.tryKafka(() => this.consumer.pause(groupByTopic(partitions)));
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp));
    this.tryKafka(() => this.consumer.resume(groupByTopic(partitions)));
  }

  /** kafkajs applies the seek before its next fetch; a batch fetched before it reports itself stale. */
  seek(tp: TopicPartition, offset: number): void {
    if (!this.ownership.owns(tp)) return;
    this.tryKafka(() => this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) }));
  }

  /** Owned partitions, including ones whose `onRevoked` is still running. */
  assignment(): readonly TopicPartition[] {
    return this.ownership.assignment();
  }

  /** Stops fetching, lets the batches being handled settle, runs `onRevoked` for everything owned, leaves. */
  disconnect(): Promise<void> {
    this.closing ??= this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    this.stopping = true;
    if (this.starting !== undefined) {
      // kafkajs ignores a stop while its first join runs, then restarts on its own.
      await this.starting.catch(() => undefined);
      this.tryKafka(() => this.consumer.pause([...this.topics].map((topic) => ({ topic }))));
      this.ownership.close();
      await this.ownership.revokeAll('consumer disconnecting');
    }
    await this.call(`disconnect of consumer for group "${this.groupId}"`, {}, () => this.consumer.disconnect());
  }

  private listen(): void {
    const { events } = this.consumer;
    this.consumer.on(events.REBALANCING, () => {
      void this.ownership.revokeAll('group rebalancing');
    });
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.restarting = false;
      this.rebalanceSignal = undefined;
      this.ownership.assign(flattenAssignment(payload.memberAssignment));
      // A restarted kafkajs consumer starts with nothing paused.
      const stillPaused = [...this.paused.values()].filter((tp) => this.ownership.owns(tp));
      if (stillPaused.length > 0) this.tryKafka(() => this.consumer.pause(groupByTopic(stillPaused)));
    });
    // kafkajs never hands a batch it filtered empty (only markers or aborted records) to eachBatch, but
    // it moves its position past it and says so with this event: the one sign of that move.
    this.consumer.on(events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0) this.reportPosition({ topic: payload.topic, partition: payload.partition }, Number(payload.lastOffset) + 1);
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) this.restarting = true;
      else this.crashed = payload.error;
      void this.ownership.revokeAll('consumer crashed');
      if (!payload.restart && !this.stopping) {
        this.logger.error('consumer stopped after a crash kafkajs does not recover from', { groupId: this.groupId, error: payload.error });
        this.onStopped?.(wrapKafkaError(payload.error, `consumer of group "${this.groupId}"`, { redact: this.redact }));
      }
    });
  }

  private async handleBatch(payload: EachBatchPayload, options: ConsumerRunOptions): Promise<void> {
    const { batch } = payload;
    const consumed = toConsumedBatch(batch);
    if (consumed === undefined) return;
    await this.ownership.settled();
    const tp = { topic: batch.topic, partition: batch.partition };
    // The member is leaving: whoever reads the partition next starts from the committed offset.
    if (this.stopping) return;
    // Fetched before a pause or a revoke: not delivered now, so kafkajs must fetch it again.
    if (!this.ownership.owns(tp) || this.paused.has(tpKey(tp))) {
      this.rewind(payload);
      return;
    }
    const context: BatchContext = {
      heartbeat: () => this.heartbeat(payload),
      isRunning: () =>
        !this.stopping &&
        this.rebalanceSignal === undefined &&
        payload.isRunning() &&
        !payload.isStale() &&
        this.ownership.owns(tp),
    };
    try {
      await this.ownership.track(() => options.eachBatch(consumed, context));
    } catch (error) {
      if (this.rebalanceSignal !== undefined) throw this.rebalanceSignal;
      if (this.stopping) return;
      const first = consumed.records[0]?.offset;
      const reason = error instanceof Error ? error.message : String(error);
      throw new BatchHandlerError(
        this.redact(`eachBatch rejected ${batch.topic}[${batch.partition}] from offset ${first}; it will be delivered again: ${reason}`),
        error,
      );
    }
    // Throwing keeps kafkajs from marking the batch consumed; the kafkajs error makes it rejoin.
    if (this.rebalanceSignal !== undefined) throw this.rebalanceSignal;
  }

  private reportPosition(tp: TopicPartition, nextOffset: number): void {
    if (this.onPosition === undefined || this.stopping || !this.ownership.owns(tp) || this.paused.has(tpKey(tp))) return;
    try {
      this.onPosition(tp, nextOffset);
    } catch (error) {
      this.logger.error('onPosition failed', { groupId: this.groupId, topic: tp.topic, partition: tp.partition, error });
    }
  }

  private async heartbeat(payload: EachBatchPayload): Promise<void> {
    if (this.rebalanceSignal !== undefined || this.stopping) return;
    try {
      await payload.heartbeat();
    } catch (error) {
      if (isGroupMembershipError(error)) {
        this.rebalanceSignal ??= error;
        return;
      }
      const { topic, partition } = payload.batch;
      throw wrapKafkaError(error, `heartbeat of group "${this.groupId}" while handling ${topic}[${partition}]`, {
        context: { topic, partition },
        redact: this.redact,
      });
    }
  }

  /** Makes kafkajs fetch an undelivered batch again (its auto-resolve would otherwise skip it). */
  private rewind(payload: EachBatchPayload): void {
    const { batch } = payload;
    const offset = batch.firstOffset() ?? batch.messages[0]?.offset;
    if (offset === undefined || offset === null) return;
    this.tryKafka(() => this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset }));
  }

  private forgetPauses(lost: readonly TopicPartition[]): void {
    for (const tp of lost) this.paused.delete(tpKey(tp));
    // A partition that comes back after a rebalance starts unpaused, as with Java's consumer.
    if (!this.stopping) this.tryKafka(() => this.consumer.resume(groupByTopic(lost)));
  }

  /** kafkajs' pause, resume and seek throw before `run()`; the state they carry is re-applied on join. */
  private tryKafka(operation: () => void): void {
    try {
      operation();
    } catch (error) {
      this.logger.debug('kafkajs call skipped', { groupId: this.groupId, error });
    }
  }

  private async call<T>(what: string, context: { topic?: string }, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw wrapKafkaError(error, what, { context, redact: this.redact });
    }
  }
}

function validate(options: ConsumerOptions): void {
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    throw new ConfigError('consumer option "groupId" must be a non-empty string');
  }
  for (const name of ['sessionTimeoutMs', 'heartbeatIntervalMs', 'rebalanceTimeoutMs', 'maxBytesPerPartition'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new ConfigError(`consumer option "${name}" of group "${options.groupId}" must be a positive integer`);
    }
  }
  if (options.assignment !== undefined && options.assignment !== 'round-robin' && options.assignment !== 'copartitioned') {
    throw new ConfigError(`consumer option "assignment" of group "${options.groupId}" must be 'round-robin' or 'copartitioned'`);
  }
  const session = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
  const heartbeat = options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
  if (heartbeat >= session) {
    throw new ConfigError(`consumer option "heartbeatIntervalMs" (${heartbeat}) of group "${options.groupId}" must be below "sessionTimeoutMs" (${session})`);
  }
}

function describeOffsets(offsets: readonly TopicPartitionOffset[]): string {
  return offsets.length <= 4
    ? offsets.map(({ topic, partition, offset }) => `${topic}[${partition}]@${offset}`).join(', ')
    : `offsets of ${describePartitions(offsets)}`;
}
