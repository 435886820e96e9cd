/**
 * A typed subscriber of `ratings_enriched` for downstream teams: reads the topic read_committed in
 * a consumer group, decodes each value with the published schema, hands the events to the caller's
 * handler, and commits an offset only after the handler resolved for every record before it.
 */
import { ConfigError, DeserializationError, StreamsError, toError } from '../../errors/streams-error.ts';
import { KafkaTransport } from '../../transport/kafka/index.ts';
import type { BatchContext, ConsumedBatch, Headers, IncomingRecord, Transport } from '../../transport/transport.ts';
import { ratingEnrichedSerde, type RatingEnriched } from './rating-enriched.ts';

/** Where an event was read; `key` is the record key, the rating id. */
export interface RatingsEnrichedMeta {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly timestamp: number;
  readonly headers: Headers;
}

export interface RatingsEnrichedRecord {
  readonly event: RatingEnriched;
  readonly meta: RatingsEnrichedMeta;
}

/** A record of the topic that is not a `RatingEnriched`: its raw bytes, where it is, and why. */
export interface InvalidEnrichedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly reason: string;
  readonly error: Error;
}

interface CommonOptions {
  /** The subscriber's consumer group: one group per downstream application. */
  readonly groupId: string;
  /** Default `ratings_enriched`. */
  readonly topic?: string;
  /** Where a group with no committed offset starts: the beginning (true) or new records only (default). */
  readonly fromBeginning?: boolean;
  /**
   * Called (and awaited) for each record that does not decode, in its place in the order; its offset
   * is committed afterwards like any other. Required: the subscriber never skips a record silently.
   */
  readonly onInvalid: (record: InvalidEnrichedRecord) => void | Promise<void>;
  /**
   * Only when the topology writes the Confluent wire format (it was given a registry serde): a
   * `confluentAvroSerde<RatingEnriched>` of the schema file, whose `decode` fetches each record's
   * writer schema by id and resolves it into the current one. Without it values must be plain Avro
   * binary, the topology's default; a framed value is reported to `onInvalid` saying so.
   */
  readonly registry?: { decode(data: Buffer, topic: string): Promise<RatingEnriched | null> };
  /** The consumer's client id; default `ratings-enriched-subscriber`. */
  readonly clientId?: string;
}

type Connection = { readonly brokers: readonly string[]; readonly transport?: never } | { readonly transport: Transport; readonly brokers?: never };

type Handler =
  | { readonly onEvent: (event: RatingEnriched, meta: RatingsEnrichedMeta) => void | Promise<void>; readonly onBatch?: never }
  | { readonly onBatch: (records: readonly RatingsEnrichedRecord[]) => void | Promise<void>; readonly onEvent?: never };

export type SubscribeRatingsEnrichedOptions = CommonOptions & Connection & Handler;

export interface RatingsEnrichedSubscription {
  /**
   * Settles when the subscriber has stopped: resolves after `stop()`, rejects with the error that
   * stopped it otherwise (a handler or `onInvalid` threw, the registry could not be reached, the
   * consumer failed for good). Nothing past the failing record was committed.
   */
  readonly done: Promise<void>;
  /** Stops fetching, lets the record being handled finish, commits what was handled, leaves the group. */
  stop(): Promise<void>;
}

type Decoded = { readonly ok: true; readonly event: RatingEnriched } | { readonly ok: false; readonly reason: string; readonly error: Error };

/**
 * Subscribes to `ratings_enriched` with a typed handler. Like a newspaper subscription that only
 * marks an issue read once you have finished it: a crash re-delivers what was not finished.
 *
 * Delivery is at-least-once for the subscriber: offsets are committed after the handler (`onEvent`
 * per record, or `onBatch` per fetched batch) resolved, so a crash or a rebalance between the
 * handler and the commit hands the same records to the handler again. Handle them idempotently,
 * e.g. by the rating id (`event.id`, also `meta.key`). Order: per partition, in offset order; the
 * topic is keyed by rating id, so two ratings of one user may be on different partitions.
 *
 * Reads read_committed: with the enrichment running exactly-once, aborted writes are never seen.
 *
 * @example
 * const subscription = await subscribeRatingsEnriched({
 *   brokers: ['127.0.0.1:9092'],
 *   groupId: 'feedback-dashboard',
 *   onEvent: async (event) => dashboard.upsert(event.id, event.score, event.userProfile?.tier ?? null),
 *   onInvalid: (record) => logger.warn({ partition: record.partition, offset: record.offset, reason: record.reason }, 'skipped'),
 * });
 * process.once('SIGTERM', () => void subscription.stop());
 * await subscription.done;
 */
