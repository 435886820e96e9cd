/**
 * The typed `ratings_enriched` subscriber on the in-memory log: events decoded with the schema and
 * their place, every undecodable record reported (never skipped, never fatal), offsets committed
 * only after the handler resolved, a failing handler stopping the subscriber at that record so a
 * restart resumes there, batch mode, a registry decoder, and a clean stop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, DeserializationError, SchemaRegistryError } from '../../../src/errors/index.ts';
import { ratingEnrichedSerde, type RatingEnriched } from '../../../src/connectors/openclaw/rating-enriched.ts';
import {
  subscribeRatingsEnriched,
  type InvalidEnrichedRecord,
  type RatingsEnrichedMeta,
  type RatingsEnrichedSubscription,
  type SubscribeRatingsEnrichedOptions,
} from '../../../src/connectors/index.ts';
import { MemoryTransport } from '../../../src/transport/memory/index.ts';
import type { OutgoingRecord } from '../../../src/transport/transport.ts';

const TOPIC = 'ratings_enriched';
const serde = ratingEnrichedSerde();

const event = (n: number): RatingEnriched => ({
  id: `r${n}`,
  productId: 'p1',
  userId: `u${n % 3}`,
  score: 1 + (n % 5),
  comment: n % 2 === 0 ? null : `comment ${n}`,
  timestamp: 1_700_000_000_000 + n,
  userProfile: n % 3 === 0 ? null : { id: `u${n % 3}`, name: 'Ada', email: null, tier: 'gold', updatedAt: '2026-11-25T10:00:00.000Z' },
  enrichedAt: 1_800_000_000_000 + n,
});
const record = (n: number): OutgoingRecord => ({ topic: TOPIC, partition: 0, key: Buffer.from(`r${n}`), value: serde.serialize(event(n), TOPIC) });
const framed = (n: number): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), serde.serialize(event(n), TOPIC) ?? Buffer.alloc(0)]);

function deferred<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('subscribeRatingsEnriched', () => {
  let transport: MemoryTransport;
  const subscriptions: RatingsEnrichedSubscription[] = [];
  const subscribe = async (options: Partial<SubscribeRatingsEnrichedOptions> & Pick<SubscribeRatingsEnrichedOptions, 'onInvalid'> & ({ onEvent: SubscribeRatingsEnrichedOptions['onEvent'] } | { onBatch: SubscribeRatingsEnrichedOptions['onBatch'] })) => {
    const subscription = await subscribeRatingsEnriched({ transport, groupId: 'downstream', fromBeginning: true, ...options } as SubscribeRatingsEnrichedOptions);
    subscriptions.push(subscription);
    return subscription;
  };
  const committed = () => transport.broker.committedOffsets('downstream', TOPIC).get(0);
  const setUp = (records: readonly OutgoingRecord[]) => {
    transport = new MemoryTransport({ onError: () => undefined });
    transport.broker.createTopic({ topic: TOPIC, partitions: 1 });
    transport.broker.appendAll(records);
  };

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
  });

  it('hands each event to onEvent with its place, reports every record that is not an event to onInvalid in order, and commits them all', async () => {
    setUp([
      record(0),
      { topic: TOPIC, partition: 0, key: Buffer.from('garbage'), value: Buffer.from([0xff, 0xff, 0xff]) },
      { topic: TOPIC, partition: 0, key: Buffer.from('r1'), value: (serde.serialize(event(1), TOPIC) ?? Buffer.alloc(0)).subarray(0, 10) },
      { topic: TOPIC, partition: 0, key: Buffer.from('tomb'), value: null },
      { topic: TOPIC, partition: 0, key: Buffer.from('r2'), value: framed(2) },
      { topic: TOPIC, partition: 0, key: Buffer.from('not-r3'), value: serde.serialize(event(3), TOPIC) },
      record(4),
    ]);
    const seen: Array<{ offset: number; event?: RatingEnriched; meta?: RatingsEnrichedMeta; invalid?: InvalidEnrichedRecord }> = [];
    const all = deferred();
    await subscribe({
      onEvent: (e, meta) => void seen.push({ offset: meta.offset, event: e, meta }),
      onInvalid: (invalid) => {
        seen.push({ offset: invalid.offset, invalid });
        if (invalid.offset === 5) all.resolve();
      },
    });
    await all.promise;
    await expect.poll(() => seen.length).toBe(7);
    expect(seen.map((s) => [s.offset, s.event === undefined ? 'invalid' : s.event.id])).toEqual([
      [0, 'r0'],
      [1, 'invalid'],
      [2, 'invalid'],
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'invalid'],
      [6, 'r4'],
    ]);
    expect(seen[0]?.event).toEqual(event(0));
    expect(seen[0]?.meta).toMatchObject({ topic: TOPIC, partition: 0, offset: 0, key: 'r0' });
    expect(seen[6]?.event).toEqual(event(4));
    const reasons = seen.filter((s) => s.invalid !== undefined).map((s) => s.invalid as InvalidEnrichedRecord);
    for (const invalid of reasons) {
      expect(invalid).toMatchObject({ topic: TOPIC, partition: 0 });
      expect(invalid.error).toBeInstanceOf(Error);
    }
    expect(reasons[0]?.value).toEqual(Buffer.from([0xff, 0xff, 0xff]));
    expect(reasons[0]?.reason).toMatch(/Cannot deserialize avro\(com\.ubos\.openclaw\.RatingEnriched\)/);
    expect(reasons[1]?.reason).toMatch(/truncated|do not fit/);
    expect(reasons[2]?.reason).toMatch(/null value/);
    expect(reasons[3]?.reason).toMatch(/Confluent wire format \(magic byte 0, schema id 7\): subscribe with `registry`/);
    expect(reasons[4]?.reason).toMatch(/key "not-r3" is not the event's id "r3"/);
    await expect.poll(committed).toBe(7);
  });

  it('commits a record only after its handler resolved', async () => {
    setUp([record(0), record(1), record(2)]);
    const entered = deferred();
    const release = deferred();
    const handled: string[] = [];
    await subscribe({
      onEvent: async (e) => {
        if (e.id === 'r1') {
          entered.resolve();
          await release.promise;
        }
        handled.push(e.id);
      },
      onInvalid: () => undefined,
    });
    await entered.promise;
    expect(handled).toEqual(['r0']);
    expect(committed()).toBeUndefined();
    release.resolve();
    await expect.poll(committed).toBe(3);
    expect(handled).toEqual(['r0', 'r1', 'r2']);
  });

  it('stops at a handler that throws, keeps what was handled before it, and a restart resumes at that record', async () => {
    setUp([record(0), record(1), record(2), record(3)]);
    const first: string[] = [];
    const failing = await subscribe({
      onEvent: (e) => {
        if (e.id === 'r2') throw new Error('downstream database is down');
        first.push(e.id);
      },
      onInvalid: () => undefined,
    });
    await expect(failing.done).rejects.toThrow('downstream database is down');
    expect(first).toEqual(['r0', 'r1']);
    expect(committed()).toBe(2);

    const second: string[] = [];
    const resumed = await subscribe({ onEvent: (e) => void second.push(e.id), onInvalid: () => undefined });
    await expect.poll(() => second).toEqual(['r2', 'r3']);
    await resumed.stop();
    await expect(resumed.done).resolves.toBeUndefined();
  });

  it('in batch mode, commits a batch only after onBatch resolved, and a failing onBatch commits none of it', async () => {
    setUp([record(0), record(1), { topic: TOPIC, partition: 0, key: Buffer.from('bad'), value: Buffer.from('x') }, record(2)]);
    const failing = await subscribe({
      onBatch: () => {
        throw new Error('batch refused');
      },
      onInvalid: () => undefined,
    });
    await expect(failing.done).rejects.toThrow('batch refused');
    expect(committed()).toBeUndefined();

    const batches: string[][] = [];
    const invalid: number[] = [];
    await subscribe({ onBatch: (records) => void batches.push(records.map((r) => r.event.id)), onInvalid: (r) => void invalid.push(r.offset) });
    await expect.poll(committed).toBe(4);
    expect(batches.flat()).toEqual(['r0', 'r1', 'r2']);
    expect(invalid).toEqual([2]);
  });

  it('decodes through `registry` when given one: its DeserializationError is an invalid record, any other error stops the subscriber uncommitted', async () => {
    setUp([
      { topic: TOPIC, partition: 0, key: Buffer.from('r0'), value: framed(0) },
      { topic: TOPIC, partition: 0, key: Buffer.from('r1'), value: Buffer.from([1, 2, 3]) },
      { topic: TOPIC, partition: 0, key: Buffer.from('r2'), value: framed(2) },
    ]);
    let reachable = true;
    const registry = {
      decode: async (data: Buffer, topic: string): Promise<RatingEnriched | null> => {
        if (data[0] !== 0) throw new DeserializationError('not the Confluent wire format');
        if (!reachable) throw new SchemaRegistryError('registry unreachable', { retriable: true });
        return serde.deserialize(data.subarray(5), topic);
      },
    };
    const events: string[] = [];
    const invalid: string[] = [];
    const first = await subscribe({
      registry,
      onEvent: (e) => {
        events.push(e.id);
        reachable = false;
      },
      onInvalid: (r) => void invalid.push(r.reason),
    });
    await expect(first.done).rejects.toThrow('registry unreachable');
    expect(events).toEqual(['r0']);
    expect(invalid).toEqual(['not the Confluent wire format']);
    expect(committed()).toBe(2);
  });

  it('stops cleanly: done resolves, a second stop is harmless, and nothing is delivered afterwards', async () => {
    setUp([record(0)]);
    const seen: string[] = [];
    const subscription = await subscribe({ onEvent: (e) => void seen.push(e.id), onInvalid: () => undefined });
    await expect.poll(committed).toBe(1);
    await subscription.stop();
    await subscription.stop();
    await expect(subscription.done).resolves.toBeUndefined();
    transport.broker.appendAll([record(1)]);
    // The log has the new record; the stopped subscriber's group has not moved past the first.
    expect(transport.broker.endOffset(TOPIC, 0)).toBe(2);
    expect(committed()).toBe(1);
    expect(seen).toEqual(['r0']);
  });

  it('refuses options that cannot work, naming the option', async () => {
    transport = new MemoryTransport();
    const onInvalid = () => undefined;
    const onEvent = () => undefined;
    await expect(subscribeRatingsEnriched({ transport, groupId: '', onEvent, onInvalid })).rejects.toThrow(/groupId/);
    // @ts-expect-error -- both handlers, as untyped configuration could pass
    await expect(subscribeRatingsEnriched({ transport, groupId: 'g', onEvent, onBatch: onEvent, onInvalid })).rejects.toThrow(/onEvent and onBatch/);
    // @ts-expect-error -- no onInvalid
    await expect(subscribeRatingsEnriched({ transport, groupId: 'g', onEvent })).rejects.toThrow(ConfigError);
    // @ts-expect-error -- both brokers and transport
    await expect(subscribeRatingsEnriched({ transport, brokers: ['127.0.0.1:9092'], groupId: 'g', onEvent, onInvalid })).rejects.toThrow(/brokers and transport/);
  });
});
