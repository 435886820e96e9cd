import { describe } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { defineSeekConformance } from '../../conformance/seek-scenarios.ts';
import { hasKafka, kafkaBrokers } from '../../support/services.ts';

describe.skipIf(!hasKafka)('kafka transport', () => {
  defineSeekConformance('kafka', () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'seek-test', logLevel: 'nothing' }));
});
