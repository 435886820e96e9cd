import { describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, KafkaTransport, silentLogger, subscribeRuntimeEvents, type RuntimeEvent } from '../../../src/index.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

describe.skipIf(!hasKafka)('slow processing on a real broker', () => {
  it('keeps the member in its group while processing takes longer than the session timeout', { timeout: 120_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'slow-member', logLevel: 'nothing' });
    const input = uniqueName('slow-in');
    await createTopics(transport, [{ topic: input, partitions: 2 }]);
    const total = 160;
    await produce(transport, Array.from({ length: total }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify(i)) })));

    let processed = 0;
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>(input).forEach(async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      processed += 1;
    });
    const applicationId = uniqueName('slow-app');
    const events: RuntimeEvent[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.app === applicationId && (event.type === 'rebalance' || event.type === 'in-flight')) events.push(event);
    });
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      logger: silentLogger(),
      maxInFlight: 4,
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
    });
    const started = Date.now();
    try {
      await app.start();
      await waitForCommitted(transport, applicationId, input, 90_000);
      // 160 records at 60 ms, two partitions at a time: well over the 6 s session timeout.
      expect(Date.now() - started).toBeGreaterThan(6_000);
      expect(processed).toBe(total);
      expect(events.filter((e) => e.type === 'rebalance' && e.change === 'revoked')).toEqual([]);
      expect(events.some((e) => e.type === 'in-flight' && e.paused)).toBe(true);
    } finally {
      unsubscribe();
      await app.stop();
    }
  });
});
