/**
 * What a task takes in: never an offset twice (a consumer may deliver a batch again, as kafkajs does
 * after a heartbeat fails with a connection error), and in-flight slots stay taken until the records
 * holding them are really gone, even across a rebalance.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport, StreamsApp, StreamsBuilder, silentLogger, type Transport } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const json = (topic: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(`k${(from + i) % 53}`), value: Buffer.from(JSON.stringify({ id: from + i })) }));

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A memory transport whose consumer hands every batch to the app twice, the second time after the first settled. */
function redeliveringTransport(memory: MemoryTransport): Transport {
  return {
    kind: 'memory-redelivering',
    admin: () => memory.admin(),
    producer: (options) => memory.producer(options),
    consumer: (options) => {
      const real = memory.consumer(options);
      return Object.assign(Object.create(real) as typeof real, {
        run: (run: Parameters<typeof real.run>[0]) =>
          real.run({
            ...run,
            eachBatch: async (batch, context) => {
              await run.eachBatch(batch, context);
              await run.eachBatch(batch, context);
            },
          }),
      });
    },
  };
}

describe('task intake', () => {
  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${guarantee}: a batch delivered again is not processed again`, async () => {
      const memory = new MemoryTransport();
      const transport = redeliveringTransport(memory);
      const input = uniqueName('in');
      const output = uniqueName('out');
      await createTopics(memory, [
        { topic: input, partitions: 2 },
        { topic: output, partitions: 2 },
      ]);
      await produce(memory, json(input, 0, 200));
      let processed = 0;
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder
        .stream<string, { id: number }>(input)
        .peek(() => void (processed += 1))
        .to(output);
      const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), processingGuarantee: guarantee, commitIntervalMs: 20 });
      await app.start();
      try {
        await waitForCommitted(memory, app.applicationId, input);
        const out = await consumeCount(memory, output, 200);
        expect(processed).toBe(200);
        // Everything in the output, as a read_committed reader sees it (transaction markers take offsets too).
        expect(memory.broker.read(output, 0, 0).length + memory.broker.read(output, 1, 0).length).toBe(200);
        expect(new Set(out.map((r) => r.value?.toString())).size).toBe(200);
      } finally {
        await app.stop();
      }
    });
  }

  it('keeps in-flight slots of a revoked task taken until its records are done', { timeout: 30_000 }, async () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker });
    const input = uniqueName('in');
    await createTopics(transport, [{ topic: input, partitions: 4 }]);
    // A few records on every partition, so the hung ones are spread over partitions that move.
    const spread = (from: number, perPartition: number) =>
      Array.from({ length: 4 * perPartition }, (_, i) => ({ topic: input, partition: i % 4, key: null, value: Buffer.from(JSON.stringify({ id: from + i })) }));
    await produce(transport, spread(0, 3));
    const applicationId = uniqueName('app');
    const maxInFlight = 10;
    // The first instance's sink hangs until released; its records stay alive through the rebalance.
    const hanging: Array<() => void> = [];
    let hang = true;
    let aliveInFirst = 0;
    let mostAliveInFirst = 0;
    const first = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    first.stream<string, { id: number }>(input).forEach(
      () =>
        new Promise<void>((resolve) => {
          if (!hang) return resolve();
          aliveInFirst += 1;
          mostAliveInFirst = Math.max(mostAliveInFirst, aliveInFirst);
          hanging.push(() => {
            aliveInFirst -= 1;
            resolve();
          });
        }),
      { concurrency: 100 },
    );
    const a = new StreamsApp(first.build(), { applicationId, transport, logger: silentLogger(), maxInFlight, commitIntervalMs: 20, shutdownTimeoutMs: 200 });
    const second = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    let doneBySecond = 0;
    second.stream<string, { id: number }>(input).forEach(async () => void (doneBySecond += 1));
    const b = new StreamsApp(second.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 20 });
    try {
      await a.start();
      await until(() => aliveInFirst === maxInFlight, 'the first instance to fill its in-flight bound');
      await b.start();
      // The rebalance revokes the first instance's partitions and gives some back; give it time to take more.
      await until(() => doneBySecond > 0, 'the second instance to get partitions');
      await produce(transport, spread(12, 40));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(mostAliveInFirst).toBeLessThanOrEqual(maxInFlight);
      expect(a.inFlight).toBeLessThanOrEqual(maxInFlight);
      // Once the hung records finish, their slots come back and both instances get through the rest.
      hang = false;
      for (const release of hanging.splice(0)) release();
      await waitForCommitted(transport, applicationId, input, 20_000);
      expect(a.inFlight).toBe(0);
    } finally {
      hang = false;
      for (const release of hanging.splice(0)) release();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
