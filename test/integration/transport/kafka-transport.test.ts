/**
 * Kafka-specific behaviour of the kafkajs transport on the real broker: what the shared conformance
 * suite cannot see (request counts, kafkajs header shapes, kafkajs' retry path, error wrapping).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import type { KafkaRequestEvent } from '../../../src/transport/kafka/index.ts';
import type { BatchContext, ConsumedBatch, TransportConsumer } from '../../../src/transport/transport.ts';
import { testKafka } from '../../support/kafka-client.ts';
import { hasKafka, uniqueName } from '../../support/services.ts';
import { createTopic, EventLog, produce, testTransport, text } from './kafka-test-helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function track<T extends { disconnect(): Promise<void> }>(client: T): T {
  cleanups.push(() => client.disconnect());
  return client;
}

describe.skipIf(!hasKafka)('KafkaTransport on the real broker', () => {
  it('wraps kafkajs errors: partitionCount of a missing topic names the topic', async () => {
    const { transport } = testTransport();
    const admin = track(transport.admin());
    await admin.connect();
    const missing = uniqueName('missing');

    const error = await admin.partitionCount(missing).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransportError);
    const transportError = error as TransportError;
    expect(transportError.message).toContain(missing);
    expect(transportError.code).toBe('TRANSPORT_FAILED');
    expect(transportError.context.topic).toBe(missing);
    expect(typeof transportError.retriable).toBe('boolean');
    // The topic was not created behind our back by a metadata request.
    expect(await admin.listTopics()).not.toContain(missing);
  });

  it('creates topics with their configuration, leaves existing ones alone and hides internal topics', async () => {
    const { transport } = testTransport();
    const admin = track(transport.admin());
    await admin.connect();
    const topic = uniqueName('admin');

    await admin.createTopics([{ topic, partitions: 3, config: { 'cleanup.policy': 'compact' } }]);
    await admin.createTopics([{ topic, partitions: 5, config: { 'cleanup.policy': 'delete' } }]);

    expect(await admin.partitionCount(topic)).toBe(3);
    expect((await admin.topicConfig(topic))['cleanup.policy']).toBe('compact');
    const topics = await admin.listTopics();
    expect(topics).toContain(topic);
    expect(topics.filter((name) => name.startsWith('__'))).toEqual([]);

    await admin.deleteTopics([topic, uniqueName('never-existed')]);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  it('writes one send() of many records to several topics and partitions with a single Produce request', async () => {
    const requests: KafkaRequestEvent[] = [];
    const { transport } = testTransport({ onRequest: (event) => requests.push(event) });
    const [first, second] = [await createTopic(transport, 3), await createTopic(transport, 3)];
    const producer = track(transport.producer({ clientId: uniqueName('one-batch') }));
    await producer.connect();
    const records = Array.from({ length: 40 }, (_, i) => ({
      topic: i % 2 === 0 ? first : second,
      key: text(`key-${i}`),
      value: text(`value-${i}`),
    }));

    const before = requests.filter((event) => event.apiName === 'Produce').length;
    await producer.send(records);
    const produceRequests = requests.filter((event) => event.apiName === 'Produce').length - before;

    expect(produceRequests).toBe(1);
    const admin = track(transport.admin());
    await admin.connect();
    const total = async (topic: string) => [...(await admin.endOffsets(topic)).values()].reduce((a, b) => a + b, 0);
    expect((await total(first)) + (await total(second))).toBe(40);
  });

  it('hands headers back as one Buffer each: strings become Buffers and a repeated header keeps its last value', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport);
    // A plain kafkajs producer can write what the transport's own producer never would.
    const raw = testKafka().producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: [{ key: 'k', value: 'v', headers: { repeated: ['first', 'last'], plain: 'text', bytes: Buffer.from([1, 2, 3]) } }],
    });
    await raw.disconnect();

    const batches = new EventLog<ConsumedBatch>();
    const consumer = track(transport.consumer({ groupId: uniqueName('headers') }));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachBatch: async (batch) => batches.push(batch) });
    await batches.waitFor((seen) => seen.length > 0, 'the record with headers');

    const headers = batches.events[0]?.records[0]?.headers ?? {};
    expect(Object.keys(headers).sort()).toEqual(['bytes', 'plain', 'repeated']);
    for (const value of Object.values(headers)) expect(Buffer.isBuffer(value)).toBe(true);
    expect(headers['repeated']?.toString()).toBe('last');
    expect(headers['plain']?.toString()).toBe('text');
    expect([...(headers['bytes'] ?? [])]).toEqual([1, 2, 3]);
  });

  it('delivers a batch again after eachBatch rejected, without crashing the process, even for a TypeError', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport);
    await produce(transport, [0, 1, 2].map((i) => ({ topic, key: text(`k${i}`), value: text(`v${i}`) })));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(async () => void process.off('unhandledRejection', onUnhandled));

    const deliveries = new EventLog<number[]>();
    const groupId = uniqueName('redeliver');
    const consumer = track(transport.consumer({ groupId }));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachBatch: async (batch) => {
        deliveries.push(batch.records.map((record) => record.offset));
        // Kafkajs gives up on TypeErrors unless the transport makes them retriable.
        if (deliveries.events.length === 1) throw new TypeError('handler bug');
        await consumer.commit([{ topic, partition: 0, offset: (batch.records.at(-1)?.offset ?? 0) + 1 }]);
      },
    });

    await deliveries.waitFor((seen) => seen.length >= 2, 'the batch delivered a second time');
    expect(deliveries.events[0]?.[0]).toBe(0);
    expect(deliveries.events[1]?.[0]).toBe(0);
    expect(deliveries.events[1]).toContain(2);
    expect(unhandled).toEqual([]);
    await consumer.disconnect();

    const admin = track(transport.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 3]]));
  });

  it('commits the offsets a transaction sends with its records, and read_committed readers skip aborted records', async () => {
    const { transport } = testTransport();
    const [input, output] = [await createTopic(transport), await createTopic(transport)];
    const groupId = uniqueName('txn-group');
    const producer = track(transport.producer({ transactionalId: uniqueName('txn') }));
    await producer.connect();

    const aborted = await producer.transaction();
    await aborted.send([{ topic: output, key: null, value: text('aborted') }]);
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send([{ topic: output, key: null, value: text('committed') }]);
    await committed.sendOffsets({ groupId, offsets: [{ topic: input, partition: 0, offset: 7 }] });
    await committed.commit();

    const admin = track(transport.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, input)).toEqual(new Map([[0, 7]]));
    const seen = new EventLog<string>();
    const reader = track(transport.consumer({ groupId: uniqueName('reader') }));
    await reader.connect();
    await reader.subscribe({ topics: [output] });
    await reader.run({ eachBatch: async (batch) => batch.records.forEach((record) => seen.push(String(record.value))) });
    await seen.waitFor((values) => values.includes('committed'), 'the committed record');
    expect(seen.events).toEqual(['committed']);
  });

  it('rejects transaction() without a transactionalId with a TransportError', async () => {
    const { transport } = testTransport();
    const producer = track(transport.producer());
    await producer.connect();
    await expect(producer.transaction()).rejects.toMatchObject({ name: 'TransportError', code: 'TRANSACTION_FAILED' });
  });

  it('keeps SASL passwords out of error messages and log lines', async () => {
    const password = `pw-${uniqueName('secret')}`;
    const { transport, logs } = testTransport({
      sasl: { mechanism: 'plain', username: 'streams', password },
      connectionTimeoutMs: 2_000,
    });
    const admin = transport.admin();

    // The test broker has no SASL listener, so authentication cannot succeed.
    const error = await admin.connect().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await admin.disconnect().catch(() => undefined);

    expect(error).toBeInstanceOf(TransportError);
    const everything = JSON.stringify(logs) + String((error as Error).message) + String((error as Error).stack);
    expect(everything).not.toContain(password);
  });
});

describe.skipIf(!hasKafka)('KafkaTransport rebalance callbacks', () => {
  type Event = { member: string; kind: 'assigned' | 'revoked'; partitions: string[] };

  function recorder(events: EventLog<Event>, member: string) {
    const names = (partitions: readonly { partition: number }[]) => partitions.map((tp) => String(tp.partition)).sort();
    return {
      onAssigned: (partitions: readonly { partition: number }[]) => events.push({ member, kind: 'assigned', partitions: names(partitions) }),
      onRevoked: (partitions: readonly { partition: number }[]) => events.push({ member, kind: 'revoked', partitions: names(partitions) }),
    };
  }

  const fast = { heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000 };
  const last = (events: readonly Event[], member: string) => events.filter((event) => event.member === member).at(-1);

  it('revokes everything then assigns the new share when a second member joins, and again when it leaves', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport, 4);
    const groupId = uniqueName('rebalance');
    const events = new EventLog<Event>();
    const start = async (member: string): Promise<TransportConsumer> => {
      const consumer = track(transport.consumer({ groupId, ...fast }));
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachBatch: async () => undefined, ...recorder(events, member) });
      return consumer;
    };

    const a = await start('a');
    await events.waitFor((seen) => last(seen, 'a')?.partitions.length === 4, 'a owning all four partitions');
    expect(a.assignment()).toHaveLength(4);

    const b = await start('b');
    await events.waitFor(
      (seen) => last(seen, 'a')?.kind === 'assigned' && last(seen, 'b')?.kind === 'assigned' && seen.some((e) => e.member === 'a' && e.kind === 'revoked'),
      'both members assigned after a revoked everything',
    );
    const aShare = last(events.events, 'a')?.partitions ?? [];
    const bShare = last(events.events, 'b')?.partitions ?? [];
    expect(events.events.find((e) => e.member === 'a' && e.kind === 'revoked')?.partitions).toEqual(['0', '1', '2', '3']);
    expect([...aShare, ...bShare].sort()).toEqual(['0', '1', '2', '3']);
    expect(aShare).toHaveLength(2);

    const beforeLeave = events.events.length;
    await b.disconnect();
    // b gave its share back while it was still a member.
    expect(events.events.slice(beforeLeave).find((e) => e.member === 'b')).toEqual({ member: 'b', kind: 'revoked', partitions: bShare });
    await events.waitFor((seen) => last(seen, 'a')?.kind === 'assigned' && last(seen, 'a')?.partitions.length === 4 && seen.length > beforeLeave + 2, 'a owning everything again');
    expect(a.assignment()).toHaveLength(4);
  });

  it('lets onRevoked commit before the member rejoins, so the next owner resumes after the committed work', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport, 2);
    await produce(transport, [0, 1].flatMap((partition) => [0, 1, 2].map((i) => ({ topic, partition, key: null, value: text(`${partition}-${i}`) }))));
    const groupId = uniqueName('revoke-commit');
    const done = new Map<number, number>();
    const commitResults = new EventLog<string>();
    const delivered = new EventLog<{ member: string; partition: number; offset: number }>();

    const a = track(transport.consumer({ groupId, ...fast }));
    await a.connect();
    await a.subscribe({ topics: [topic] });
    await a.run({
      eachBatch: async (batch) => {
        for (const record of batch.records) delivered.push({ member: 'a', partition: record.partition, offset: record.offset });
        done.set(batch.partition, (batch.records.at(-1)?.offset ?? 0) + 1);
      },
      onRevoked: async (partitions) => {
        // Models flushing sinks before the commit: without the join gate the group would move to
        // its next generation meanwhile and the commit would fail with ILLEGAL_GENERATION.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const offsets = partitions.flatMap((tp) => (done.has(tp.partition) ? [{ ...tp, offset: done.get(tp.partition) ?? 0 }] : []));
        await a.commit(offsets).then(
          () => commitResults.push('ok'),
          (error: unknown) => commitResults.push(`failed: ${(error as Error).message}`),
        );
      },
    });
    await delivered.waitFor((seen) => seen.length === 6, 'a reading all six records');

    const b = track(transport.consumer({ groupId, ...fast }));
    await b.connect();
    await b.subscribe({ topics: [topic] });
    await b.run({
      eachBatch: async (batch) => batch.records.forEach((record) => delivered.push({ member: 'b', partition: record.partition, offset: record.offset })),
    });
    await commitResults.waitFor((seen) => seen.length > 0, 'the commit made in onRevoked');

    expect(commitResults.events[0]).toBe('ok');
    const admin = track(transport.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 3], [1, 3]]));
    // b owns one partition now and starts after a's committed work: it receives nothing old.
    expect(delivered.events.filter((event) => event.member === 'b')).toEqual([]);
  });

  it('runs onRevoked for everything on disconnect, after the batch being handled settled, with commits still accepted', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport, 2);
    await produce(transport, [{ topic, partition: 0, key: null, value: text('slow') }]);
    const groupId = uniqueName('disconnect');
    const steps = new EventLog<string>();
    let release: () => void = () => undefined;
    const handlerMayReturn = new Promise<void>((resolve) => (release = resolve));

    const consumer = transport.consumer({ groupId, ...fast });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachBatch: async (_batch, context) => {
        steps.push('batch started');
        await handlerMayReturn;
        steps.push(`batch returned, running=${context.isRunning()}`);
      },
      onRevoked: async (partitions) => {
        steps.push(`revoked ${partitions.length}`);
        await consumer.commit([{ topic, partition: 0, offset: 1 }]);
        steps.push('committed');
      },
    });
    await steps.waitFor((seen) => seen.includes('batch started'), 'the slow batch');

    const disconnected = consumer.disconnect();
    expect(consumer.disconnect()).toBe(disconnected);
    release();
    await disconnected;

    expect(steps.events).toEqual(['batch started', 'batch returned, running=false', 'revoked 2', 'committed']);
    const admin = track(transport.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 1]]));
  });

  it('turns isRunning() false for a long batch when another member joins, and redelivers what it did not finish', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport, 1);
    await produce(transport, [0, 1, 2, 3].map((i) => ({ topic, key: null, value: text(`r${i}`) })));
    const groupId = uniqueName('long-batch');
    const steps = new EventLog<string>();
    const deliveries = new EventLog<{ member: string; from: number; count: number }>();
    const consume = async (member: string, onBatch: (context: BatchContext) => Promise<void>) => {
      const consumer = track(transport.consumer({ groupId, ...fast }));
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        eachBatch: async (batch, context) => {
          deliveries.push({ member, from: batch.records[0]?.offset ?? -1, count: batch.records.length });
          await onBatch(context);
        },
        onRevoked: () => steps.push(`${member} revoked`),
      });
    };

    let first = true;
    await consume('a', async (context) => {
      if (!first) return;
      first = false;
      // Work (and heartbeat) until the transport says the partition is going away; finish nothing.
      while (context.isRunning()) {
        await context.heartbeat();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      steps.push('a stopped early');
    });
    await deliveries.waitFor((seen) => seen.length === 1, 'a working on the batch');
    await consume('b', async () => undefined);

    await deliveries.waitFor((seen) => seen.length >= 2, 'the unfinished batch delivered again');
    expect(deliveries.events[1]).toMatchObject({ from: 0, count: 4 });
    expect(steps.events.indexOf('a stopped early')).toBeGreaterThanOrEqual(0);
    expect(steps.events.indexOf('a stopped early')).toBeLessThan(steps.events.indexOf('a revoked'));
  });

  it('reports a commit after the group moved on as a retriable TransportError, and the member rejoins', async () => {
    const { transport } = testTransport();
    const topic = await createTopic(transport, 2);
    await produce(transport, [{ topic, partition: 0, key: null, value: text('x') }]);
    const groupId = uniqueName('evicted');
    // A short rebalance timeout: a member that does not rejoin within it is dropped from the group.
    const group = { groupId, heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 3_000 };
    const events = new EventLog<Event>();
    const outcome = new EventLog<unknown>();
    let blocked = true;

    const a = track(transport.consumer(group));
    await a.connect();
    await a.subscribe({ topics: [topic] });
    await a.run({
      ...recorder(events, 'a'),
      eachBatch: async (batch) => {
        if (!blocked) return;
        blocked = false;
        // kafkajs heartbeats only between batches: while this one waits, b's join evicts a.
        await events.waitFor((seen) => seen.some((e) => e.member === 'b' && e.partitions.length === 2), 'b to take every partition');
        await a.commit([{ topic: batch.topic, partition: batch.partition, offset: 1 }]).then(
          () => outcome.push('committed'),
          (error: unknown) => outcome.push(error),
        );
      },
    });
    await events.waitFor((seen) => last(seen, 'a')?.partitions.length === 2, 'a owning both partitions');

    const b = track(transport.consumer(group));
    await b.connect();
    await b.subscribe({ topics: [topic] });
    await b.run({ eachBatch: async () => undefined, ...recorder(events, 'b') });
    await outcome.waitFor((seen) => seen.length > 0, 'the commit of the evicted member');

    const error = outcome.events[0];
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'COMMIT_FAILED', retriable: true });
    expect((error as Error).message).toMatch(/UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|REBALANCE_IN_PROGRESS/);
    // kafkajs notices the eviction after the batch and rejoins; the split settles at one partition each.
    await events.waitFor(
      (seen) => last(seen, 'a')?.kind === 'assigned' && last(seen, 'a')?.partitions.length === 1 && last(seen, 'b')?.partitions.length === 1,
      'a back in the group',
    );
  });
});
