/**
 * Review 2: at-least-once, the old owner's writes after the new owner's, when the old owner is cut
 * off by a network stall (its produce requests held in the network, not a crash).
 *
 * README "Rebalances": "Revoked partitions flush their outputs (every send acknowledged), commit what
 * is done and stop; anything a closed task still emits is dropped, so the old owner's writes never
 * land after the new owner's".
 * Expected: in every output partition, no record the old owner processed BEFORE the new owner wrote
 * anything lands AFTER a record of the new owner.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../src/index.ts';
import type { IncomingRecord } from '../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../support/services.ts';
import { createTopics, produce } from '../support/streams-harness.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function brokerTarget(): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
  return { host, port: Number(port) };
}

interface Out {
  id: number;
  by: string;
  at: number;
}

describe.skipIf(!hasKafka)('review2: at-least-once zombie writes', () => {
  let proxy: TcpProxy;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    proxy.resume();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await proxy.close();
  });

  it('an instance stalled past its session timeout: none of its earlier writes lands after the new owner\'s', { timeout: 120_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const input = uniqueName('r2-z-in');
    const output = uniqueName('r2-z-out');
    await createTopics(direct, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const applicationId = uniqueName('r2-z-app');
    const make = (by: string, transport: KafkaTransport) => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder
        .stream<string, { id: number }>(input)
        .mapValues((v) => ({ ...v, by, at: Date.now() }))
        .to(output);
      return new StreamsApp(builder.build(), {
        applicationId,
        transport,
        logger: silentLogger(),
        commitIntervalMs: 200,
        maxInFlight: 100,
        shutdownTimeoutMs: 3_000,
        consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
      });
    };
    const a = make('a', new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-a', logLevel: 'nothing', routeBroker: () => proxy.address }));
    cleanups.push(() => a.stop());
    await a.start();
    let next = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        await produce(direct, Array.from({ length: 10 }, (_, i) => ({ topic: input, key: Buffer.from(`k${(next + i) % 5}`), value: Buffer.from(JSON.stringify({ id: next + i })) })));
        next += 10;
        await sleep(10);
      }
    })();
    cleanups.push(async () => {
      feeding = false;
      await feeder;
    });
    await sleep(3_000);
    // A slow network first (so produce requests are always on their way), then `a` is cut off with
    // requests (produce among them) held in the network.
    proxy.delay(400);
    await sleep(1_500);
    proxy.pause();
    const b = make('b', direct);
    cleanups.push(() => b.stop());
    await b.start();
    await sleep(12_000);
    proxy.delay(0);
    proxy.resume();
    await sleep(8_000);
    feeding = false;
    await feeder;
    await sleep(3_000);

    const reader = direct.consumer({ groupId: uniqueName('r2-z-reader') });
    await reader.connect();
    await reader.subscribe({ topics: [output], fromBeginning: true });
    const byPartition = new Map<number, Out[]>();
    await reader.run({
      eachBatch: async (batch) => {
        const list = byPartition.get(batch.partition) ?? [];
        for (const r of batch.records as readonly IncomingRecord[]) list.push(JSON.parse(r.value?.toString() ?? '{}') as Out);
        byPartition.set(batch.partition, list);
      },
    });
    await sleep(5_000);
    await reader.disconnect();
    const late: string[] = [];
    for (const [partition, list] of byPartition) {
      const firstB = list.findIndex((o) => o.by === 'b');
      if (firstB < 0) continue;
      const bStart = (list[firstB] as Out).at;
      for (const o of list.slice(firstB + 1)) if (o.by === 'a' && o.at < bStart) late.push(`p${partition}: id ${o.id} processed by a at ${o.at} < b's first write at ${bStart}`);
    }
    expect({ sawB: [...byPartition.values()].some((l) => l.some((o) => o.by === 'b')), lateWrites: late.length, first: late.slice(0, 3) }).toEqual({ sawB: true, lateWrites: 0, first: [] });
  });
});
