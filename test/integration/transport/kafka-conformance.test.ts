/** The shared transport conformance scenarios, run against the real broker through kafkajs. */
import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { defineTransportConformance } from '../../conformance/transport-scenarios.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';

describe.skipIf(!hasKafka)('kafka transport', () => {
  defineTransportConformance('kafka', () => ({
    transport: new KafkaTransport({
      brokers: kafkaBrokers(),
      clientId: uniqueName('conformance'),
      // Failures surface as test errors; kafkajs' own retry chatter would only bury them.
      logLevel: process.env['KAFKA_TEST_LOG'] ? 'info' : 'error',
    }),
    // The broker's group.min.session.timeout.ms (Kafka's default); a shorter session is refused at join.
    minSessionTimeoutMs: 6_000,
  }));
});
