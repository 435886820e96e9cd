/**
 * `StreamsApp.storeStats()`: per open store and partition, its live size and its LRU cache's
 * counters, as a dashboard (or `npm start`'s summary line) reads them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { consumeUntil, createTopics, produce } from '../../support/streams-harness.ts';

interface User {
  readonly name: string;
}

interface Rating {
  readonly userId: string;
  readonly score: number;
}

function topology() {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const users = builder.table<string, User>('users', { store: { name: 'users', cache: { maxEntries: 100 } } });
  const ratings = builder.stream<string, Rating>('ratings');
  ratings.leftJoin(users, (rating, user) => ({ ...rating, name: user?.name ?? null })).to('enriched');
  ratings.groupByKey().count({ store: { name: 'ratings-per-user' } });
  return builder.build();
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
let app: StreamsApp | undefined;

afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('StreamsApp.storeStats()', () => {
  it('is empty before the app opened any store', async () => {
    const transport = new MemoryTransport();
    app = new StreamsApp(topology(), { applicationId: 'stats-empty', transport, logger: silentLogger() });
    expect(await app.storeStats()).toEqual([]);
  });

  it('gives every open store its size and its cache counters, per partition', async () => {
    const transport = new MemoryTransport();
    await createTopics(transport, [{ topic: 'users' }, { topic: 'ratings' }, { topic: 'enriched' }]);
    await produce(transport, [
      { topic: 'users', key: Buffer.from('u1'), value: json({ name: 'Ada' }) },
      { topic: 'users', key: Buffer.from('u2'), value: json({ name: 'Bob' }) },
      { topic: 'users', key: Buffer.from('u3'), value: json({ name: 'Cy' }) },
      { topic: 'users', key: Buffer.from('u3'), value: null },
    ]);
    app = new StreamsApp(topology(), { applicationId: 'stats', transport, logger: silentLogger() });
    await app.start();
    const userIds = ['u1', 'u1', 'u2', 'u9', 'u9'];
    await produce(transport, userIds.map((userId) => ({ topic: 'ratings', key: Buffer.from(userId), value: json({ userId, score: 4 }) })));
    await consumeUntil(transport, 'enriched', (records) => records.length === userIds.length);

    const stats = await app.storeStats();
    expect(stats.map(({ name, partition, backend, approximateSize }) => ({ name, partition, backend, approximateSize }))).toEqual([
      { name: 'ratings-per-user', partition: 0, backend: 'memory', approximateSize: 3 },
      // u3 was deleted: a tombstone is not a live key.
      { name: 'users', partition: 0, backend: 'memory', approximateSize: 2 },
    ]);
    expect(stats[0]?.cache).toBeUndefined();
    const cache = stats[1]?.cache;
    // Restoring wrote u1 and u2 through the cache, so their lookups hit; u9 was never seen: the
    // first lookup misses and caches "unknown", the second hits it.
    expect(cache).toMatchObject({ hits: 4, misses: 1, evictions: 0 });
  });

  it('leaves a size it cannot read undefined instead of failing', async () => {
    const transport = new MemoryTransport();
    await createTopics(transport, [{ topic: 'users' }, { topic: 'ratings' }, { topic: 'enriched' }]);
    app = new StreamsApp(topology(), { applicationId: 'stats-closed', transport, logger: silentLogger() });
    await app.start();
    const users = app.store('users');
    if (users === undefined) throw new Error('the users store is not open');
    // As a PostgreSQL-backed store answers while its database is away.
    vi.spyOn(users, 'approximateSize').mockRejectedValue(new Error('connection refused'));
    const stats = await app.storeStats();
    expect(stats.find((s) => s.name === 'users')?.approximateSize).toBeUndefined();
  });
});
