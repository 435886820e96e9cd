/**
 * Hostile review (real broker): a bad record whose bulk is in its headers.
 * Run: KAFKA_BROKERS=127.0.0.1:9092 npx vitest run --project integration test/review/oversized-headers.kafka.test.ts
 */
import { describe, expect, it } from 'vitest';
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { testKafka } from '../../support/kafka-client.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, waitForCommitted } from '../../support/streams-harness.ts';

describe.skipIf(!hasKafka)('review: oversized dead letters', () => {
  // README "Bad records never stop the pipeline": "A record too large to dead-letter whole goes out
  // truncated (see below)" and "Dead-letter records": "the value (and a key over 1 KiB) is cut, or
  // dropped if the cut record is still refused".
  // The input record (985,000 bytes of headers, an undecodable 1-byte value) is accepted by the
  // broker (limit 1,048,588). Its dead letter copies the original headers; truncation cuts only key
  // and value, so the "last resort" record is still above maxRequestBytes, and the app stops
  // ('failed'). On every restart it re-reads the same record and stops again: a poison pill.
  it('a bad record with large headers is dead-lettered (cut) and the app keeps running', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review-headers', logLevel: 'nothing' });
    const input = uniqueName('hdr-in');
    const output = uniqueName('hdr-out');
    const applicationId = uniqueName('hdr-app');
    await createTopics(transport, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [
        { key: 'good-0', value: '{"id":0}' },
        { key: 'bad', value: '{', headers: { trace: Buffer.alloc(985_000, 'x') } },
        { key: 'good-2', value: '{"id":2}' },
      ],
    });
    await producer.disconnect();
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).to(output);
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 200, shutdownTimeoutMs: 5_000 });
    await app.start();
    try {
      await waitForCommitted(transport, applicationId, input, 20_000).catch(() => undefined);
      expect({ state: app.state, error: app.error?.message }).toEqual({ state: 'running', error: undefined });
    } finally {
      await app.stop();
    }
  }, 60_000);
});
