import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { definePipeProperties } from '../../conformance/pipe-properties.ts';
import { hasKafka, kafkaBrokers } from '../../support/services.ts';

describe.skipIf(!hasKafka)('pipe() properties on a real Kafka broker', () => {
  // Each run joins a group and creates topics on the broker: a few runs, the breadth is in the memory suite.
  definePipeProperties('kafka', () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'pipe-properties', logLevel: 'nothing' }), {
    numRuns: 12,
    timeoutMs: 300_000,
  });
});
