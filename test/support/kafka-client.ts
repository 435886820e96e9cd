/**
 * Thin helpers over kafkajs for infrastructure tests: clients with quiet logs and consumers that
 * stop when a condition holds rather than after a sleep.
 */
import { Kafka, logLevel, type Consumer, type ConsumerConfig, type KafkaMessage } from 'kafkajs';
import { kafkaBrokers, uniqueName } from './services.ts';

export function testKafka(clientId = uniqueName('client')): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: process.env["KAFKA_TEST_LOG"] ? logLevel.INFO : logLevel.NOTHING });
}

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? null,
    value: message.value?.toString('utf8') ?? null,
  };
}

/**
 * Reads `topic` from the beginning with a fresh group until `done(seen)` holds, or fails after
 * `timeoutMs` naming how many messages arrived.
 */
export async function consumeUntil(
  kafka: Kafka,
  topic: string,
  done: (seen: readonly ConsumedMessage[]) => boolean,
  options: { timeoutMs?: number; consumer?: Partial<ConsumerConfig> } = {},
): Promise<ConsumedMessage[]> {
  const seen: ConsumedMessage[] = [];
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('group'), ...options.consumer });
  const timeoutMs = options.timeoutMs ?? 60_000;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consumed ${seen.length} messages from ${topic} in ${timeoutMs} ms without reaching the expected state`)),
        timeoutMs,
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) seen.push(toConsumed(batch.topic, batch.partition, message));
            if (done(seen)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}
