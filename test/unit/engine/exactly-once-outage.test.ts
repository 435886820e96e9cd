/**
 * Exactly-once through an outage of the log: while the broker refuses producers, transactions and
 * offset reads, the failed tasks retry with backoff for as long as the app runs; when it is back,
 * they continue from their last commit. The app never goes to `failed`, and each output is written
 * once. (The same on a real broker: `test/soak/exactly-once-outage.test.ts`.)
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  MemoryTransport,
  StreamsApp,
  StreamsBuilder,
  TransportError,
  silentLogger,
  type Transport,
  type TransportAdmin,
  type TransportProducer,
  type TransportTransaction,
} from '../../../src/index.ts';
import type { AppState } from '../../../src/runtime/instrumentation.ts';
import { uniqueName } from '../../support/names.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

/** A memory transport whose producers, transactions and committed-offset reads fail while `down`. */
function flaky(memory: MemoryTransport, outage: { down: boolean; refused: number }): Transport {
  const refuse = async () => {
    if (!outage.down) return;
    outage.refused += 1;
    throw new TransportError('broker unavailable', { retriable: true });
  };
  const wrapTransaction = (transaction: TransportTransaction): TransportTransaction => ({
    send: async (records) => (await refuse(), transaction.send(records)),
    sendOffsets: async (options) => (await refuse(), transaction.sendOffsets(options)),
    commit: async () => (await refuse(), transaction.commit()),
    abort: () => transaction.abort(),
  });
  return {
    kind: 'memory-flaky',
    consumer: (options) => memory.consumer(options),
    admin: (): TransportAdmin => {
      const admin = memory.admin();
      return Object.assign(Object.create(admin) as TransportAdmin, {
        committedOffsets: async (groupId: string, topic: string) => (await refuse(), admin.committedOffsets(groupId, topic)),
      });
    },
    producer: (options): TransportProducer => {
      const producer = memory.producer(options);
      return {
        connect: async () => (await refuse(), producer.connect()),
        disconnect: () => producer.disconnect(),
        send: async (records) => (await refuse(), producer.send(records)),
        transaction: async () => (await refuse(), wrapTransaction(await producer.transaction())),
      };
    },
  };
}

const json = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 7}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

describe('exactly-once through an outage of the log', () => {
  it('retries failed tasks with backoff while the broker is away, never fails, and writes each output once', { timeout: 30_000 }, async () => {
    const memory = new MemoryTransport();
    const outage = { down: false, refused: 0 };
    const transport = flaky(memory, outage);
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(memory, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).to(output);
    const applicationId = uniqueName('app');
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      processingGuarantee: 'exactly-once',
      logger: silentLogger(),
      commitIntervalMs: 20,
      transactionRetryBackoff: { initialMs: 10, maxMs: 100 },
    });
    const states: AppState[] = [];
    app.onStateChange((state) => states.push(state));
    onTestFinished(() => app.stop());
    await app.start();
    await produce(memory, json(input, 0, 100));
    await waitForCommitted(memory, applicationId, input);

    outage.down = true;
    await produce(memory, json(input, 100, 100));
    // Many refused attempts: the tasks kept retrying (more than any fixed small retry budget).
    const deadline = Date.now() + 10_000;
    while (outage.refused < 30 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(outage.refused).toBeGreaterThanOrEqual(30);
    expect(app.state).toBe('running');
    outage.down = false;

    await waitForCommitted(memory, applicationId, input, 20_000);
    expect(states).not.toContain('failed');
    expect(app.state).toBe('running');
    const ids = (await consumeCount(memory, output, 200)).map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
  });

  it('stop() while tasks retry during an outage ends stopped, and nothing retries afterwards', { timeout: 30_000 }, async () => {
    const memory = new MemoryTransport();
    const outage = { down: false, refused: 0 };
    const transport = flaky(memory, outage);
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(memory, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).to(output);
    const applicationId = uniqueName('app');
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      processingGuarantee: 'exactly-once',
      logger: silentLogger(),
      commitIntervalMs: 20,
      transactionRetryBackoff: { initialMs: 5, maxMs: 20 },
      shutdownTimeoutMs: 2_000,
    });
    onTestFinished(() => app.stop());
    await app.start();
    await produce(memory, json(input, 0, 50));
    await waitForCommitted(memory, applicationId, input);
    outage.down = true;
    await produce(memory, json(input, 50, 50));
    const deadline = Date.now() + 10_000;
    while (outage.refused < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(outage.refused).toBeGreaterThanOrEqual(10);

    await app.stop();
    expect(app.state).toBe('stopped');
    const afterStop = outage.refused;
    // Proving that nothing happens needs time to pass: 20 times the longest backoff.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(outage.refused).toBe(afterStop);
    // The group is free: a new instance gets both partitions and finishes the work, each output once.
    outage.down = false;
    const next = new StreamsApp(builder.build(), { applicationId, transport, processingGuarantee: 'exactly-once', logger: silentLogger(), commitIntervalMs: 20 });
    onTestFinished(() => next.stop());
    await next.start();
    await waitForCommitted(memory, applicationId, input, 20_000);
    const ids = (await consumeCount(memory, output, 100)).map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id);
    expect(new Set(ids).size).toBe(100);
    expect(ids).toHaveLength(100);
  });
});
