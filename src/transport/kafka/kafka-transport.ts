/**
 * The transport over a real Kafka cluster, through kafkajs. This folder is the only place in the
 * engine that imports kafkajs.
 */
import type { ConsumerOptions, ProducerOptions, Transport } from '../transport.ts';
import { KafkaAdmin } from './kafka-admin.ts';
import { KafkaConsumer } from './kafka-consumer.ts';
import { KafkaProducer } from './kafka-producer.ts';
import { installConnectionResetFix } from './connection-reset-fix.ts';
import { installAbortedFilterFix } from './aborted-filter-fix.ts';
import { fastPaths } from './kafkajs.ts';
import { resolveKafkaOptions, type KafkaTransportOptions, type ResolvedKafkaOptions } from './options.ts';

/**
 * A `Transport` on Kafka: like a plug socket that real brokers fit into, where the memory
 * transport is the battery pack. Building it connects nothing; clients connect on `connect()`.
 *
 * @example
 * const transport = new KafkaTransport({ brokers: ['127.0.0.1:9092'], clientId: 'ratings-enrichment' });
 * const producer = transport.producer();
 * await producer.connect();
 * await producer.send([{ topic: 'ratings', key: Buffer.from('r-1'), value: Buffer.from('{}') }]);
 *
 * @throws ConfigError when the options cannot work (no brokers, unknown SASL mechanism, ...).
 */
export class KafkaTransport implements Transport {
  readonly kind = 'kafka';
  private readonly shared: ResolvedKafkaOptions;

  constructor(options: KafkaTransportOptions) {
    this.shared = resolveKafkaOptions(options);
    if (!installConnectionResetFix()) {
      process.emitWarning('kafkajs changed shape: the fix for connections reset mid-response is not installed; a reset may stall or crash a client', {
        code: 'RATING_STREAMS_KAFKAJS_SHAPE',
      });
    }
    const missing = Object.entries(fastPaths())
      .filter(([, installed]) => !installed)
      .map(([name]) => name);
    if (missing.length > 0) {
      process.emitWarning(
        `kafkajs' faster paths are not all installed (${missing.join(', ')}: kafkajs was loaded before the transport, or changed shape): sends and fetches work, with more CPU per record`,
        { code: 'RATING_STREAMS_KAFKAJS_SHAPE' },
      );
    }
    if (!installAbortedFilterFix()) {
      process.emitWarning('kafkajs changed shape: the fix for aborted transactions delivered to read_committed consumers is not installed', {
        code: 'RATING_STREAMS_KAFKAJS_SHAPE',
      });
    }
  }

  /** A new admin client. */
  admin(): KafkaAdmin {
    return new KafkaAdmin(this.shared);
  }

  /** A new producer: idempotent with acks from all replicas unless the options say otherwise. */
  producer(options: ProducerOptions = {}): KafkaProducer {
    return new KafkaProducer(this.shared, options);
  }

  /** A new group consumer reading read_committed unless the options say otherwise. */
  consumer(options: ConsumerOptions): KafkaConsumer {
    return new KafkaConsumer(this.shared, options);
  }
}
