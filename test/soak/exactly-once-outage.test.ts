/**
 * Exactly-once through a 15 s broker outage, on a broker of its own (started for this test on free
 * ports, killed, and started again on the same data): the app's tasks retry with backoff while the
 * broker is gone, continue from their last commits when it is back, never put the app in `failed`,
 * and write each output once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, silentLogger } from '../../src/index.ts';
import type { AppState } from '../../src/runtime/instrumentation.ts';
import { KafkaTransport } from '../../src/transport/kafka/index.ts';
import { startOwnBroker, type OwnBroker } from '../support/own-broker.ts';
import { hasKafka, uniqueName } from '../support/services.ts';
import { consumeCount, createTopics, nextEvent, produce, waitForCommitted } from '../support/streams-harness.ts';

const OUTAGE_MS = 15_000;
const TOTAL = 4_000;

async function committedSum(transport: KafkaTransport, groupId: string, topic: string): Promise<number> {
  const admin = transport.admin();
  await admin.connect();
  try {
    return [...(await admin.committedOffsets(groupId, topic)).values()].reduce((sum, offset) => sum + offset, 0);
  } finally {
    await admin.disconnect();
  }
}

const json = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 7}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

describe.skipIf(!hasKafka)('exactly-once through a broker outage (a broker of its own)', () => {
  let broker: OwnBroker;

  beforeAll(async () => {
    broker = await startOwnBroker();
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  it(`keeps running through a ${OUTAGE_MS / 1000} s outage and writes each output once`, { timeout: 180_000 }, async () => {
    const transport = new KafkaTransport({ brokers: [broker.bootstrap], clientId: 'outage-test', logLevel: 'nothing' });
    const input = uniqueName('outage-in');
    const output = uniqueName('outage-out');
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const stream = builder.stream<string, { id: number }>(input);
    stream.to(output);
    // A slow side effect keeps the app busy (transactions open and committing) when the broker dies.
    stream.forEach(() => new Promise((resolve) => setTimeout(resolve, 5)), { concurrency: 1 });
    const applicationId = uniqueName('outage-app');
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      processingGuarantee: 'exactly-once',
      logger: silentLogger(),
      transactionRetryBackoff: { initialMs: 200, maxMs: 2_000 },
      maxInFlight: 50,
      shutdownTimeoutMs: 10_000,
    });
    const states: AppState[] = [];
    app.onStateChange((state) => states.push(state));
    try {
      await app.start();
      await produce(transport, json(input, 0, TOTAL / 2));
      // Kill the broker in the middle of the work: after the first commits, long before the last.
      await nextEvent((event) => event.type === 'commit' && event.app === applicationId, 60_000, 'a first commit');
      expect(await committedSum(transport, applicationId, input)).toBeLessThan(TOTAL / 4);

      await broker.kill();
      // The outage itself: nothing to wait for but time.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      expect(app.state).toBe('running');
      await broker.restart();

      await produce(transport, json(input, TOTAL / 2, TOTAL / 2));
      await waitForCommitted(transport, applicationId, input, 120_000);
      expect(states).not.toContain('failed');
      expect(app.state).toBe('running');
      const ids = (await consumeCount(transport, output, TOTAL, 60_000)).map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id);
      expect(ids).toHaveLength(TOTAL);
      expect(new Set(ids).size).toBe(TOTAL);
    } finally {
      await app.stop();
    }
  });
});
