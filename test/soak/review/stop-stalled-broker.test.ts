/**
 * Hostile review (real broker through the fault-injecting proxy): stop() while the network stalls.
 * Run: KAFKA_BROKERS=127.0.0.1:9092 npx vitest run --project integration test/review/stop-stalled-broker.kafka.test.ts
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

function brokerTarget(): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
  return { host, port: Number(port) };
}

describe.skipIf(!hasKafka)('review: graceful shutdown against a stalled broker', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    proxy.resume();
    await proxy.close();
  });

  // README "Graceful shutdown": "in-flight records get up to shutdownTimeoutMs (30 s) to finish ...
  // Every step is bounded, so an unreachable broker cannot make it hang."
  it('stop() returns within shutdownTimeoutMs (plus a few 1 s step bounds) while the network is stalled', async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review-direct', logLevel: 'nothing' });
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review-stall', logLevel: 'nothing', routeBroker: () => proxy.address });
    const input = uniqueName('stall-in');
    const output = uniqueName('stall-out');
    const applicationId = uniqueName('stall-app');
    await createTopics(direct, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const records = (from: number) => Array.from({ length: 50 }, (_, i) => ({ topic: input, key: Buffer.from(`k${from + i}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));
    await produce(direct, records(0));
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).mapValues((v) => ({ ...v, ok: true })).to(output);
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 200, shutdownTimeoutMs: 3_000 });
    await app.start();
    await waitForCommitted(direct, applicationId, input, 30_000);
    await produce(direct, records(50));
    await new Promise((r) => setTimeout(r, 50));
    proxy.pause();
    const started = Date.now();
    await Promise.race([app.stop(), new Promise((r) => setTimeout(r, 30_000))]);
    const took = Date.now() - started;
    proxy.resume();
    expect(took).toBeLessThan(10_000);
  }, 90_000);
});
