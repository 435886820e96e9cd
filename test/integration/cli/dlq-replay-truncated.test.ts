/**
 * `dlq replay` never re-drives a dead letter whose value was cut to fit the dead-letter topic
 * (`dlq.payload.truncated`): its original bytes are gone, and replaying the cut bytes would feed the
 * pipeline a record nobody sent. It replays the whole ones and says how many it skipped.
 */
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { pipelineTopicNames, runCli } from '../../support/cli.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';

describe.skipIf(!hasKafka)('rating-streams dlq replay of truncated dead letters', () => {
  it('skips a truncated dead letter, replays the whole one, and says so', { timeout: 60_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'cli-dlq-truncated', logLevel: 'nothing' });
    const topics = pipelineTopicNames(uniqueName('cli-dlq-cut'));
    const target = `${topics.RATINGS_TOPIC}-fixed`;
    await createTopics(transport, [{ topic: topics.RATINGS_DLQ_TOPIC, partitions: 1 }, { topic: target, partitions: 1 }]);
    const letter = (key: string, truncated: boolean) => ({
      topic: topics.RATINGS_DLQ_TOPIC,
      key: Buffer.from(key),
      value: Buffer.from(`{"id":"${key}"`),
      headers: {
        [DLQ_HEADERS.errorStage]: Buffer.from('processing'),
        [DLQ_HEADERS.errorCode]: Buffer.from('PROCESSING_FAILED'),
        [DLQ_HEADERS.errorMessage]: Buffer.from('boom'),
        [DLQ_HEADERS.sourceTopic]: Buffer.from(topics.RATINGS_TOPIC),
        [DLQ_HEADERS.sourcePartition]: Buffer.from('0'),
        [DLQ_HEADERS.sourceOffset]: Buffer.from('0'),
        ...(truncated ? { [DLQ_HEADERS.payloadTruncated]: Buffer.from('true') } : {}),
      },
    });
    await produce(transport, [letter('whole', false), letter('cut', true)]);

    const replay = await runCli(['dlq', 'replay', '--to', target], { env: { KAFKA_BROKERS: kafkaBrokers().join(','), ...topics } });
    expect(replay.code).toBe(0);
    expect(replay.stderr).toContain('skipped 1 truncated dead letters');
    const replayed = await consumeUntil(transport, target, (records) => records.length >= 1, { timeoutMs: 20_000 });
    // Read on briefly: the cut one must not follow.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const again = await consumeUntil(transport, target, (records) => records.length >= replayed.length, { timeoutMs: 5_000 });
    expect(again.map((record) => record.key?.toString())).toEqual(['whole']);
  });
});
