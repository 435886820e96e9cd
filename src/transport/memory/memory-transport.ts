import { ConfigError } from '../../errors/streams-error.ts';
import type { ConsumerOptions, ProducerOptions, Transport, TransportAdmin, TransportConsumer, TransportProducer } from '../transport.ts';
import { type MemoryErrorReporter, warnOnError } from './error-reporter.ts';
import { MemoryAdmin } from './memory-admin.ts';
import { MemoryBroker } from './memory-broker.ts';
import { MemoryConsumer } from './memory-consumer.ts';
import { MemoryProducer } from './memory-producer.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../request-split.ts';

export interface MemoryTransportOptions {
  /** The log to use; share one between transports to run several app instances in one process. Default: a fresh broker. */
  readonly broker?: MemoryBroker;
  /** First delay before a batch whose `eachBatch` rejected is delivered again; doubles per failure. Default 100 ms. */
  readonly retryBackoffMs?: number;
  /** Where errors thrown by `eachBatch`, `onAssigned`, `onRevoked` and `onPosition` go. Default: a process warning. */
  readonly onError?: MemoryErrorReporter;
  /**
   * How long a send to a topic that does not exist waits for it to be created before failing with
   * a retriable UNKNOWN_TOPIC_OR_PARTITION error. Default 8000 ms, about what kafkajs' metadata
   * retries take with the kafka transport; tests may shorten it.
   */
  readonly missingTopicWaitMs?: number;
  /**
   * The most one produce request may carry, as the kafka transport's option of the same name: a
   * send is cut into requests below it, and a record that fits in none fails with RECORD_TOO_LARGE.
   * Default 1 MiB - 64 KiB, below the broker's `messageMaxBytes`.
   */
  readonly maxRequestBytes?: number;
}

/**
 * The transport over an in-process `MemoryBroker`: the embedded default and the base of the test
 * driver. Behaves like the kafka transport on the shared conformance suite, minus the network.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly broker: MemoryBroker;
  private readonly retryBackoffMs: number;
  private readonly onError: MemoryErrorReporter;
  private readonly missingTopicWaitMs: number;
  private readonly maxRequestBytes: number;

  constructor(options: MemoryTransportOptions = {}) {
    this.broker = options.broker ?? new MemoryBroker();
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
    this.onError = options.onError ?? warnOnError;
    this.missingTopicWaitMs = options.missingTopicWaitMs ?? 8_000;
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    if (!Number.isInteger(this.maxRequestBytes) || this.maxRequestBytes < 4_096) {
      throw new ConfigError('MemoryTransport option "maxRequestBytes" must be a whole number of bytes, at least 4096');
    }
  }

  admin(): TransportAdmin {
    return new MemoryAdmin(this.broker);
  }

  producer(options: ProducerOptions = {}): TransportProducer {
    return new MemoryProducer(this.broker, options, { missingTopicWaitMs: this.missingTopicWaitMs, maxRequestBytes: this.maxRequestBytes });
  }

  consumer(options: ConsumerOptions): TransportConsumer {
    return new MemoryConsumer(this.broker, options, { retryBackoffMs: this.retryBackoffMs, onError: this.onError });
  }
}
