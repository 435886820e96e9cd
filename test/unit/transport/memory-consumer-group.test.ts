import { describe, expect, it, onTestFinished } from 'vitest';
import { TransportError } from '../../../src/errors/streams-error.ts';
import { MemoryBroker, MemoryTransport, type MemoryErrorContext } from '../../../src/transport/memory/index.ts';
import type { BatchContext, ConsumedBatch, ConsumerOptions, TopicPartition, TransportConsumer } from '../../../src/transport/transport.ts';

const value = (s: string) => Buffer.from(s);

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves on the next turn of the event loop, after pending microtasks and I/O callbacks. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

async function consumer(transport: MemoryTransport, options: ConsumerOptions, topics: string[]): Promise<TransportConsumer> {
  const created = transport.consumer(options);
  onTestFinished(() => created.disconnect());
  await created.connect();
  await created.subscribe({ topics });
  return created;
}

function twoPartitionBroker(): MemoryBroker {
  const broker = new MemoryBroker();
  broker.createTopic({ topic: 't', partitions: 2 });
  return broker;
}

describe('memory consumer groups', () => {
  it('lets the losing member finish its batch and commit in onRevoked before the new owner starts there', async () => {
    const broker = twoPartitionBroker();
    const transport = new MemoryTransport({ broker });
    broker.appendAll(['a', 'b', 'c'].map((v) => ({ topic: 't', partition: 1, key: null, value: value(v) })));
    const events: string[] = [];
    const release = deferred();
    let blockedContext: BatchContext | undefined;

    const a = await consumer(transport, { groupId: 'g' }, ['t']);
    await a.run({
      eachBatch: async (batch, context) => {
        if (batch.partition !== 1) return;
        blockedContext = context;
        await release.promise;
        events.push('A settled its batch of t-1');
      },
      onRevoked: async (partitions) => {
        events.push(`A revoked ${partitions.map((tp) => tp.partition).join()}`);
        // Pretend only the first record was processed: the next owner must start at offset 1.
        await a.commit([{ topic: 't', partition: 1, offset: 1 }]);
      },
    });
    await until(() => blockedContext !== undefined, 'A to receive its batch');

    const b = await consumer(transport, { groupId: 'g' }, ['t']);
    const bBatches: ConsumedBatch[] = [];
    const bJoined = b.run({
      eachBatch: async (batch) => {
        bBatches.push(batch);
      },
      onAssigned: (partitions) => {
        events.push(`B assigned ${partitions.map((tp) => tp.partition).join()}`);
      },
    });
    await until(() => blockedContext?.isRunning() === false, "A's batch to be told to stop");
    await tick();
    expect(events).toEqual([]);
    expect(a.assignment()).toHaveLength(2);

    release.resolve();
    await bJoined;
    expect(events).toEqual(['A settled its batch of t-1', 'A revoked 1', 'B assigned 1']);
    expect(a.assignment()).toEqual([{ topic: 't', partition: 0 }]);
    expect(b.assignment()).toEqual([{ topic: 't', partition: 1 }]);
    await until(() => bBatches.length > 0, 'B to fetch');
    expect(bBatches[0]?.records.map((r) => r.offset)).toEqual([1, 2]);
  });

  it('tells the remaining member only about the partitions it gains when another leaves', async () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 't', partitions: 4 });
    const transport = new MemoryTransport({ broker });
    const assignedToA: TopicPartition[][] = [];
    const a = await consumer(transport, { groupId: 'g' }, ['t']);
    await a.run({ eachBatch: async () => undefined, onAssigned: (partitions) => void assignedToA.push([...partitions]) });
    const b = await consumer(transport, { groupId: 'g' }, ['t']);
    const revokedFromB: TopicPartition[][] = [];
    await b.run({ eachBatch: async () => undefined, onRevoked: (partitions) => void revokedFromB.push([...partitions]) });
    const ofB = b.assignment();
    expect(ofB).toHaveLength(2);

    await b.disconnect();
    expect(revokedFromB).toEqual([ofB]);
    expect(assignedToA.at(-1)).toEqual(ofB);
    expect(a.assignment()).toHaveLength(4);
  });

  it('splits a group between app instances that share one broker', async () => {
    const broker = twoPartitionBroker();
    const first = await consumer(new MemoryTransport({ broker }), { groupId: 'g' }, ['t']);
    const second = await consumer(new MemoryTransport({ broker }), { groupId: 'g' }, ['t']);
    await first.run({ eachBatch: async () => undefined });
    await second.run({ eachBatch: async () => undefined });
    expect(first.assignment()).toEqual([{ topic: 't', partition: 0 }]);
    expect(second.assignment()).toEqual([{ topic: 't', partition: 1 }]);
  });

  it('moves the partitions anyway when a member takes longer than rebalanceTimeoutMs, and refuses its late commit', async () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker });
    broker.append({ topic: 't', key: null, value: value('stuck') });
    const never = deferred();
    const stuck = await consumer(transport, { groupId: 'g', rebalanceTimeoutMs: 30 }, ['t']);
    let handling = false;
    await stuck.run({
      eachBatch: async () => {
        handling = true;
        await never.promise;
      },
    });
    await until(() => handling, 'the stuck batch to start');

    const leaving = stuck.disconnect();
    const fresh = await consumer(transport, { groupId: 'g' }, ['t']);
    await fresh.run({ eachBatch: async () => undefined });
    expect(fresh.assignment()).toEqual([{ topic: 't', partition: 0 }]);
    const late = await stuck.commit([{ topic: 't', partition: 0, offset: 1 }]).catch((e: unknown) => e);
    expect((late as TransportError).code).toBe('COMMIT_FAILED');
    expect(broker.committed('g', { topic: 't', partition: 0 })).toBeUndefined();

    // disconnect still waits for the batch itself, however long it takes.
    never.resolve();
    await leaving;
  });

  it('accepts commits for partitions another member owns, as Kafka does, and refuses a consumer that is not running', async () => {
    const broker = twoPartitionBroker();
    const transport = new MemoryTransport({ broker });
    const idle = await consumer(transport, { groupId: 'g' }, ['t']);
    const notRunning = await idle.commit([{ topic: 't', partition: 0, offset: 1 }]).catch((e: unknown) => e);
    expect(notRunning).toBeInstanceOf(TransportError);
    expect(notRunning).toMatchObject({ code: 'COMMIT_FAILED', retriable: false });

    const a = await consumer(transport, { groupId: 'g' }, ['t']);
    const b = await consumer(transport, { groupId: 'g' }, ['t']);
    await a.run({ eachBatch: async () => undefined });
    await b.run({ eachBatch: async () => undefined });
    const foreign = b.assignment()[0];
    if (foreign === undefined) throw new Error('b owns nothing');
    await a.commit([{ ...foreign, offset: 1 }]);
    expect(broker.committed('g', foreign)).toBe(1);
  });

  it('commits the existing partitions of a commit and refuses the missing ones as retriable', async () => {
    const broker = twoPartitionBroker();
    const member = await consumer(new MemoryTransport({ broker }), { groupId: 'g' }, ['t']);
    await member.run({ eachBatch: async () => undefined });
    const error = await member
      .commit([
        { topic: 't', partition: 0, offset: 2 },
        { topic: 't', partition: 9, offset: 1 },
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'COMMIT_FAILED', retriable: true });
    expect(broker.committedOffsets('g', 't')).toEqual(new Map([[0, 2]]));
  });

  it('evicts a member after a silent batch longer than its session, moves its partitions at once, and lets it rejoin', async () => {
    const broker = twoPartitionBroker();
    const transport = new MemoryTransport({ broker });
    const events: string[] = [];
    const release = deferred();
    let slowContext: BatchContext | undefined;
    const slow = await consumer(transport, { groupId: 'g', sessionTimeoutMs: 100, heartbeatIntervalMs: 10 }, ['t']);
    await slow.run({
      eachBatch: async (_batch, context) => {
        slowContext = context;
        await release.promise;
      },
      onRevoked: (partitions) => void events.push(`slow revoked ${partitions.map((tp) => tp.partition).join()}`),
      onAssigned: (partitions) => void events.push(`slow assigned ${partitions.map((tp) => tp.partition).join()}`),
    });
    const other = await consumer(transport, { groupId: 'g' }, ['t']);
    await other.run({ eachBatch: async () => undefined });
    const slowPartition = slow.assignment()[0];
    if (slowPartition === undefined) throw new Error('slow owns nothing');
    events.length = 0;
    broker.append({ ...slowPartition, key: null, value: value('x') });

    await until(() => other.assignment().length === 2, 'the other member to take both partitions');
    expect(slowContext?.isRunning()).toBe(false);
    expect(slow.assignment()).toEqual([]);
    // The group did not wait for the evicted member: its onRevoked comes only after its batch.
    expect(events).toEqual([]);
    expect(await slow.commit([{ ...slowPartition, offset: 1 }]).catch((e: unknown) => e)).toMatchObject({ code: 'COMMIT_FAILED', retriable: true });

    release.resolve();
    await until(() => slow.assignment().length === 1, 'the evicted member to rejoin');
    expect(events).toEqual([`slow revoked ${slowPartition.partition}`, expect.stringMatching(/^slow assigned /)]);
  });

  it('stops a rebalance from waiting on a member whose session expires during it', async () => {
    const broker = twoPartitionBroker();
    const transport = new MemoryTransport({ broker });
    // Partition 1 is the one the rebalance takes from the first member: its revoke waits for this batch.
    broker.append({ topic: 't', partition: 1, key: null, value: value('x') });
    const release = deferred();
    let handling = false;
    // The rebalance timeout alone would hold the newcomer back for a minute.
    const slow = await consumer(transport, { groupId: 'g', sessionTimeoutMs: 100, heartbeatIntervalMs: 10, rebalanceTimeoutMs: 60_000 }, ['t']);
    await slow.run({
      eachBatch: async () => {
        handling = true;
        await release.promise;
      },
    });
    await until(() => handling, 'the slow batch to start');

    const newcomer = await consumer(transport, { groupId: 'g' }, ['t']);
    await newcomer.run({ eachBatch: async () => undefined });
    await until(() => newcomer.assignment().length === 2, 'the newcomer to own both partitions');
    release.resolve();
    await until(() => slow.assignment().length === 1, 'the evicted member to rejoin');
  });

  it('runs at most partitionsConsumedConcurrently batches at once, and one per partition', async () => {
    const broker = new MemoryBroker();
    broker.createTopic({ topic: 't', partitions: 4 });
    for (let i = 0; i < 40; i++) broker.append({ topic: 't', partition: i % 4, key: null, value: value(`v${i}`) });
    for (const concurrency of [1, 2, 3]) {
      const transport = new MemoryTransport({ broker });
      const member = await consumer(transport, { groupId: `g${concurrency}`, maxBytesPerPartition: 4 }, ['t']);
      let running = 0;
      let peak = 0;
      const perPartition = new Set<number>();
      let overlaps = 0;
      let records = 0;
      await member.run({
        partitionsConsumedConcurrently: concurrency,
        eachBatch: async (batch) => {
          if (perPartition.has(batch.partition)) overlaps++;
          perPartition.add(batch.partition);
          peak = Math.max(peak, ++running);
          await tick();
          running--;
          perPartition.delete(batch.partition);
          records += batch.records.length;
        },
      });
      await until(() => records === 40, `all records with concurrency ${concurrency}`);
      expect(peak).toBe(concurrency);
      expect(overlaps).toBe(0);
      await member.disconnect();
    }
  });

  it('bounds batches by maxBytesPerPartition but always delivers at least one record', async () => {
    const broker = new MemoryBroker();
    broker.appendAll([value('12345'), value('1234567890'), value('1')].map((v) => ({ topic: 't', key: null, value: v })));
    const sizes: number[] = [];
    const member = await consumer(new MemoryTransport({ broker }), { groupId: 'g', maxBytesPerPartition: 6 }, ['t']);
    await member.run({ eachBatch: async (batch) => void sizes.push(batch.records.length) });
    await until(() => sizes.reduce((a, b) => a + b, 0) === 3, 'all records');
    expect(sizes).toEqual([1, 1, 1]);
  });

  it('re-delivers a rejected batch from its first offset after a growing backoff, and reports the error', async () => {
    const broker = new MemoryBroker();
    broker.appendAll(['a', 'b'].map((v) => ({ topic: 't', key: null, value: value(v) })));
    const reported: MemoryErrorContext[] = [];
    const transport = new MemoryTransport({ broker, retryBackoffMs: 20, onError: (_error, context) => void reported.push(context) });
    const deliveries: { first: number; at: number }[] = [];
    const member = await consumer(transport, { groupId: 'g' }, ['t']);
    await member.run({
      eachBatch: async (batch) => {
        deliveries.push({ first: batch.records[0]?.offset ?? -1, at: performance.now() });
        if (deliveries.length <= 2) throw new Error('boom');
      },
    });
    await until(() => deliveries.length === 3, 'the third delivery');
    expect(deliveries.map((d) => d.first)).toEqual([0, 0, 0]);
    const [first, second, third] = deliveries.map((d) => d.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(15);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(35);
    expect(reported).toEqual([
      { groupId: 'g', during: 'eachBatch', topic: 't', partition: 0 },
      { groupId: 'g', during: 'eachBatch', topic: 't', partition: 0 },
    ]);

    broker.append({ topic: 't', key: null, value: value('c') });
    await until(() => deliveries.length === 4, 'the next batch after success');
    expect(deliveries[3]?.first).toBe(2);
  });

  it('reports a throwing onAssigned and still fetches, so one bug does not stall the group', async () => {
    const broker = new MemoryBroker();
    broker.append({ topic: 't', key: null, value: value('a') });
    const reported: string[] = [];
    const transport = new MemoryTransport({ broker, onError: (_error, context) => void reported.push(context.during) });
    const member = await consumer(transport, { groupId: 'g' }, ['t']);
    let delivered = 0;
    await member.run({
      eachBatch: async () => void delivered++,
      onAssigned: () => {
        throw new Error('hook bug');
      },
    });
    await until(() => delivered === 1, 'the record');
    expect(reported).toEqual(['onAssigned']);
  });

  it('starts at the committed offset, else the beginning or (fromBeginning: false) the end', async () => {
    const broker = new MemoryBroker();
    broker.appendAll(['a', 'b', 'c'].map((v) => ({ topic: 't', key: null, value: value(v) })));
    broker.commit('committed', [{ topic: 't', partition: 0, offset: 2 }]);
    const firsts = new Map<string, number>();
    for (const [groupId, fromBeginning] of [['committed', false], ['earliest', true], ['latest', false]] as const) {
      const member = transportConsumer(broker, groupId);
      await member.connect();
      await member.subscribe({ topics: ['t'], fromBeginning });
      await member.run({
        eachBatch: async (batch) => {
          if (!firsts.has(groupId)) firsts.set(groupId, batch.records[0]?.offset ?? -1);
        },
      });
    }
    broker.append({ topic: 't', key: null, value: value('d') });
    await until(() => firsts.size === 3, 'every group to read');
    expect(firsts).toEqual(new Map([['committed', 2], ['earliest', 0], ['latest', 3]]));
  });

  it('stops a revoked partition when its topic is deleted', async () => {
    const broker = twoPartitionBroker();
    const member = await consumer(new MemoryTransport({ broker }), { groupId: 'g' }, ['t']);
    await member.run({ eachBatch: async () => undefined });
    expect(member.assignment()).toHaveLength(2);
    broker.deleteTopic('t');
    await until(() => member.assignment().length === 0, 'the partitions to be revoked');
  });

  it('refuses to work before connect, to run without a subscription, and to subscribe while running', async () => {
    const transport = new MemoryTransport();
    transport.broker.createTopic({ topic: 't' });
    const fresh = transport.consumer({ groupId: 'g' });
    expect(((await fresh.subscribe({ topics: ['t'] }).catch((e: unknown) => e)) as TransportError).code).toBe('TRANSPORT_CLOSED');
    await fresh.connect();
    onTestFinished(() => fresh.disconnect());
    expect(((await fresh.run({ eachBatch: async () => undefined }).catch((e: unknown) => e)) as Error).message).toMatch(/subscribe to a topic before run/);
    await fresh.subscribe({ topics: ['t'] });
    await fresh.run({ eachBatch: async () => undefined });
    expect(((await fresh.subscribe({ topics: ['u'] }).catch((e: unknown) => e)) as Error).message).toMatch(/while running/);
  });

  it('gives batches a heartbeat that resolves at once', async () => {
    const broker = new MemoryBroker();
    broker.append({ topic: 't', key: null, value: null });
    const member = await consumer(new MemoryTransport({ broker }), { groupId: 'g' }, ['t']);
    let heartbeats = 0;
    await member.run({
      eachBatch: async (_batch, context) => {
        for (let i = 0; i < 1_000; i++) await context.heartbeat();
        heartbeats = 1_000;
      },
    });
    await until(() => heartbeats === 1_000, 'the heartbeats');
  });
});

function transportConsumer(broker: MemoryBroker, groupId: string): TransportConsumer {
  const created = new MemoryTransport({ broker }).consumer({ groupId });
  onTestFinished(() => created.disconnect());
  return created;
}
