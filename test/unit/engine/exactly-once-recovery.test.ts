import { describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger, subscribeRuntimeEvents, type RuntimeEvent } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const batch = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 7}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

describe('exactly-once after a failed transaction', () => {
  it('drops the uncommitted work, re-reads from the last commit, and still writes each output once', async () => {
    const transport = new MemoryTransport();
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, { id: number }>(input).to(output);
    const applicationId = uniqueName('app');
    const errors: RuntimeEvent[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.app === applicationId && event.type === 'error') errors.push(event);
    });
    const app = new StreamsApp(builder.build(), {
      applicationId,
      transport,
      instanceId: 'only',
      processingGuarantee: 'exactly-once',
      logger: silentLogger(),
      commitIntervalMs: 20,
    });
    try {
      await app.start();
      await produce(transport, batch(input, 0, 100));
      await waitForCommitted(transport, applicationId, input);

      // A second producer with the app's transactional id fences the app's producer, so its next
      // transaction fails, as after a network partition or a zombie instance.
      // Each task has its own transactional id `<applicationId>-<topic>-<partition>`.
      const intruder = transport.producer({ transactionalId: `${applicationId}-${input}-0` });
      await intruder.connect();
      await (await intruder.transaction()).abort();

      await produce(transport, batch(input, 100, 100));
      await waitForCommitted(transport, applicationId, input, 30_000);
      await intruder.disconnect();

      expect(errors.map((e) => (e.type === 'error' ? (e.error as { code?: string }).code : undefined))).toContain('TRANSACTION_FAILED');
      expect(app.state).toBe('running');
      const ids = (await consumeCount(transport, output, 200)).map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id);
      expect(ids).toHaveLength(200);
      expect(new Set(ids).size).toBe(200);
    } finally {
      unsubscribe();
      await app.stop();
    }
  });
});
