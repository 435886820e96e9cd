/**
 * Tables, joins and aggregations on the test driver: the semantics of `topology/graph.ts`
 * ("Contract for the runtime"), checked record by record.
 */
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, TimeWindows, type Windowed } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

interface Rating {
  readonly userId: string;
  readonly productId: string;
  readonly score: number;
}
interface User {
  readonly name: string;
  readonly tier: string;
}

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

function joinTopology(kind: 'join' | 'leftJoin') {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const users = builder.table<string, User>('users', { store: { name: 'users-store' } });
  const ratings = builder.stream<string, Rating>('ratings');
  const joined =
    kind === 'join'
      ? ratings.join(users, (rating, user) => ({ ...rating, user: user.name }))
      : ratings.leftJoin(users, (rating, user) => ({ ...rating, user: user === null ? null : user.name }));
  joined.to('enriched');
  return builder.build();
}

describe('stream-table joins on the test driver', () => {
  it('joins with the newest profile: an update before a rating is seen by it', () => {
    const driver = new TopologyTestDriver(joinTopology('leftJoin'));
    const users = driver.createInputTopic<string, User | null>('users', serdes);
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    const out = driver.createOutputTopic<string, Rating & { user: string | null }>('enriched', serdes);
    users.pipeInput('u1', { name: 'Ann', tier: 'gold' });
    ratings.pipeInput('u1', { userId: 'u1', productId: 'p1', score: 5 });
    users.pipeInput('u1', { name: 'Ann B.', tier: 'gold' });
    ratings.pipeInput('u1', { userId: 'u1', productId: 'p2', score: 4 });
    expect(out.readValuesToList().map((r) => r?.user)).toEqual(['Ann', 'Ann B.']);
  });

  it('after a tombstone, the left join gives a null profile and the inner join drops the rating', () => {
    for (const kind of ['leftJoin', 'join'] as const) {
      const driver = new TopologyTestDriver(joinTopology(kind));
      const users = driver.createInputTopic<string, User | null>('users', serdes);
      const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
      const out = driver.createOutputTopic<string, Rating & { user: string | null }>('enriched', serdes);
      users.pipeInput('u1', { name: 'Ann', tier: 'gold' });
      users.pipeInput('u1', null);
      ratings.pipeInput('u1', { userId: 'u1', productId: 'p1', score: 5 });
      ratings.pipeInput('u2', { userId: 'u2', productId: 'p1', score: 3 });
      const values = out.readValuesToList();
      if (kind === 'leftJoin') expect(values.map((r) => [r?.userId, r?.user])).toEqual([['u1', null], ['u2', null]]);
      else expect(values).toEqual([]);
      // Every input is done: the commit point moved past all of them.
      expect(driver.committedOffset('ratings')).toBe(2);
      expect(driver.committedOffset('users')).toBe(2);
    }
  });

  it('exposes the table store by name, and a tombstone deletes the key from it', async () => {
    const driver = new TopologyTestDriver(joinTopology('join'));
    const users = driver.createInputTopic<string, User | null>('users', serdes);
    users.pipeInput('u1', { name: 'Ann', tier: 'gold' });
    users.pipeInput('u2', { name: 'Bob', tier: 'silver' });
    users.pipeInput('u1', null);
    const store = driver.getKeyValueStore<string, User>('users-store');
    expect(await store?.get('u1')).toBeUndefined();
    expect(await store?.get('u2')).toEqual({ name: 'Bob', tier: 'silver' });
  });

  it('a table with an LRU bound smaller than itself still joins every key at once, evicted ones included', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table<string, User>('users', { store: { name: 'small-cache', cache: { maxEntries: 2 } } });
    builder.stream<string, Rating>('ratings').join(users, (rating, user) => `${rating.productId}:${user.name}`).to('enriched');
    const driver = new TopologyTestDriver(builder.build());
    const usersIn = driver.createInputTopic<string, User>('users', serdes);
    for (let i = 0; i < 5; i++) usersIn.pipeInput(`u${i}`, { name: `user ${i}`, tier: 'x' });
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    for (let i = 0; i < 5; i++) ratings.pipeInput(`u${i}`, { userId: `u${i}`, productId: `p${i}`, score: 3 });
    // No tick(): the in-memory store behind the cache answers evicted keys synchronously.
    expect(driver.createOutputTopic<string, string>('enriched', serdes).readValuesToList()).toEqual(['p0:user 0', 'p1:user 1', 'p2:user 2', 'p3:user 3', 'p4:user 4']);
  });

  it('joins a global table on a key computed from the value', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.globalTable<string, User>('users');
    builder
      .stream<string, Rating>('ratings')
      .leftJoin(users, (_ratingId, rating) => rating.userId, (rating, user) => ({ id: rating.productId, tier: user?.tier ?? null }))
      .to('enriched');
    const driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic<string, User>('users', serdes).pipeInput('u7', { name: 'Gil', tier: 'gold' });
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    ratings.pipeInput('r1', { userId: 'u7', productId: 'p1', score: 2 });
    ratings.pipeInput('r2', { userId: 'u8', productId: 'p2', score: 2 });
    const out = driver.createOutputTopic<string, { id: string; tier: string | null }>('enriched', serdes);
    expect(out.readKeyValuesToList()).toEqual([
      { key: 'r1', value: { id: 'p1', tier: 'gold' } },
      { key: 'r2', value: { id: 'p2', tier: null } },
    ]);
  });

  it('repartitions after selectKey so records meet the table by their new key', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table<string, User>('users');
    builder
      .stream<string, Rating>('ratings')
      .selectKey((_id, rating) => rating.userId, { name: 'by-user' })
      .join(users, (rating, user) => `${rating.productId}:${user.name}`)
      .to('enriched');
    const topology = builder.build();
    expect(topology.describe().toString()).toContain('by-user-repartition');
    const driver = new TopologyTestDriver(topology, { applicationId: 'app' });
    driver.createInputTopic<string, User>('users', serdes).pipeInput('u1', { name: 'Ann', tier: 'gold' });
    driver.createInputTopic<string, Rating>('ratings', serdes).pipeInput('r1', { userId: 'u1', productId: 'p9', score: 4 });
    expect(driver.createOutputTopic<string, string>('enriched', serdes).readKeyValuesToList()).toEqual([{ key: 'u1', value: 'p9:Ann' }]);
    expect(driver.broker.hasTopic('app-by-user-repartition')).toBe(true);
  });
});

