/**
 * The scenarios every `Transport` must pass: the memory transport in unit tests, the kafka transport
 * against a real broker. They state Kafka's real behaviour (a rebalance takes a while, transaction
 * markers take offsets, offset commits of a transaction become visible shortly after it commits),
 * so they wait for conditions with deadlines instead of assuming instant effects, and never sleep.
 *
 * Usage: `defineTransportConformance('memory', () => ({ transport: new MemoryTransport() }))` at the
 * top level of a test file or inside `describe.skipIf(...)`.
 */
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../src/errors/streams-error.ts';
import { partitionForKey } from '../../src/transport/murmur2.ts';
import { tpKey } from '../../src/transport/topic-partition-key.ts';
import type { BatchContext, ConsumerOptions, TopicPartition, Transport, TransportConsumer } from '../../src/transport/transport.ts';
import { uniqueName } from '../support/names.ts';
import {
  Collector,
  connectedAdmin,
  connectedConsumer,
  connectedProducer,
  createTopic,
  deferred,
  eventually,
  firstOffsetByPartition,
  groupBy,
  intersect,
  partitionsOf,
  readAll,
  recordsTo,
  rejectionOf,
  sameSet,
  startMember,
  str,
  text,
  values,
  withDeadline,
} from '../support/transport-scenario-helpers.ts';

export interface TransportUnderTest {
  readonly transport: Transport;
  /**
   * The shortest `sessionTimeoutMs` the log accepts (Kafka's `group.min.session.timeout.ms`, 6 s by
   * default); the eviction scenarios use it to stay as short as the transport allows. Default 6000.
   */
  readonly minSessionTimeoutMs?: number;
}

export type TransportSetup = () => TransportUnderTest | Promise<TransportUnderTest>;

/** Per scenario; generous because a real broker's rebalances take seconds, while memory takes milliseconds. */
const SCENARIO_TIMEOUT_MS = 60_000;