export async function subscribeRatingsEnriched(options: SubscribeRatingsEnrichedOptions): Promise<RatingsEnrichedSubscription> {
  const topic = options.topic ?? 'ratings_enriched';
  validate(options);
  const clientId = options.clientId ?? 'ratings-enriched-subscriber';
  const transport = options.transport ?? new KafkaTransport({ brokers: options.brokers ?? [], clientId });
  const consumer = transport.consumer({ groupId: options.groupId, clientId, isolationLevel: 'read_committed' });
  const plain = ratingEnrichedSerde();
  let failure: Error | undefined;
  let stopping: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (error: Error) => void } = { resolve: () => undefined, reject: () => undefined };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that never looks at `done` must not crash the process with an unhandled rejection.
  done.catch(() => undefined);

  const stop = (): Promise<void> => {
    stopping ??= consumer
      .disconnect()
      .catch((error: unknown) => void (failure ??= toError(error)))
      .then(() => (failure === undefined ? settle.resolve() : settle.reject(failure)));
    return stopping;
  };
  const fail = (error: unknown): void => {
    failure ??= toError(error);
    // Not awaited: disconnect() waits for the batch that is failing to return.
    void stop();
  };

  const decode = async (record: IncomingRecord): Promise<Decoded> => {
    if (record.value === null) return invalid('a null value (tombstone); ratings_enriched carries none');
    let event: RatingEnriched | null;
    try {
      event = options.registry === undefined ? plain.deserialize(record.value, record.topic) : await options.registry.decode(record.value, record.topic);
    } catch (error) {
      // A registry that cannot be reached is no fault of the record: stop, to resume at it later.
      if (!(error instanceof DeserializationError)) throw error;
      return invalid(`${error.message}${options.registry === undefined ? framingHint(record.value) : ''}`, error);
    }
    if (event === null) return invalid('the value decoded to null');
    const key = record.key?.toString('utf8');
    if (key !== event.id) return invalid(`the key ${key === undefined ? '(none)' : JSON.stringify(key)} is not the event's id ${JSON.stringify(event.id)}`);
    return { ok: true, event };
  };

  const report = (record: IncomingRecord, decoded: Decoded & { ok: false }) =>
    options.onInvalid({ topic: record.topic, partition: record.partition, offset: record.offset, key: record.key, value: record.value, headers: record.headers, reason: decoded.reason, error: decoded.error });

  /**
   * Handles the batch until it ends or must stop; `handled.next` is the offset after the last record
   * whose handler resolved (for `onBatch`: after the batch's handler resolved), even when one throws.
   */
  const handle = async (batch: ConsumedBatch, context: BatchContext, handled: { next?: number }): Promise<void> => {
    const ready: RatingsEnrichedRecord[] = [];
    let end: number | undefined;
    for (const record of batch.records) {
      if (!context.isRunning()) break;
      const decoded = await decode(record);
      if (!decoded.ok) await report(record, decoded);
      else if (options.onEvent !== undefined) await options.onEvent(decoded.event, metaOf(record));
      else ready.push({ event: decoded.event, meta: metaOf(record) });
      end = record.offset + 1;
      if (options.onEvent !== undefined) handled.next = end;
      await context.heartbeat();
    }
    if (options.onBatch === undefined || end === undefined || !context.isRunning()) return;
    if (ready.length > 0) await options.onBatch(ready);
    handled.next = end;
  };

  const commit = async (partition: number, offset: number): Promise<void> => {
    try {
      await consumer.commit([{ topic, partition, offset }]);
    } catch (error) {
      // Lost to a rebalance or a restarting consumer: those records are delivered again, as promised.
      if (error instanceof StreamsError && error.retriable) return;
      throw error;
    }
  };

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: options.fromBeginning ?? false });
    await consumer.run({
      eachBatch: async (batch, context) => {
        if (failure !== undefined || stopping !== undefined) return;
        const handled: { next?: number } = {};
        await handle(batch, context, handled).catch(fail);
        // Also after a failure: what was handled before the failing record stays handled.
        if (handled.next !== undefined) await commit(batch.partition, handled.next).catch(fail);
      },
      onStopped: fail,
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  return { done, stop };

  function invalid(reason: string, error: Error = new DeserializationError(reason, { context: {} })): Decoded {
    return { ok: false, reason, error };
  }
}

function metaOf(record: IncomingRecord): RatingsEnrichedMeta {
  return { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key?.toString('utf8') ?? '', timestamp: record.timestamp, headers: record.headers };
}

/** Why a plain-Avro decode may have failed: the value starts like the Confluent wire format. */
function framingHint(value: Buffer): string {
  if (value.length < 5 || value[0] !== 0) return '';
  return `; it starts like the Confluent wire format (magic byte 0, schema id ${value.readInt32BE(1)}): subscribe with \`registry\``;
}

function validate(options: SubscribeRatingsEnrichedOptions): void {
  const where = 'subscribeRatingsEnriched()';
  if (typeof options.groupId !== 'string' || options.groupId === '') throw new ConfigError(`${where}: groupId must be a non-empty string`);
  if ((options.transport === undefined) === (options.brokers === undefined)) throw new ConfigError(`${where}: give exactly one of brokers and transport`);
  if (options.brokers !== undefined && options.brokers.length === 0) throw new ConfigError(`${where}: brokers must name at least one host:port`);
  if ((typeof options.onEvent === 'function') === (typeof options.onBatch === 'function')) throw new ConfigError(`${where}: give exactly one of onEvent and onBatch`);
  if (typeof options.onInvalid !== 'function') throw new ConfigError(`${where}: onInvalid is required, so that no record is skipped unseen`);
}