describe('aggregations on the test driver', () => {
  it('counts per key and writes every change to the changelog', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, Rating>('ratings').groupBy((_k, r) => r.productId).count({ store: { name: 'counts' } }).toStream().to('counts-out', { valueSerde: 'json' });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    ratings.pipeInput('r1', { userId: 'u1', productId: 'p1', score: 5 });
    ratings.pipeInput('r2', { userId: 'u2', productId: 'p1', score: 3 });
    ratings.pipeInput('r3', { userId: 'u2', productId: 'p2', score: 1 });
    expect(driver.createOutputTopic<string, number>('counts-out', serdes).readKeyValuesToList()).toEqual([
      { key: 'p1', value: 1 },
      { key: 'p1', value: 2 },
      { key: 'p2', value: 1 },
    ]);
    expect(driver.broker.read('app-counts-changelog', 0, 0).length).toBe(3);
  });

  it('windowed averages with grace: late records inside grace count, outside are dropped; onWindowClose emits once', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, Rating>('ratings')
      .groupBy((_k, r) => r.productId)
      .windowedBy(TimeWindows.ofSizeWithGrace(60_000, 10_000))
      .aggregate(() => ({ count: 0, sum: 0 }), (_key, rating, agg: { count: number; sum: number }) => ({ count: agg.count + 1, sum: agg.sum + rating.score }), {
        name: 'stats',
        emit: 'onWindowClose',
      })
      .toStream()
      .map((key: Windowed<string> | null, agg) => ({ key: `${key?.key}@${key?.window.start}`, value: { count: agg.count, avg: agg.sum / agg.count } }))
      .to('stats-out');
    const driver = new TopologyTestDriver(builder.build());
    const ratings = driver.createInputTopic<string, Rating>('ratings', serdes);
    const r = (score: number) => ({ userId: 'u', productId: 'p1', score });
    ratings.pipeInput('a', r(5), { timestamp: 1_000 });
    ratings.pipeInput('b', r(3), { timestamp: 59_000 });
    ratings.pipeInput('c', r(1), { timestamp: 65_000 }); // next window; stream time 65 s
    ratings.pipeInput('d', r(4), { timestamp: 30_000 }); // late but within grace (window [0,60) closes at 70 s)
    ratings.pipeInput('e', r(2), { timestamp: 71_000 }); // closes [0,60)
    ratings.pipeInput('f', r(5), { timestamp: 10_000 }); // too late: dropped
    ratings.pipeInput('g', r(1), { timestamp: 200_000 }); // closes [60,120)
    const out = driver.createOutputTopic<string, { count: number; avg: number }>('stats-out', serdes).readKeyValuesToList();
    expect(out).toEqual([
      { key: 'p1@0', value: { count: 3, avg: 4 } },
      { key: 'p1@60000', value: { count: 2, avg: 1.5 } },
    ]);
  });
});
