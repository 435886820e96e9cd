/**
 * `TransportConsumer.seek`, the same on every transport: the exactly-once runtime re-reads a task
 * from its committed offset with it, so a seek must never be overtaken by a batch fetched before it.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { BatchContext, IncomingRecord, Transport } from '../../src/transport/transport.ts';
import { uniqueName } from '../support/names.ts';

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function defineSeekConformance(label: string, setup: () => Transport): void {
  describe(`consumer seek: ${label}`, () => {
    it('delivers from the sought offset next, and a batch running during the seek stops running', { timeout: 60_000 }, async () => {
      const transport = setup();
      const topic = uniqueName('seek');
      const admin = transport.admin();
      await admin.connect();
      onTestFinished(() => admin.disconnect());
      await admin.createTopics([{ topic, partitions: 1 }]);
      const producer = transport.producer();
      await producer.connect();
      onTestFinished(() => producer.disconnect());
      await producer.send(Array.from({ length: 10 }, (_, i) => ({ topic, partition: 0, key: null, value: Buffer.from(String(i)) })));

      const consumer = transport.consumer({ groupId: uniqueName('seek-group'), sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 });
      await consumer.connect();
      onTestFinished(() => consumer.disconnect());
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const firsts: number[] = [];
      const delivered: IncomingRecord[] = [];
      let runningAfterSeek: boolean | undefined;
      await consumer.run({
        eachBatch: async (batch, context: BatchContext) => {
          firsts.push(batch.records[0]?.offset ?? -1);
          delivered.push(...batch.records);
          if (firsts.length === 1) {
            consumer.seek({ topic, partition: 0 }, 3);
            runningAfterSeek = context.isRunning();
          }
        },
      });
      await waitFor(() => firsts.length >= 2, 30_000, () => `a second batch (firsts: ${firsts.join(',')})`);
      expect(firsts[0]).toBe(0);
      expect(runningAfterSeek).toBe(false);
      expect(firsts[1]).toBe(3);
      expect(delivered.slice(-1)[0]?.offset).toBe(9);
    });
  });
}
