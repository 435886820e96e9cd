/**
 * At-least-once on a real broker: when a partition moves to another instance, the outputs its old
 * owner produced but had not sent yet must not land after the new owner's outputs (a key would end
 * `v1,v2,v3,v1,v2`). The old owner sends and commits them before it gives the partition up.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';

const PARTITIONS = 2;
const PER_KEY = 40;

interface Out {
  readonly seq: number;
  readonly by: string;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(!hasKafka)('at-least-once revocation on a real broker', () => {
  it('outputs not yet sent when a partition moves land before the new owner’s, never after', { timeout: 90_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'revocation-test', logLevel: 'nothing' });
    const input = uniqueName('rev-in');
    const output = uniqueName('rev-out');
    const applicationId = uniqueName('rev-app');
    await createTopics(transport, [
      { topic: input, partitions: PARTITIONS },
      { topic: output, partitions: PARTITIONS },
    ]);
    const records = (from: number, to: number) =>
      Array.from({ length: PARTITIONS }, (_, partition) =>
        Array.from({ length: to - from }, (_, i) => ({ topic: input, partition, key: Buffer.from(`k${partition}`), value: Buffer.from(String(from + i)) })),
      ).flat();
    const app = (instance: string, lingerMs: number) => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder
        .stream<string, number>(input)
        .mapValues((seq): Out => ({ seq, by: instance }))
        .to(output);
      const created = new StreamsApp(builder.build(), {
        applicationId,
        instanceId: instance,
        transport,
        logger: silentLogger(),
        // `a` holds its outputs for a long time, so they are still unsent when `b` joins.
        producerBatch: { lingerMs, maxRecords: 10_000 },
        consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000 },
      });
      onTestFinished(() => created.stop());
      return created;
    };

    const a = app('a', 4_000);
    await a.start();
    await produce(transport, records(0, PER_KEY));
    await waitFor(() => a.inFlight === PER_KEY * PARTITIONS, 30_000, '`a` to hold every record, its outputs unsent');
    const b = app('b', 5);
    await b.start();
    await produce(transport, records(PER_KEY, 2 * PER_KEY));

    const total = 2 * PER_KEY * PARTITIONS;
    const seqs = (rs: readonly IncomingRecord[]) => new Set(rs.map((r) => `${r.key?.toString()}:${(JSON.parse(r.value?.toString() ?? '{}') as Out).seq}`));
    const out = await consumeUntil(transport, output, (rs) => seqs(rs).size >= total, { timeoutMs: 60_000 });
    // Let `a`'s held batch go out if it still could (its linger ends 4 s after it was filled).
    await waitFor(() => a.inFlight === 0, 30_000, '`a` to have nothing in flight');
    const admin = transport.admin();
    await admin.connect();
    const written = [...(await admin.endOffsets(output)).values()].reduce((sum, end) => sum + end, 0);
    await admin.disconnect();
    const everything = await consumeUntil(transport, output, (rs) => rs.length >= Math.max(written, out.length), { timeoutMs: 30_000 });

    const byKey = new Map<string, Out[]>();
    for (const record of everything) {
      const key = record.key?.toString() ?? '';
      byKey.set(key, [...(byKey.get(key) ?? []), JSON.parse(record.value?.toString() ?? '{}') as Out]);
    }
    // `b` really took a partition over (else nothing below was tested).
    expect([...byKey.values()].some((outs) => outs.some((o) => o.by === 'b'))).toBe(true);
    for (const [key, outs] of byKey) {
      const firstOfB = outs.findIndex((o) => o.by === 'b');
      const aAfterB = firstOfB < 0 ? [] : outs.slice(firstOfB).filter((o) => o.by === 'a');
      expect(aAfterB, `${key}: writes of the old owner after the new owner's`).toEqual([]);
      const decreases = outs.filter((o, i) => i > 0 && o.seq < (outs[i - 1] as Out).seq);
      expect(decreases, `${key}: sequence goes back`).toEqual([]);
    }
  });
});
