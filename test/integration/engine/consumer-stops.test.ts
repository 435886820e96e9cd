/**
 * A consumer that kafkajs cannot keep in the group (here: a session timeout below the broker's
 * group.min.session.timeout.ms, 6 s by default) must not leave the app "running" while it consumes
 * nothing: the app fails, with the broker's reason, so a supervisor restarts or an operator fixes it.
 */
import { describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics } from '../../support/streams-harness.ts';

describe.skipIf(!hasKafka)('a consumer that stops for good', () => {
  it('puts the app in state failed with the broker reason, instead of running on consuming nothing', { timeout: 60_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'consumer-stops', logLevel: 'nothing' });
    const input = uniqueName('stops-in');
    await createTopics(transport, [{ topic: input }]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream(input).forEach(async () => {});
    const app = new StreamsApp(builder.build(), {
      applicationId: uniqueName('stops-app'),
      transport,
      logger: silentLogger(),
      consumer: { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 500 },
    });
    const failed = new Promise<void>((resolve) => app.onStateChange((state) => state === 'failed' && resolve()));
    try {
      await app.start().catch(() => undefined);
      await failed;
      expect(app.state).toBe('failed');
      expect(app.error?.message).toMatch(/session timeout/i);
    } finally {
      await app.stop();
    }
  });
});
