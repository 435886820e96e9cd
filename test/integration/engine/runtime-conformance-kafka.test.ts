import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { defineRuntimeConformance } from '../../conformance/runtime-scenarios.ts';
import { hasKafka, kafkaBrokers } from '../../support/services.ts';

describe.skipIf(!hasKafka)('on a real Kafka broker', () => {
  defineRuntimeConformance('kafka', () => ({ transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'runtime-conformance' }) }));
});