/** Declares the conformance scenarios for one transport, labelled `label`. */
export function defineTransportConformance(label: string, setup: TransportSetup): void {
  describe(`transport conformance: ${label}`, () => {
    const transport = async (): Promise<Transport> => (await setup()).transport;

    describe('admin', () => {
      it(
        'creates, lists and counts topics, leaves existing ones untouched, and reports cleanup.policy and max.message.bytes',
        async () => {
          const admin = await connectedAdmin(await transport());
          const plain = uniqueName('conf-plain');
          const compacted = uniqueName('conf-compacted');
          await admin.createTopics([
            { topic: plain, partitions: 3 },
            { topic: compacted, partitions: 2, config: { 'cleanup.policy': 'compact' } },
          ]);

          expect(await admin.listTopics()).toEqual(expect.arrayContaining([plain, compacted]));
          expect(await admin.partitionCount(plain)).toBe(3);
          expect(await admin.partitionCount(compacted)).toBe(2);

          await admin.createTopics([{ topic: plain, partitions: 5 }]);
          expect(await admin.partitionCount(plain)).toBe(3);

          expect((await admin.topicConfig(compacted))['cleanup.policy']).toBe('compact');
          expect((await admin.topicConfig(plain))['cleanup.policy']).toBe('delete');
          // The size limit a producer must stay under: the broker's default, or the topic's own.
          expect((await admin.topicConfig(plain))['max.message.bytes']).toBe('1048588');
          const limited = await createTopic(admin, { topic: uniqueName('conf-limited'), config: { 'max.message.bytes': '2000' } });
          expect((await admin.topicConfig(limited))['max.message.bytes']).toBe('2000');
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'rejects partitionCount of a missing topic with a TransportError naming it, without creating it',
        async () => {
          const admin = await connectedAdmin(await transport());
          const missing = uniqueName('conf-missing');
          const error = await rejectionOf(admin.partitionCount(missing));
          expect(error).toBeInstanceOf(TransportError);
          expect((error as Error).message).toContain(missing);
          expect(await admin.listTopics()).not.toContain(missing);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'reports end offsets per partition and committed offsets only for partitions that have one',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-offsets'), partitions: 3 });
          const producer = await connectedProducer(t);
          await producer.send([...recordsTo(topic, 0, 'p0', 5), ...recordsTo(topic, 1, 'p1', 2)]);

          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 5], [1, 2], [2, 0]]));

          const groupId = uniqueName('conf-offsets-group');
          expect((await admin.committedOffsets(groupId, topic)).size).toBe(0);

          const consumer = await connectedConsumer(t, { groupId });
          const seen = new Collector();
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({ eachBatch: seen.handler() });
          await seen.until((records) => records.length >= 7, 'all 7 records');
          await consumer.commit([{ topic, partition: 0, offset: 4 }]);

          await eventually(() => admin.committedOffsets(groupId, topic), (offsets) => offsets.get(0) === 4, 'the commit of partition 0 to show');
          expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 4]]));
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('producing and consuming', () => {
      it(
        'delivers 2,400 keyed records over 4 partitions completely, each key on its murmur2 partition, in offset order',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-keyed'), partitions: 4 });
          const keys = Array.from({ length: 240 }, (_, i) => `user-${i}`);
          const rounds = 10;
          const producer = await connectedProducer(t);
          for (let round = 0; round < rounds; round += 2) {
            // Several records per key in one send: the per-key order must hold inside a request too.
            await producer.send([round, round + 1].flatMap((r) => keys.map((key) => text(topic, key, `${key}#${r}`))));
          }

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-keyed-group') });
          const seen = new Collector();
          const handling = new Set<number>();
          let overlapping = 0;
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            partitionsConsumedConcurrently: 2,
            eachBatch: async (batch, context) => {
              if (handling.has(batch.partition)) overlapping++;
              handling.add(batch.partition);
              // Yield so that a second batch of the same partition, if wrongly started, would overlap.
              await new Promise((resolve) => setImmediate(resolve));
              handling.delete(batch.partition);
              await seen.handler()(batch, context);
            },
          });
          await seen.until((records) => records.length >= keys.length * rounds, `${keys.length * rounds} records`);

          expect(seen.records).toHaveLength(keys.length * rounds);
          expect(overlapping).toBe(0);
          for (const batch of seen.batches) expect(batch.records.length).toBeGreaterThan(0);

          const offsetsByPartition = groupBy(seen.records, (r) => r.partition);
          expect([...offsetsByPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
          for (const [partition, records] of offsetsByPartition) {
            // Plain (non-transactional) sends: offsets are dense from 0 and arrive in order.
            expect(records.map((r) => r.offset), `offsets of partition ${partition}`).toEqual(records.map((_, i) => i));
          }

          const byKey = groupBy(seen.records, (r) => str(r.key));
          for (const key of keys) {
            const records = byKey.get(key) ?? [];
            expect(new Set(records.map((r) => r.partition)), `partitions of ${key}`).toEqual(new Set([partitionForKey(Buffer.from(key), 4)]));
            expect(records.map((r) => str(r.value))).toEqual(Array.from({ length: rounds }, (_, r) => `${key}#${r}`));
          }

          const ends = await admin.endOffsets(topic);
          expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(keys.length * rounds);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'round-trips headers, explicit and stamped timestamps, null keys and null values',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-roundtrip'), partitions: 2 });
          const explicitTime = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
          const binary = Buffer.from([0, 255, 1, 128]);
          const producer = await connectedProducer(t);
          const before = Date.now();
          await producer.send([
            { topic, partition: 1, key: Buffer.from('with-headers'), value: Buffer.from('v'), headers: { trace: Buffer.from('abc'), bin: binary }, timestamp: explicitTime },
            { topic, partition: 0, key: null, value: Buffer.from('keyless') },
            { topic, partition: 0, key: Buffer.from('tombstone'), value: null },
          ]);
          const after = Date.now();

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-roundtrip-group') });
          const seen = new Collector();
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({ eachBatch: seen.handler() });
          await seen.until((records) => records.length >= 3, '3 records');

          const withHeaders = seen.records.find((r) => str(r.key) === 'with-headers');
          expect(withHeaders?.partition).toBe(1);
          expect(withHeaders?.timestamp).toBe(explicitTime);
          expect(Object.keys(withHeaders?.headers ?? {}).sort()).toEqual(['bin', 'trace']);
          expect(withHeaders?.headers['trace']?.toString()).toBe('abc');
          expect(withHeaders?.headers['bin']?.equals(binary)).toBe(true);

          const keyless = seen.records.find((r) => str(r.value) === 'keyless');
          expect(keyless?.key).toBeNull();
          expect(keyless?.headers).toEqual({});
          // Stamped by the producing side when absent; allow for a clock a few ms apart from the broker's.
          expect(keyless?.timestamp).toBeGreaterThanOrEqual(before - 1_000);
          expect(keyless?.timestamp).toBeLessThanOrEqual(after + 1_000);

          const tombstone = seen.records.find((r) => str(r.key) === 'tombstone');
          expect(tombstone).toBeDefined();
          expect(tombstone?.value).toBeNull();
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'starts a group without commits at the end when fromBeginning is false',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-latest') });
          const producer = await connectedProducer(t);
          await producer.send([text(topic, 'k', 'old-0'), text(topic, 'k', 'old-1')]);

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-latest-group') });
          const seen = new Collector();
          await consumer.subscribe({ topics: [topic], fromBeginning: false });
          await consumer.run({ eachBatch: seen.handler() });
          // On Kafka the "latest" position is fixed at the first fetch, which may follow run(); keep
          // producing until one new record arrives rather than guessing when that happened.
          let sent = 0;
          await eventually(
            async () => {
              await producer.send([text(topic, 'k', `new-${sent++}`)]);
              return seen.records.length;
            },
            (count) => count > 0,
            'a record produced after the consumer started',
          );
          expect(seen.records.map((r) => str(r.value)).filter((v) => v.startsWith('old-'))).toEqual([]);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'delivers a batch whose handler rejected again from its first offset, then moves on',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-redeliver') });
          const producer = await connectedProducer(t);
          await producer.send(recordsTo(topic, 0, 'r', 5));

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-redeliver-group') });
          const firstOffsets: number[] = [];
          const seen = new Collector();
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            eachBatch: async (batch, context) => {
              firstOffsets.push(batch.records[0]?.offset ?? -1);
              if (firstOffsets.length === 1) throw new Error('conformance: first delivery fails on purpose');
              await seen.handler()(batch, context);
            },
          });
          await seen.until((records) => records.length >= 5, 'all 5 records after the failure');

          expect(firstOffsets.slice(0, 2)).toEqual([0, 0]);
          expect(seen.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'stops delivering a paused partition until it is resumed, while the others go on',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-pause'), partitions: 2 });
          const producer = await connectedProducer(t);
          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-pause-group') });
          const seen = new Collector();
          let resumed = false;
          const deliveredWhilePaused: string[] = [];
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            eachBatch: async (batch, context) => {
              if (batch.partition === 0 && !resumed) deliveredWhilePaused.push(...batch.records.map((r) => str(r.value)));
              await seen.handler()(batch, context);
            },
          });
          await producer.send([...recordsTo(topic, 0, 'warm-p0', 1), ...recordsTo(topic, 1, 'warm-p1', 1)]);
          await seen.until((records) => records.length >= 2, 'the warm-up record of each partition');
          deliveredWhilePaused.length = 0;

          const p0: TopicPartition = { topic, partition: 0 };
          consumer.pause([p0]);
          await producer.send(recordsTo(topic, 0, 'paused-p0', 3));
          await producer.send(recordsTo(topic, 1, 'live-p1-a', 3));
          await seen.until((records) => records.filter((r) => str(r.value).startsWith('live-p1-a')).length === 3, 'partition 1 to go on');
          await producer.send(recordsTo(topic, 1, 'live-p1-b', 3));
          await seen.until((records) => records.filter((r) => str(r.value).startsWith('live-p1-b')).length === 3, 'partition 1 to go on again');
          expect(deliveredWhilePaused).toEqual([]);

          resumed = true;
          consumer.resume([p0]);
          await seen.until((records) => records.filter((r) => str(r.value).startsWith('paused-p0')).length === 3, 'the paused records after resume');
          expect(seen.records.filter((r) => str(r.value).startsWith('paused-p0')).map((r) => str(r.value))).toEqual(['paused-p0-0', 'paused-p0-1', 'paused-p0-2']);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'disconnect waits for the batch being handled, whose isRunning() turns false',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-drain') });
          const producer = await connectedProducer(t);
          await producer.send(recordsTo(topic, 0, 'd', 1));

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-drain-group') });
          const started = deferred<BatchContext>();
          const release = deferred<undefined>();
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            eachBatch: async (_batch, context) => {
              started.resolve(context);
              await release.promise;
            },
          });
          const context = await withDeadline(started.promise, 'the batch to start');
          expect(context.isRunning()).toBe(true);

          let disconnected = false;
          const disconnecting = consumer.disconnect().then(() => {
            disconnected = true;
          });
          await eventually(() => context.isRunning(), (running) => !running, 'isRunning() to turn false');
          // Proving that something does not happen needs a window: give a wrong disconnect ample time to finish.
          await Promise.race([disconnecting, new Promise((resolve) => setTimeout(resolve, 300))]);
          expect(disconnected).toBe(false);
          release.resolve(undefined);
          await withDeadline(disconnecting, 'disconnect to finish');
          expect(disconnected).toBe(true);
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('consumer groups', () => {
      it(
        'a new member of the group resumes at the committed offset',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-resume') });
          const producer = await connectedProducer(t);
          await producer.send(recordsTo(topic, 0, 'v', 10));
          const groupId = uniqueName('conf-resume-group');

          const first = await connectedConsumer(t, { groupId });
          const firstSeen = new Collector();
          await first.subscribe({ topics: [topic] });
          await first.run({ eachBatch: firstSeen.handler() });
          await firstSeen.until((records) => records.length >= 10, 'the first member to read all 10');
          // Read everything, commit only up to 6: the next member must start at 6, not at 10 (no auto-commit).
          await first.commit([{ topic, partition: 0, offset: 6 }]);
          await first.disconnect();
          expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 6]]));

          const second = await connectedConsumer(t, { groupId });
          const secondSeen = new Collector();
          await second.subscribe({ topics: [topic] });
          await second.run({ eachBatch: secondSeen.handler() });
          await secondSeen.until((records) => records.length >= 4, 'the second member to read from the commit');
          expect(secondSeen.records.map((r) => str(r.value))).toEqual(['v-6', 'v-7', 'v-8', 'v-9']);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'two members split the partitions; when one leaves the other takes over and sees every record at least once',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-split'), partitions: 4 });
          const groupId = uniqueName('conf-split-group');
          const producer = await connectedProducer(t);
          const a = await startMember(t, groupId, topic);
          await eventually(() => a.consumer.assignment().length, (n) => n === 4, 'the first member to own all 4 partitions');

          const b = await startMember(t, groupId, topic);
          // Each member learns the new assignment at its own moment on Kafka: wait until both views agree.
          await eventually(
            () => [partitionsOf(a.consumer.assignment()), partitionsOf(b.consumer.assignment())] as const,
            ([ofA, ofB]) => ofA.length > 0 && ofB.length > 0 && intersect(ofA, ofB).length === 0 && sameSet([...ofA, ...ofB], [0, 1, 2, 3]),
            'both members to own a disjoint part of the topic',
          );
          const ofB = partitionsOf(b.consumer.assignment());
          await eventually(() => partitionsOf(b.assigned), (assigned) => ofB.every((p) => assigned.includes(p)), 'onAssigned for what the newcomer owns');
          await eventually(() => partitionsOf(a.revoked), (revoked) => ofB.every((p) => revoked.includes(p)), 'onRevoked for what the first member gave up');

          const phase1 = Array.from({ length: 400 }, (_, i) => text(topic, `key-${i % 40}`, `phase1-${i}`));
          await producer.send(phase1);
          const everyone = () => [...a.seen.records, ...b.seen.records];
          await eventually(() => new Set(everyone().map((r) => str(r.value))), (values) => phase1.every((r) => values.has(str(r.value))), 'phase 1 to be read');

          const leftByA = partitionsOf(a.consumer.assignment());
          a.revoked.length = 0;
          await a.consumer.disconnect();
          expect(partitionsOf(a.revoked)).toEqual(expect.arrayContaining(leftByA));
          await eventually(() => b.consumer.assignment().length, (n) => n === 4, 'the remaining member to own all 4 partitions');

          const phase2 = Array.from({ length: 400 }, (_, i) => text(topic, `key-${i % 40}`, `phase2-${i}`));
          await producer.send(phase2);
          await b.seen.until((records) => {
            const values = new Set(records.map((r) => str(r.value)));
            return phase2.every((r) => values.has(str(r.value)));
          }, 'phase 2 to be read by the remaining member');

          // The leaver committed every batch it handled, so its successor starts where it stopped.
          const takenOver = b.seen.records.filter((r) => leftByA.includes(r.partition));
          expect(takenOver.filter((r) => str(r.value).startsWith('phase1-'))).toEqual([]);
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('co-partitioned assignment', () => {
      it(
        "two 'copartitioned' members over two 4-partition topics own both topics' partition N together; the one left owns everything",
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const left = await createTopic(admin, { topic: uniqueName('conf-copart-left'), partitions: 4 });
          const right = await createTopic(admin, { topic: uniqueName('conf-copart-right'), partitions: 4 });
          const groupId = uniqueName('conf-copart-group');
          const a = await startCopartitionedMember(t, groupId, [left, right]);
          await eventually(() => a.assignment().length, (n) => n === 8, 'the first member to own all 8 partitions');

          // kafkajs' round-robin happens to co-partition two equal topics over two members; the
          // scenario with uneven topics below is the one that tells the assigners apart on Kafka.
          const b = await startCopartitionedMember(t, groupId, [left, right]);
          const [ofA, ofB] = await eventually(
            () => [a.assignment(), b.assignment()] as const,
            ([ofA, ofB]) => ofA.length > 0 && ofB.length > 0 && ofA.length + ofB.length === 8 && new Set([...ofA, ...ofB].map(tpKey)).size === 8,
            'both members to own a disjoint part of the two topics',
          );
          for (const owned of [ofA, ofB]) {
            // Partition N of the left topic and partition N of the right one belong together.
            expect(partitionsOfTopic(owned, left)).toEqual(partitionsOfTopic(owned, right));
            expect(partitionsOfTopic(owned, left)).toHaveLength(2);
          }

          await a.disconnect();
          await eventually(() => b.assignment().length, (n) => n === 8, 'the remaining member to own all 8 partitions');
          expect(partitionsOfTopic(b.assignment(), left)).toEqual([0, 1, 2, 3]);
          expect(partitionsOfTopic(b.assignment(), right)).toEqual([0, 1, 2, 3]);
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        "with topics of 3 and 2 partitions, 'copartitioned' keeps partition N of both together and spreads the 3 numbers over 2 members",
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          // Round-robin over these 5 topic-partitions would split some partition N across the members.
          const wide = await createTopic(admin, { topic: uniqueName('conf-copart-wide'), partitions: 3 });
          const narrow = await createTopic(admin, { topic: uniqueName('conf-copart-narrow'), partitions: 2 });
          const groupId = uniqueName('conf-copart-uneven-group');
          const a = await startCopartitionedMember(t, groupId, [wide, narrow]);
          await eventually(() => a.assignment().length, (n) => n === 5, 'the first member to own all 5 partitions');
          const b = await startCopartitionedMember(t, groupId, [wide, narrow]);
          const [ofA, ofB] = await eventually(
            () => [a.assignment(), b.assignment()] as const,
            ([ofA, ofB]) => ofA.length > 0 && ofB.length > 0 && ofA.length + ofB.length === 5 && new Set([...ofA, ...ofB].map(tpKey)).size === 5,
            'both members to own a disjoint part of the two topics',
          );
          const numbers = [partitionsOfTopic(ofA, wide), partitionsOfTopic(ofB, wide)];
          expect(numbers.map((n) => n.length).sort()).toEqual([1, 2]);
          for (const [i, owned] of [ofA, ofB].entries()) {
            const ofWide = numbers[i] ?? [];
            expect(partitionsOfTopic(owned, narrow)).toEqual(ofWide.filter((n) => n < 2));
          }
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('fetch positions', () => {
      it(
        'nextOffset reaches the end offset of a log that ends with transaction markers, past the last delivered record; onPosition tells of an aborted tail',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-position') });
          const producer = await connectedProducer(t, { transactionalId: uniqueName('conf-position-producer') });
          const committed = await producer.transaction();
          await committed.send(recordsTo(topic, 0, 'committed', 3));
          await committed.commit();
          // Three records and the commit marker; Kafka writes the marker just after commit() returns.
          const endAfterCommit = 4;
          await eventually(() => admin.endOffsets(topic), (ends) => ends.get(0) === endAfterCommit, `the end offset to reach ${endAfterCommit}`);

          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-position-group') });
          const seen = new Collector();
          const positions: number[] = [];
          const positionPartitions: TopicPartition[] = [];
          await consumer.subscribe({ topics: [topic] });
          await consumer.run({
            eachBatch: seen.handler(),
            onPosition: (tp, nextOffset) => {
              positionPartitions.push(tp);
              positions.push(nextOffset);
            },
          });
          const furthest = () => Math.max(-1, ...seen.batches.map((batch) => batch.nextOffset), ...positions);
          await eventually(furthest, (offset) => offset >= endAfterCommit, `the position to reach the end offset ${endAfterCommit}`);
          expect(values(seen.records)).toEqual(['committed-0', 'committed-1', 'committed-2']);
          expect((seen.records.at(-1)?.offset ?? 0) + 1).toBeLessThan(endAfterCommit);
          expect(furthest()).toBe(endAfterCommit);
          for (const batch of seen.batches) expect(batch.nextOffset).toBeGreaterThan(batch.records.at(-1)?.offset ?? Number.POSITIVE_INFINITY);

          // Only aborted records and a marker follow: no batch to deliver, so onPosition alone tells.
          const aborted = await producer.transaction();
          await aborted.send(recordsTo(topic, 0, 'aborted', 2));
          await aborted.abort();
          const endAfterAbort = endAfterCommit + 3;
          await eventually(() => admin.endOffsets(topic), (ends) => ends.get(0) === endAfterAbort, `the end offset to reach ${endAfterAbort}`);
          await eventually(() => Math.max(-1, ...positions), (offset) => offset >= endAfterAbort, `onPosition to reach the end offset ${endAfterAbort}`);
          expect(Math.max(...positions)).toBe(endAfterAbort);
          expect(seen.records).toHaveLength(3);
          expect(positionPartitions.every((tp) => tp.topic === topic && tp.partition === 0)).toBe(true);
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('offset commits', () => {
      it(
        'a member may commit any partition of an existing topic at any offset, assigned to it or not, before its first fetch too',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-commit'), partitions: 2 });
          const other = await createTopic(admin, { topic: uniqueName('conf-commit-other') });
          const producer = await connectedProducer(t);
          await producer.send(recordsTo(topic, 0, 'c', 3));
          const groupId = uniqueName('conf-commit-group');

          const a = await connectedConsumer(t, { groupId });
          await a.subscribe({ topics: [topic] });
          await a.run({ eachBatch: async () => undefined });
          // Right after run(): Kafka's coordinator checks the member and generation, not what was fetched.
          await a.commit([{ topic, partition: 1, offset: 0 }]);

          const b = await connectedConsumer(t, { groupId });
          await b.subscribe({ topics: [topic] });
          await b.run({ eachBatch: async () => undefined });
          await eventually(
            () => [partitionsOf(a.assignment()), partitionsOf(b.assignment())] as const,
            ([ofA, ofB]) => ofA.length === 1 && ofB.length === 1 && intersect(ofA, ofB).length === 0,
            'both members to own one partition each',
          );
          const ofB = b.assignment()[0];
          if (ofB === undefined) throw new Error('the second member owns nothing');

          // The classic group protocol does not tie commits to the assignment: a partition of another member is accepted.
          await a.commit([{ ...ofB, offset: 2 }]);
          await a.commit([{ topic, partition: 0, offset: 3 }]); // the end offset
          await a.commit([{ topic, partition: 1, offset: 100 }]); // past the end
          await a.commit([{ topic: other, partition: 0, offset: 1 }]); // a topic the group does not read
          await eventually(
            () => admin.committedOffsets(groupId, topic),
            (offsets) => offsets.get(0) === 3 && offsets.get(1) === 100,
            'the commits to show',
          );
          await a.commit([{ topic, partition: 0, offset: 1 }]); // backwards
          await eventually(() => admin.committedOffsets(groupId, topic), (offsets) => offsets.get(0) === 1, 'the backward commit to show');
          expect(await admin.committedOffsets(groupId, other)).toEqual(new Map([[0, 1]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'refuses a commit of a missing partition as retriable, and one before run or after disconnect as not retriable',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-commit-refused') });
          const groupId = uniqueName('conf-commit-refused-group');
          const consumer = await connectedConsumer(t, { groupId });
          await consumer.subscribe({ topics: [topic] });

          const beforeRun = await rejectionOf(consumer.commit([{ topic, partition: 0, offset: 1 }]));
          expect(beforeRun).toBeInstanceOf(TransportError);
          expect(beforeRun).toMatchObject({ code: 'COMMIT_FAILED', retriable: false });

          await consumer.run({ eachBatch: async () => undefined });
          // The topic may be created later, so Kafka calls this retriable (after its client's retries);
          // it answers per partition, so the partition that exists is committed all the same.
          const missing = await rejectionOf(
            consumer.commit([
              { topic, partition: 0, offset: 2 },
              { topic, partition: 7, offset: 1 },
            ]),
          );
          expect(missing).toBeInstanceOf(TransportError);
          expect(missing).toMatchObject({ code: 'COMMIT_FAILED', retriable: true });
          expect((missing as Error).message).toContain('UNKNOWN_TOPIC_OR_PARTITION');
          expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 2]]));

          await consumer.disconnect();
          const afterDisconnect = await rejectionOf(consumer.commit([{ topic, partition: 0, offset: 1 }]));
          expect(afterDisconnect).toBeInstanceOf(TransportError);
          expect(afterDisconnect).toMatchObject({ code: 'COMMIT_FAILED', retriable: false });
          expect(await admin.committedOffsets(groupId, topic)).toEqual(new Map([[0, 2]]));
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('session timeout', () => {
      it(
        'evicts a member whose batch outlives the session without a heartbeat: the others take its partition and records, its commits fail as retriable, it rejoins after the batch',
        async () => {
          const { transport: t, minSessionTimeoutMs = 6_000 } = await setup();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-evict'), partitions: 2 });
          const groupId = uniqueName('conf-evict-group');
          const producer = await connectedProducer(t);
          const session: Partial<ConsumerOptions> = { sessionTimeoutMs: minSessionTimeoutMs, heartbeatIntervalMs: Math.floor(minSessionTimeoutMs / 10) };

          const other = await connectedConsumer(t, { groupId, ...session });
          const otherSeen = new Collector();
          await other.subscribe({ topics: [topic] });
          await other.run({ eachBatch: otherSeen.handler() });
          const slow = await connectedConsumer(t, { groupId, ...session });
          const started = deferred<{ partition: number; context: BatchContext }>();
          const release = deferred<undefined>();
          let slowBatches = 0;
          await slow.subscribe({ topics: [topic] });
          await slow.run({
            eachBatch: async (batch, context) => {
              if (slowBatches++ > 0) return;
              started.resolve({ partition: batch.partition, context });
              await release.promise;
            },
          });
          await eventually(
            () => [partitionsOf(slow.assignment()), partitionsOf(other.assignment())] as const,
            ([ofSlow, ofOther]) => ofSlow.length === 1 && ofOther.length === 1 && intersect(ofSlow, ofOther).length === 0,
            'both members to own one partition each',
          );
          const slowPartition = slow.assignment()[0]?.partition ?? -1;
          await producer.send(recordsTo(topic, slowPartition, 'stuck', 1));
          const { partition, context } = await withDeadline(started.promise, 'the slow batch to start');
          expect(partition).toBe(slowPartition);

          // The group gives up on the silent member after the session timeout and hands its partition on.
          await eventually(() => partitionsOf(other.assignment()), (owned) => sameSet(owned, [0, 1]), 'the other member to own both partitions');
          await otherSeen.until((records) => records.some((r) => str(r.value) === 'stuck-0'), 'the uncommitted record to reach the other member');

          const late = await rejectionOf(slow.commit([{ topic, partition: slowPartition, offset: 1 }]));
          expect(late).toBeInstanceOf(TransportError);
          expect(late).toMatchObject({ code: 'COMMIT_FAILED', retriable: true });
          // Kafka tells an evicted member on its next heartbeat; from then on the batch should stop.
          await context.heartbeat();
          expect(context.isRunning()).toBe(false);
          expect((await admin.committedOffsets(groupId, topic)).has(slowPartition)).toBe(false);

          release.resolve(undefined);
          await eventually(
            () => [partitionsOf(slow.assignment()), partitionsOf(other.assignment())] as const,
            ([ofSlow, ofOther]) => ofSlow.length === 1 && ofOther.length === 1 && intersect(ofSlow, ofOther).length === 0,
            'the evicted member to rejoin and get a partition back',
          );
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'keeps a member whose long batch calls heartbeat() in the group, with its partition and its commits',
        async () => {
          const { transport: t, minSessionTimeoutMs = 6_000 } = await setup();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-heartbeat'), partitions: 2 });
          const groupId = uniqueName('conf-heartbeat-group');
          const producer = await connectedProducer(t);
          const session: Partial<ConsumerOptions> = { sessionTimeoutMs: minSessionTimeoutMs, heartbeatIntervalMs: Math.floor(minSessionTimeoutMs / 10) };

          const other = await connectedConsumer(t, { groupId, ...session });
          await other.subscribe({ topics: [topic] });
          const revokedFromOther: TopicPartition[] = [];
          await other.run({ eachBatch: async () => undefined, onRevoked: (partitions) => void revokedFromOther.push(...partitions) });
          const busy = await connectedConsumer(t, { groupId, ...session });
          const finished = deferred<boolean>();
          await busy.subscribe({ topics: [topic] });
          await busy.run({
            eachBatch: async (batch, context) => {
              // Two and a half sessions of work, beating five times per session.
              const until = Date.now() + minSessionTimeoutMs * 2.5;
              while (Date.now() < until) {
                await new Promise((resolve) => setTimeout(resolve, minSessionTimeoutMs / 5));
                await context.heartbeat();
              }
              await busy.commit([{ topic, partition: batch.partition, offset: 1 }]);
              finished.resolve(context.isRunning());
            },
          });
          await eventually(
            () => [partitionsOf(busy.assignment()), partitionsOf(other.assignment())] as const,
            ([ofBusy, ofOther]) => ofBusy.length === 1 && ofOther.length === 1 && intersect(ofBusy, ofOther).length === 0,
            'both members to own one partition each',
          );
          const busyPartition = busy.assignment()[0]?.partition ?? -1;
          const ofOther = partitionsOf(other.assignment());
          revokedFromOther.length = 0;
          await producer.send(recordsTo(topic, busyPartition, 'long', 1));

          expect(await withDeadline(finished.promise, 'the long batch to finish', minSessionTimeoutMs * 5)).toBe(true);
          expect(partitionsOf(other.assignment())).toEqual(ofOther);
          expect(revokedFromOther).toEqual([]);
          await eventually(() => admin.committedOffsets(groupId, topic), (offsets) => offsets.get(busyPartition) === 1, 'the commit made after the long batch');
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('broker limits and missing topics', () => {
      it(
        "refuses a partition's record batch above max.message.bytes (MESSAGE_TOO_LARGE) as RECORD_TOO_LARGE, not retriable, and writes the other partitions",
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          // A record batch is 61 bytes of header plus, per record, its varint-framed fields: with no
          // key or headers and a 130-byte value that is 61 + 139 = 200 bytes.
          const topic = await createTopic(admin, { topic: uniqueName('conf-size'), partitions: 2, config: { 'max.message.bytes': '200' } });
          const producer = await connectedProducer(t);
          const record = (partition: number, size: number, timestamp = 1_700_000_000_000) => ({ topic, partition, key: null, value: Buffer.alloc(size, 97), timestamp });

          await producer.send([record(0, 130)]);
          const tooLarge = await rejectionOf(producer.send([record(0, 10), record(1, 131)]));
          expect(tooLarge).toBeInstanceOf(TransportError);
          expect(tooLarge).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
          expect((tooLarge as Error).message).toContain('MESSAGE_TOO_LARGE');
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 2], [1, 0]]));

          // The limit is per batch: records that fit one by one are refused together.
          const together = await rejectionOf(producer.send([record(1, 70), record(1, 70)]));
          expect(together).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
          await producer.send([record(1, 60), record(1, 60)]);
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 2], [1, 2]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'cuts a send into requests below maxRequestBytes, and refuses a record that fits in none before writing anything',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-split-send') });
          const producer = await connectedProducer(t);
          const record = (size: number) => ({ topic, partition: 0, key: null, value: Buffer.alloc(size, 97) });

          // 1.2 MB for one partition: one request would be over the broker's 1048588 bytes, two are not.
          await producer.send([record(400_000), record(400_000), record(400_000)]);
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 3]]));

          // The default maxRequestBytes is 1 MiB - 64 KiB on both transports.
          const alone = await rejectionOf(producer.send([record(10), record(1_000_000)]));
          expect(alone).toBeInstanceOf(TransportError);
          expect(alone).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 3]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'in a transaction, refuses a batch over max.message.bytes as TRANSACTION_FAILED and a record too large for a request as RECORD_TOO_LARGE; the transaction still commits',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-size-txn'), config: { 'max.message.bytes': '200' } });
          const producer = await connectedProducer(t, { transactionalId: uniqueName('conf-size-txn-producer') });
          const transaction = await producer.transaction();

          const overTopicLimit = await rejectionOf(transaction.send([{ topic, key: null, value: Buffer.alloc(500, 97) }]));
          expect(overTopicLimit).toMatchObject({ code: 'TRANSACTION_FAILED', retriable: false });
          expect((overTopicLimit as Error).message).toContain('MESSAGE_TOO_LARGE');
          const overRequestLimit = await rejectionOf(transaction.send([{ topic, key: null, value: Buffer.alloc(1_000_000, 97) }]));
          expect(overRequestLimit).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });

          await transaction.send([text(topic, 'k', 'small')]);
          await transaction.commit();
          // The small record and the commit marker, which Kafka writes just after commit() returns.
          await eventually(() => admin.endOffsets(topic), (ends) => ends.get(0) === 2, 'the end offset to pass the small record and the commit marker');
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'fails a send to a missing topic as retriable after a bounded wait, creating and writing nothing, and sends once the topic appears',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const existing = await createTopic(admin, { topic: uniqueName('conf-exists') });
          const missing = uniqueName('conf-missing-topic');
          const producer = await connectedProducer(t);

          const error = await rejectionOf(producer.send([text(existing, 'k', 'v'), text(missing, 'k', 'v')]));
          expect(error).toBeInstanceOf(TransportError);
          expect(error).toMatchObject({ code: 'TRANSPORT_FAILED', retriable: true });
          expect((error as Error).message).toContain('UNKNOWN_TOPIC_OR_PARTITION');
          expect((error as Error).message).toContain(missing);
          expect(await admin.listTopics()).not.toContain(missing);
          expect(await admin.endOffsets(existing)).toEqual(new Map([[0, 0]]));

          const later = uniqueName('conf-later-topic');
          const sending = producer.send([text(later, 'k', 'v')]);
          await createTopic(admin, { topic: later });
          await withDeadline(sending, 'the send to go through once the topic exists');
          expect(await admin.endOffsets(later)).toEqual(new Map([[0, 1]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'refuses keyless records on a compacted topic as INVALID_RECORD, not retriable, and writes the other partitions',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-keyless'), partitions: 2, config: { 'cleanup.policy': 'compact' } });
          const producer = await connectedProducer(t);

          const error = await rejectionOf(
            producer.send([
              { topic, partition: 0, key: null, value: Buffer.from('keyless') },
              { topic, partition: 1, key: Buffer.from('k'), value: Buffer.from('keyed') },
            ]),
          );
          expect(error).toBeInstanceOf(TransportError);
          expect(error).toMatchObject({ code: 'TRANSPORT_FAILED', retriable: false });
          expect((error as Error).message).toContain('INVALID_RECORD');
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 0], [1, 1]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'refuses a record for a partition the topic does not have, not retriable, naming it, and writes nothing of that send',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-no-partition'), partitions: 2 });
          const producer = await connectedProducer(t);

          const error = await rejectionOf(
            producer.send([
              { topic, partition: 1, key: Buffer.from('k'), value: Buffer.from('fine') },
              { topic, partition: 5, key: Buffer.from('k'), value: Buffer.from('nowhere') },
            ]),
          );
          expect(error).toBeInstanceOf(TransportError);
          expect(error).toMatchObject({ retriable: false });
          expect((error as Error).message).toContain(`partition 5 of topic ${topic} does not exist (it has 2)`);
          expect(await admin.endOffsets(topic)).toEqual(new Map([[0, 0], [1, 0]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'fails a transactional send and sendOffsets naming a missing topic as retriable, and the transaction still commits',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-txn-missing') });
          const producer = await connectedProducer(t, { transactionalId: uniqueName('conf-txn-missing-producer') });
          const transaction = await producer.transaction();

          const send = await rejectionOf(transaction.send([text(uniqueName('conf-txn-nowhere'), 'k', 'v')]));
          expect(send).toBeInstanceOf(TransportError);
          expect(send).toMatchObject({ code: 'TRANSACTION_FAILED', retriable: true });
          expect((send as Error).message).toContain('UNKNOWN_TOPIC_OR_PARTITION');
          const groupId = uniqueName('conf-txn-missing-group');
          const offsets = await rejectionOf(transaction.sendOffsets({ groupId, offsets: [{ topic: uniqueName('conf-txn-nowhere'), partition: 0, offset: 1 }] }));
          expect(offsets).toMatchObject({ code: 'TRANSACTION_FAILED', retriable: true });

          await transaction.send([text(topic, 'k', 'v')]);
          await transaction.commit();
          const seen = await readAll(t, topic, 'read_committed');
          await seen.until((records) => records.length === 1, 'the committed record');
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'refuses to subscribe to a missing topic as retriable, creating nothing',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const existing = await createTopic(admin, { topic: uniqueName('conf-sub-exists') });
          const missing = uniqueName('conf-sub-missing');
          const consumer = await connectedConsumer(t, { groupId: uniqueName('conf-sub-group') });

          const error = await rejectionOf(consumer.subscribe({ topics: [existing, missing] }));
          expect(error).toBeInstanceOf(TransportError);
          expect(error).toMatchObject({ code: 'TRANSPORT_FAILED', retriable: true });
          expect((error as Error).message).toContain('UNKNOWN_TOPIC_OR_PARTITION');
          expect(await admin.listTopics()).not.toContain(missing);
        },
        SCENARIO_TIMEOUT_MS,
      );
    });

    describe('transactions', () => {
      it(
        'read_committed sees committed transactions only, and nothing past a transaction still open',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-txn') });
          const producer = await connectedProducer(t, { transactionalId: uniqueName('conf-txn-producer') });

          const committed = await producer.transaction();
          await committed.send([text(topic, 'a', 'committed-1'), text(topic, 'b', 'committed-2')]);
          await committed.commit();
          const aborted = await producer.transaction();
          await aborted.send([text(topic, 'a', 'aborted-1'), text(topic, 'b', 'aborted-2')]);
          await aborted.abort();
          const open = await producer.transaction();
          await open.send([text(topic, 'a', 'open-1')]);
          const plain = await connectedProducer(t);
          await plain.send([text(topic, 'c', 'after-open')]);

          const readCommitted = await readAll(t, topic, 'read_committed');
          await readCommitted.until((records) => records.length >= 2, 'the committed transaction');

          const readUncommitted = await readAll(t, topic, 'read_uncommitted');
          await readUncommitted.until((records) => records.some((r) => str(r.value) === 'after-open'), 'everything, uncommitted included');
          expect(values(readUncommitted.records)).toEqual(['committed-1', 'committed-2', 'aborted-1', 'aborted-2', 'open-1', 'after-open']);
          // The uncommitted reader got everything; the committed one must still stop at the open transaction.
          expect(values(readCommitted.records)).toEqual(['committed-1', 'committed-2']);
          // So does the end offset: the open transaction's first record (committed 0-1, marker 2,
          // aborted 3-4, marker 5, open-1 at 6), not the high watermark past 'after-open'.
          await eventually(() => admin.endOffsets(topic), (ends) => ends.get(0) === 6, 'the end offset to settle at the open transaction');

          await open.commit();
          await readCommitted.until((records) => records.some((r) => str(r.value) === 'after-open'), 'the rest after the commit');
          expect(values(readCommitted.records)).toEqual(['committed-1', 'committed-2', 'open-1', 'after-open']);
          // open-1 6, after-open 7, the commit marker 8.
          await eventually(() => admin.endOffsets(topic), (ends) => ends.get(0) === 9, 'the end offset to pass the commit marker');
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'sendOffsets commits group offsets with the transaction, and an aborted transaction commits none',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const input = await createTopic(admin, { topic: uniqueName('conf-eos-in'), partitions: 2 });
          const output = await createTopic(admin, { topic: uniqueName('conf-eos-out') });
          const groupId = uniqueName('conf-eos-group');
          const plain = await connectedProducer(t);
          await plain.send([...recordsTo(input, 0, 'in-p0', 10), ...recordsTo(input, 1, 'in-p1', 10)]);
          const producer = await connectedProducer(t, { transactionalId: uniqueName('conf-eos-producer') });

          const first = await producer.transaction();
          await first.send([text(output, 'k', 'out-1')]);
          await first.sendOffsets({ groupId, offsets: [{ topic: input, partition: 0, offset: 3 }] });
          await first.commit();
          await eventually(() => admin.committedOffsets(groupId, input), (offsets) => offsets.get(0) === 3, 'the committed transaction offsets');

          const second = await producer.transaction();
          await second.send([text(output, 'k', 'out-2')]);
          await second.sendOffsets({ groupId, offsets: [{ topic: input, partition: 0, offset: 7 }] });
          await second.abort();

          const third = await producer.transaction();
          await third.send([text(output, 'k', 'out-3')]);
          await third.sendOffsets({ groupId, offsets: [{ topic: input, partition: 1, offset: 2 }] });
          await third.commit();
          // The third commit is visible only after the abort before it was applied, so partition 0 is final here.
          await eventually(() => admin.committedOffsets(groupId, input), (offsets) => offsets.get(1) === 2, 'the third transaction offsets');
          expect(await admin.committedOffsets(groupId, input)).toEqual(new Map([[0, 3], [1, 2]]));

          const consumer = await connectedConsumer(t, { groupId });
          const seen = new Collector();
          await consumer.subscribe({ topics: [input] });
          await consumer.run({ eachBatch: seen.handler() });
          await seen.until((records) => records.length >= 7 + 8, 'the group to resume at the transaction offsets');
          expect(firstOffsetByPartition(seen.records)).toEqual(new Map([[0, 3], [1, 2]]));
        },
        SCENARIO_TIMEOUT_MS,
      );

      it(
        'a newer producer with the same transactionalId fences the older one and aborts its open transaction',
        async () => {
          const t = await transport();
          const admin = await connectedAdmin(t);
          const topic = await createTopic(admin, { topic: uniqueName('conf-fence') });
          const transactionalId = uniqueName('conf-fence-producer');

          const older = await connectedProducer(t, { transactionalId });
          const zombie = await older.transaction();
          await zombie.send([text(topic, 'k', 'zombie')]);

          const newer = await connectedProducer(t, { transactionalId });
          const current = await newer.transaction();
          await current.send([text(topic, 'k', 'current')]);
          await current.commit();

          const error = await rejectionOf(zombie.commit());
          expect(error).toBeInstanceOf(TransportError);
          expect((error as TransportError).code).toBe('TRANSACTION_FAILED');
          expect((error as TransportError).retriable).toBe(false);

          const seen = await readAll(t, topic, 'read_committed');
          await seen.until((records) => records.some((r) => str(r.value) === 'current'), "the newer producer's record");
          expect(values(seen.records)).toEqual(['current']);
        },
        SCENARIO_TIMEOUT_MS,
      );
    });
  });
}

/** A member of a 'copartitioned' group reading `topics`; only its assignment matters here. */
async function startCopartitionedMember(transport: Transport, groupId: string, topics: readonly string[]): Promise<TransportConsumer> {
  const consumer = await connectedConsumer(transport, { groupId, assignment: 'copartitioned' });
  await consumer.subscribe({ topics });
  await consumer.run({ eachBatch: async () => undefined });
  return consumer;
}

function partitionsOfTopic(tps: readonly TopicPartition[], topic: string): number[] {
  return partitionsOf(tps.filter((tp) => tp.topic === topic));
}
