/**
 * The transport's producer over kafkajs: a `send` is split by estimated bytes into chunks below
 * `maxRequestBytes` (a broker refuses a batch above its `message.max.bytes`), each chunk one
 * `sendBatch` (kafkajs splits it into one Produce request per leader broker), sent one after
 * another so the order per partition holds; acks from all in-sync replicas and idempotence by default,
 * and keys partitioned with Kafka's murmur2 partitioner, the same code the memory transport uses,
 * so a key lands on the same partition on both and as the Java client puts it.
 */
import { randomInt } from 'node:crypto';
import type { ICustomPartitioner, Producer } from 'kafkajs';
import { partitionForKey, toPositive } from '../murmur2.ts';
import { ConfigError, TransportError } from '../../errors/streams-error.ts';
import type { OutgoingRecord, ProducerOptions, TransportProducer, TransportTransaction } from '../transport.ts';
import { wrapKafkaError } from './errors.ts';
import { KafkaTransaction } from './kafka-transaction.ts';
import type { ResolvedKafkaOptions } from './options.ts';
import { describeRecords, recordsContext, splitBySize, toTopicMessages } from './records.ts';
import { requestListener } from './request-events.ts';

const ACKS = { all: -1, leader: 1, none: 0 } as const;

/**
 * Kafka's default partitioner, as kafkajs' `DefaultPartitioner` applies it (an explicit partition,
 * else murmur2 of the key, else round-robin over the partitions that have a leader), with 32-bit
 * arithmetic instead of kafkajs' BigInt one, and refusing an explicit partition the topic does not
 * have: kafkajs itself finds no leader for it and drops the record while the send resolves.
 */
export const checkedPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    const explicit = message.partition;
    const count = partitionMetadata.length;
    if (explicit !== undefined && explicit !== null) {
      if (!(Number.isInteger(explicit) && explicit >= 0 && explicit < count)) {
        throw new TransportError(`partition ${explicit} of topic ${topic} does not exist (it has ${count})`, { context: { topic, partition: explicit } });
      }
      return explicit;
    }
    const key = message.key;
    if (key !== null && key !== undefined) return partitionForKey(Buffer.isBuffer(key) ? key : Buffer.from(String(key)), count);
    const next = (counters.get(topic) ?? randomInt(2 ** 31)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0 ? (available[toPositive(next) % available.length] as { partitionId: number }).partitionId : toPositive(next) % count;
  };
};

interface ProducerSettings {
  readonly clientId: string;
  readonly idempotent: boolean;
  readonly acks: (typeof ACKS)[keyof typeof ACKS];
  readonly transactionalId: string | undefined;
}

export class KafkaProducer implements TransportProducer {
  private readonly producer: Producer;
  private readonly settings: ProducerSettings;
  private readonly redact: (text: string) => string;
  private readonly maxRequestBytes: number;

  /** @throws ConfigError when the options contradict each other (e.g. idempotence without acks from all). */
  constructor(shared: ResolvedKafkaOptions, options: ProducerOptions = {}) {
    this.settings = settle(options, shared.clientId);
    this.redact = shared.redact;
    this.maxRequestBytes = shared.maxRequestBytes;
    const { idempotent, transactionalId } = this.settings;
    this.producer = shared.kafka(this.settings.clientId).producer({
      createPartitioner: checkedPartitioner,
      idempotent,
      // kafkajs hands out sequence numbers per request; one request in flight per broker keeps them
      // in order, which idempotence and transactions depend on.
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
      // A transaction that starts while the broker still writes the previous one's markers is
      // answered CONCURRENT_TRANSACTIONS; kafkajs waits 300 ms before asking again, which with a
      // commit every 100 ms stalls a task for three intervals. Java's producer asks again after 20-100
      // ms: so here, starting at 50 ms, with as long a retry budget in all as kafkajs' default.
      ...(transactionalId === undefined ? {} : { transactionalId, retry: { initialRetryTime: 50, retries: 8 } }),
      // Topics are created on purpose (admin or topology set-up), never by a typo in a sink name.
      allowAutoTopicCreation: false,
    });
    if (shared.onRequest !== undefined) {
      this.producer.on(this.producer.events.REQUEST, requestListener('producer', shared.onRequest));
    }
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (error) {
      throw wrapKafkaError(error, `connect of producer "${this.settings.clientId}"`, { redact: this.redact });
    }
  }

  /**
   * Writes the records in as few requests as fit below `maxRequestBytes` and resolves once every
   * broker acknowledged all of them. A failure after some chunks were acknowledged leaves those
   * written: sending the same records again writes them twice (at-least-once), never loses any.
   *
   * @throws TransportError with code RECORD_TOO_LARGE, before anything is sent, when one record
   * alone does not fit.
   */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      for (const chunk of splitBySize(records, this.maxRequestBytes)) {
        await this.producer.sendBatch({ acks: this.settings.acks, topicMessages: toTopicMessages(chunk) });
      }
    } catch (error) {
      throw wrapKafkaError(error, `send of ${describeRecords(records)}`, {
        context: recordsContext(records),
        redact: this.redact,
      });
    }
  }

  /** Begins a kafkajs transaction; one at a time, and only with a `transactionalId`. */
  async transaction(): Promise<TransportTransaction> {
    const { transactionalId } = this.settings;
    if (transactionalId === undefined) {
      throw new TransportError('transaction() needs a producer created with a transactionalId', { code: 'TRANSACTION_FAILED' });
    }
    try {
      return new KafkaTransaction(await this.producer.transaction(), transactionalId, { redact: this.redact, maxRequestBytes: this.maxRequestBytes });
    } catch (error) {
      throw wrapKafkaError(error, `begin of transaction "${transactionalId}"`, { code: 'TRANSACTION_FAILED', redact: this.redact });
    }
  }

  async disconnect(): Promise<void> {
    try {
      await this.producer.disconnect();
    } catch (error) {
      throw wrapKafkaError(error, `disconnect of producer "${this.settings.clientId}"`, { redact: this.redact });
    }
  }
}

function settle(options: ProducerOptions, defaultClientId: string): ProducerSettings {
  const acks = options.acks ?? 'all';
  if (!Object.hasOwn(ACKS, acks)) throw new ConfigError(`producer option "acks" must be all, leader or none, got ${JSON.stringify(acks)}`);
  const transactional = options.transactionalId !== undefined;
  if (transactional && options.idempotent === false) {
    throw new ConfigError('producer option "idempotent" cannot be false with a "transactionalId": Kafka transactions are idempotent');
  }
  const idempotent = options.idempotent ?? true;
  if (idempotent && acks !== 'all') {
    throw new ConfigError(`producer option "acks" is "${acks}" but an idempotent producer needs "all"; set "idempotent: false" to trade it away`);
  }
  if (transactional && options.transactionalId === '') {
    throw new ConfigError('producer option "transactionalId" must not be empty');
  }
  return { clientId: options.clientId ?? defaultClientId, idempotent, acks: ACKS[acks], transactionalId: options.transactionalId };
}
