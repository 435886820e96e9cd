/**
 * Review 2: an exactly-once zombie made by a network stall (not SIGSTOP): instance `a` talks to the
 * broker through test/support/tcp-proxy.ts, which holds every byte past a's session timeout while
 * `b` takes a's partitions over; then the held requests (produce, AddOffsetsToTxn, EndTxn of a's
 * open transactions) are let through at once.
 *
 * README "Exactly-once": "A task starts only after that producer was initialised, which fences the
 * partition's previous owner (say an instance paused past its session timeout, or a long GC) and
 * settles its open transaction".
 * Expected: 0 missing, 0 duplicates in the read_committed output; both apps end `running`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../src/index.ts';
import type { IncomingRecord } from '../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../support/services.ts';
import { createTopics, produce } from '../support/streams-harness.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasKafka)('review2: exactly-once zombie by network stall', () => {
  let proxy: TcpProxy;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
    proxy = await TcpProxy.start({ host, port: Number(port) });
  });
  afterEach(async () => {
    proxy.resume();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await proxy.close();
  });

  it('a stalled past its session timeout, b takes over, a\'s held requests arrive: each id once', { timeout: 150_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const input = uniqueName('r2-nz-in');
    const output = uniqueName('r2-nz-out');
    await createTopics(direct, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const applicationId = uniqueName('r2-nz-app');
    const make = (by: string, transport: KafkaTransport) => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder.stream<string, { id: number }>(input).mapValues((v) => ({ ...v, by })).to(output);
      return new StreamsApp(builder.build(), {
        applicationId,
        transport,
        processingGuarantee: 'exactly-once',
        logger: silentLogger(),
        commitIntervalMs: 100,
        maxInFlight: 200,
        shutdownTimeoutMs: 5_000,
        consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 },
        transactionRetryBackoff: { initialMs: 100, maxMs: 1_000 },
      });
    };
    const a = make('a', new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-nz-a', logLevel: 'nothing', routeBroker: () => proxy.address }));
    const b = make('b', new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-nz-b', logLevel: 'nothing' }));
    cleanups.push(() => a.stop());
    cleanups.push(() => b.stop());
    await a.start();
    let next = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        await produce(direct, Array.from({ length: 10 }, (_, i) => ({ topic: input, key: Buffer.from(`k${(next + i) % 13}`), value: Buffer.from(JSON.stringify({ id: next + i })) })));
        next += 10;
        await sleep(15);
      }
    })();
    cleanups.push(async () => {
      feeding = false;
      await feeder;
    });
    await sleep(2_000);
    await b.start();
    await sleep(4_000);
    // Slow first, so a has requests on their way (sends, EndTxn) when the stall begins.
    proxy.delay(200);
    await sleep(1_000);
    proxy.pause();
    await sleep(14_000);
    proxy.delay(0);
    proxy.resume();
    await sleep(10_000);
    feeding = false;
    await feeder;
    const total = next;
    const counts = new Map<number, number>();
    const reader = direct.consumer({ groupId: uniqueName('r2-nz-reader'), isolationLevel: 'read_committed' });
    await reader.connect();
    cleanups.push(() => reader.disconnect());
    await reader.subscribe({ topics: [output], fromBeginning: true });
    await reader.run({
      eachBatch: async (batch) => {
        for (const r of batch.records as readonly IncomingRecord[]) {
          const id = (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      },
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && counts.size < total) await sleep(250);
    await sleep(3_000);
    expect({
      missing: total - counts.size,
      duplicates: [...counts].filter(([, n]) => n > 1).slice(0, 5),
      a: a.state,
      b: b.state,
    }).toEqual({ missing: 0, duplicates: [], a: 'running', b: 'running' });
  });
});
