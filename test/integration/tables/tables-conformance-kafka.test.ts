import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { defineTableConformance } from '../../conformance/table-scenarios.ts';
import { hasKafka, kafkaBrokers } from '../../support/services.ts';

describe.skipIf(!hasKafka)('on a real Kafka broker', () => {
  defineTableConformance('kafka', () => ({ transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'tables-conformance' }), profiles: 100_000 }));
});
