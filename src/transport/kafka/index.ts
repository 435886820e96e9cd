export { KafkaTransport } from './kafka-transport.ts';
export { KafkaAdmin } from './kafka-admin.ts';
export { KafkaConsumer } from './kafka-consumer.ts';
export { KafkaProducer } from './kafka-producer.ts';
export type { KafkaLogLevelName, KafkaRequestEvent, KafkaSaslOptions, KafkaTransportOptions } from './options.ts';
