import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { definePipeRuntimeScenarios } from '../../conformance/pipe-runtime-scenarios.ts';
import { hasKafka, kafkaBrokers } from '../../support/services.ts';

describe.skipIf(!hasKafka)('on a real Kafka broker', () => {
  definePipeRuntimeScenarios('kafka', () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'pipe-runtime', logLevel: 'nothing' }));
});
