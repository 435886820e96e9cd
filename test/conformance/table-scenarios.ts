/**
 * Tables, joins and aggregations on a running StreamsApp: the same scenarios on the in-memory log
 * and on a real Kafka broker, under both guarantees where it matters.
 */
import { delay, filter, mergeMap, of } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, TimeWindows, TopologyError, silentLogger, subscribeRuntimeEvents, type RuntimeEvent, type Windowed } from '../../src/index.ts';
import type { StreamsAppOptions } from '../../src/runtime/streams-app.ts';
import type { IncomingRecord, Transport } from '../../src/transport/transport.ts';
import { uniqueName } from '../support/names.ts';
import { consumeUntil, createTopics, produce, waitForCommitted } from '../support/streams-harness.ts';

interface Rating {
  readonly id: string;
  readonly userId: string;
  readonly score: number;
}
interface User {
  readonly name: string;
  readonly version: number;
}
interface Enriched extends Rating {
  readonly user: User | null;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const parse = <T>(record: IncomingRecord) => JSON.parse(record.value?.toString() ?? 'null') as T;

export interface TableConformanceSetup {
  readonly transport: Transport;
  /** Profiles pre-loaded for the restoration scenario (100,000 on Kafka). */
  readonly profiles: number;
}

export function defineTableConformance(label: string, setup: () => TableConformanceSetup | Promise<TableConformanceSetup>): void {
  describe(`tables and joins: ${label}`, () => {
    const apps: StreamsApp[] = [];
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.stop()));
    });

    function newApp(transport: Transport, build: (builder: StreamsBuilder) => void, options: Partial<StreamsAppOptions> = {}): StreamsApp {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      build(builder);
      const app = new StreamsApp(builder.build(), { applicationId: uniqueName('tables'), transport, logger: silentLogger(), commitIntervalMs: 200, ...options });
      apps.push(app);
      return app;
    }

    async function topics(transport: Transport, partitions: number, ...names: string[]): Promise<string[]> {
      const unique = names.map((name) => uniqueName(name));
      await createTopics(transport, unique.map((topic) => ({ topic, partitions })));
      return unique;
    }

    const enrich = (users: string, ratings: string, out: string, kind: 'join' | 'leftJoin') => (builder: StreamsBuilder) => {
      const table = builder.table<string, User>(users, { store: { name: 'profiles' } });
      const stream = builder.stream<string, Rating>(ratings);
      const joined =
        kind === 'join'
          ? stream.join(table, (rating, user): Enriched => ({ ...rating, user }))
          : stream.leftJoin(table, (rating, user): Enriched => ({ ...rating, user }));
      joined.to(out);
    };

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      it(`${guarantee}: a rating after a profile update joins the new profile; after a tombstone the left join gives null and the inner join drops it`, async () => {
        const { transport } = await setup();
        const [users, ratings, leftOut, innerOut] = await topics(transport, 2, 'users', 'ratings', 'left', 'inner');
        const left = newApp(transport, enrich(users as string, ratings as string, leftOut as string, 'leftJoin'), { processingGuarantee: guarantee });
        const inner = newApp(transport, enrich(users as string, ratings as string, innerOut as string, 'join'), { processingGuarantee: guarantee });
        await Promise.all([left.start(), inner.start()]);
        const step = async (records: Parameters<typeof produce>[1], waitFor: number) => {
          await produce(transport, records);
          await consumeUntil(transport, leftOut as string, (got) => got.length >= waitFor, { timeoutMs: 60_000 });
        };
        await step([{ topic: users as string, key: Buffer.from('u1'), value: json({ name: 'Ann', version: 1 }) }], 0);
        // Each rating is produced only after the previous one was joined, so the table update between them was applied.
        await step([{ topic: ratings as string, key: Buffer.from('u1'), value: json({ id: 'r1', userId: 'u1', score: 5 }) }], 1);
        await step([{ topic: users as string, key: Buffer.from('u1'), value: json({ name: 'Ann', version: 2 }) }], 1);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await step([{ topic: ratings as string, key: Buffer.from('u1'), value: json({ id: 'r2', userId: 'u1', score: 4 }) }], 2);
        await step([{ topic: users as string, key: Buffer.from('u1'), value: null }], 2);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await step([{ topic: ratings as string, key: Buffer.from('u1'), value: json({ id: 'r3', userId: 'u1', score: 1 }) }], 3);
        const leftJoined = (await consumeUntil(transport, leftOut as string, (got) => got.length >= 3)).map((r) => parse<Enriched>(r));
        expect(leftJoined.map((r) => [r.id, r.user?.version ?? null])).toEqual([['r1', 1], ['r2', 2], ['r3', null]]);
        const innerJoined = (await consumeUntil(transport, innerOut as string, (got) => got.length >= 2)).map((r) => parse<Enriched>(r));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const innerAgain = await consumeUntil(transport, innerOut as string, (got) => got.length >= 2);
        expect(innerJoined.map((r) => [r.id, r.user?.version])).toEqual([['r1', 1], ['r2', 2]]);
        expect(innerAgain.length).toBe(2);
      }, 120_000);
    }

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${guarantee}: restores every profile before the first rating is joined: no rating meets a half-restored table`, async () => {
      const { transport, profiles } = await setup();
      const [users, ratings, out] = await topics(transport, 3, 'users', 'ratings', 'out');
      // Profiles first, then one rating per 100 users, all in the log before the app starts.
      await produce(transport, Array.from({ length: profiles }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: i }) })), 2_000);
      const ratingCount = Math.ceil(profiles / 100);
      await produce(transport, Array.from({ length: ratingCount }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`u${i * 100}`), value: json({ id: `r${i}`, userId: `u${i * 100}`, score: 3 }) })));
      const events: RuntimeEvent[] = [];
      const unsubscribe = subscribeRuntimeEvents((event) => {
        if (event.type === 'restore' || event.type === 'state') events.push(event);
      });
      try {
        const app = newApp(transport, enrich(users as string, ratings as string, out as string, 'leftJoin'), { processingGuarantee: guarantee });
        const states: string[] = [];
        app.onStateChange((state) => states.push(state));
        await app.start();
        const joined = (await consumeUntil(transport, out as string, (got) => got.length >= ratingCount, { timeoutMs: 120_000 })).map((r) => parse<Enriched>(r));
        const missing = joined.filter((r) => r.user === null || r.user.name !== `user ${r.userId.slice(1)}`);
        expect(missing.map((r) => r.id)).toEqual([]);
        expect(joined.length).toBe(ratingCount);
        // The app said it was restoring, and how far: the last event per partition reports all of it.
        expect(states).toContain('restoring');
        const restoreEvents = events.filter((e): e is Extract<RuntimeEvent, { type: 'restore' }> => e.type === 'restore' && e.topic === users);
        const total = new Map<number, number>();
        for (const event of restoreEvents) if (event.done) total.set(event.partition, event.total);
        expect([...total.values()].reduce((a, b) => a + b, 0)).toBe(profiles);
      } finally {
        unsubscribe();
      }
    }, 300_000);
    }

    it('two instances split the partitions of a co-partitioned join and both join correctly', async () => {
      const { transport } = await setup();
      const [users, ratings, out] = await topics(transport, 4, 'users', 'ratings', 'out');
      const userCount = 200;
      await produce(transport, Array.from({ length: userCount }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: i }) })));
      const applicationId = uniqueName('pair');
      const build = enrich(users as string, ratings as string, out as string, 'join');
      const first = newApp(transport, build, { applicationId });
      const second = newApp(transport, build, { applicationId });
      await Promise.all([first.start(), second.start()]);
      await produce(transport, Array.from({ length: 1_000 }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`u${i % userCount}`), value: json({ id: `r${i}`, userId: `u${i % userCount}`, score: 1 + (i % 5) }) })));
      const joined = (await consumeUntil(transport, out as string, (got) => new Set(got.map((r) => parse<Enriched>(r).id)).size >= 1_000, { timeoutMs: 120_000 })).map((r) => parse<Enriched>(r));
      expect(joined.every((r) => r.user?.name === `user ${r.userId.slice(1)}`)).toBe(true);
      // Both instances own stores: each holds some profile partitions, and together all four.
      const owned = (app: StreamsApp) => [0, 1, 2, 3].filter((p) => app.store('profiles', p) !== undefined);
      expect(owned(first).length).toBeGreaterThan(0);
      expect(owned(second).length).toBeGreaterThan(0);
      expect([...owned(first), ...owned(second)].sort()).toEqual([0, 1, 2, 3]);
    }, 180_000);

    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      it(`${guarantee}: a reordering, dropping pipe() step before a join loses, repeats and mis-joins nothing`, async () => {
        const { transport } = await setup();
        const [users, ratings, out] = await topics(transport, 3, 'users', 'ratings', 'out');
        await produce(transport, Array.from({ length: 50 }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: i }) })));
        const app = newApp(
          transport,
          (builder) => {
            const table = builder.table<string, User>(users as string);
            builder
              .stream<string, Rating>(ratings as string)
              // Random delays reorder records; every tenth is dropped by the filter.
              .pipe(
                mergeMap((record) => of(record).pipe(delay(Math.floor(Math.random() * 20)))),
                filter((record) => Number(record.value.id.slice(1)) % 10 !== 0),
              )
              .join(table, (rating, user) => ({ ...rating, user }))
              .to(out as string);
          },
          { processingGuarantee: guarantee },
        );
        await app.start();
        await produce(transport, Array.from({ length: 500 }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`u${i % 50}`), value: json({ id: `r${i}`, userId: `u${i % 50}`, score: 3 }) })));
        const joined = (await consumeUntil(transport, out as string, (got) => got.length >= 450, { timeoutMs: 120_000 })).map((r) => parse<Enriched>(r));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const again = (await consumeUntil(transport, out as string, (got) => got.length >= 450)).map((r) => parse<Enriched>(r));
        const expected = Array.from({ length: 500 }, (_, i) => `r${i}`).filter((id) => Number(id.slice(1)) % 10 !== 0);
        expect(again.map((r) => r.id).sort()).toEqual(expected.sort());
        expect(joined.every((r) => r.user?.name === `user ${r.userId.slice(1)}`)).toBe(true);
        // Every input is committed, the dropped ones too.
        const committed = await waitForCommitted(transport, app.applicationId, ratings as string, 60_000);
        expect([...committed.values()].reduce((sum, offset) => sum + offset, 0)).toBe(500);
      }, 180_000);
    }

    it('an instance stopped while it restores, and another joining meanwhile: no rating meets a half-restored table', async () => {
      const { transport, profiles } = await setup();
      const [users, ratings, out] = await topics(transport, 4, 'users', 'ratings', 'out');
      const count = Math.min(profiles, 20_000);
      await produce(transport, Array.from({ length: count }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: i }) })), 2_000);
      await produce(transport, Array.from({ length: 400 }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`u${i * 37}`), value: json({ id: `r${i}`, userId: `u${i * 37}`, score: 3 }) })));
      const applicationId = uniqueName('churn');
      const build = enrich(users as string, ratings as string, out as string, 'leftJoin');
      const first = newApp(transport, build, { applicationId });
      const restoring = new Promise<void>((resolve) => first.onStateChange((state) => state === 'restoring' && resolve()));
      const firstStart = first.start().catch((error: unknown) => error);
      await restoring;
      const second = newApp(transport, build, { applicationId });
      const secondStart = second.start();
      // stop() in the middle of restoration (the second member's join makes it rebalance too).
      await first.stop();
      expect(first.state).toBe('stopped');
      await firstStart;
      await secondStart;
      const joined = (await consumeUntil(transport, out as string, (got) => new Set(got.map((r) => parse<Enriched>(r).id)).size >= 400, { timeoutMs: 120_000 })).map((r) => parse<Enriched>(r));
      expect(joined.filter((r) => r.user === null || r.user.name !== `user ${r.userId.slice(1)}`).map((r) => r.id)).toEqual([]);
    }, 240_000);

    it('refuses to start when joined topics have different partition counts, naming both', async () => {
      const { transport } = await setup();
      const users = uniqueName('users');
      const ratings = uniqueName('ratings');
      const out = uniqueName('out');
      await createTopics(transport, [{ topic: users, partitions: 2 }, { topic: ratings, partitions: 3 }, { topic: out, partitions: 1 }]);
      const app = newApp(transport, enrich(users, ratings, out, 'join'));
      const start = app.start();
      await expect(start).rejects.toBeInstanceOf(TopologyError);
      await expect(start).rejects.toThrow(`topics ${ratings} (3 partitions) and ${users} (2 partitions)`);
      expect(app.state).toBe('failed');
    }, 60_000);

    it('selectKey before a join: the repartition topic exists and records meet by their new key', async () => {
      const { transport } = await setup();
      const [users, ratings, out] = await topics(transport, 3, 'users', 'ratings', 'out');
      await produce(transport, Array.from({ length: 20 }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: 0 }) })));
      const app = newApp(transport, (builder) => {
        const table = builder.table<string, User>(users as string);
        builder
          .stream<string, Rating>(ratings as string)
          .selectKey((_ratingId, rating) => rating.userId, { name: 'by-user' })
          .join(table, (rating, user) => ({ ...rating, user }))
          .to(out as string);
      });
      expect(app.topology.describe().toString()).toContain('by-user-repartition');
      await app.start();
      // Keyed by rating id: the rating's partition has nothing to do with its user's.
      await produce(transport, Array.from({ length: 100 }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`r${i}`), value: json({ id: `r${i}`, userId: `u${i % 20}`, score: 2 }) })));
      const joined = (await consumeUntil(transport, out as string, (got) => got.length >= 100, { timeoutMs: 120_000 })).map((r) => ({ key: r.key?.toString(), value: parse<Enriched>(r) }));
      expect(joined.every(({ key, value }) => key === value.userId && value.user?.name === `user ${value.userId.slice(1)}`)).toBe(true);
      expect(new Set(joined.map((r) => r.value.id)).size).toBe(100);
      const admin = transport.admin();
      await admin.connect();
      try {
        expect(await admin.listTopics()).toContain(`${app.applicationId}-by-user-repartition`);
      } finally {
        await admin.disconnect();
      }
    }, 120_000);

    it('joins a global table that every instance restores in full before processing', async () => {
      const { transport } = await setup();
      const [users, ratings, out] = await topics(transport, 3, 'users', 'ratings', 'out');
      await produce(transport, Array.from({ length: 300 }, (_, i) => ({ topic: users as string, key: Buffer.from(`u${i}`), value: json({ name: `user ${i}`, version: 0 }) })));
      await produce(transport, Array.from({ length: 300 }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`r${i}`), value: json({ id: `r${i}`, userId: `u${i}`, score: 2 }) })));
      const app = newApp(transport, (builder) => {
        const table = builder.globalTable<string, User>(users as string, { store: { name: 'global-profiles' } });
        builder
          .stream<string, Rating>(ratings as string)
          .leftJoin(table, (_id, rating) => rating.userId, (rating, user) => ({ ...rating, user }))
          .to(out as string);
      });
      await app.start();
      const joined = (await consumeUntil(transport, out as string, (got) => got.length >= 300, { timeoutMs: 120_000 })).map((r) => parse<Enriched>(r));
      expect(joined.filter((r) => r.user === null).map((r) => r.id)).toEqual([]);
    }, 120_000);

    it('exactly-once windowed counts survive a restart: restored from the changelog, no double counting', async () => {
      const { transport } = await setup();
      const [ratings, out] = await topics(transport, 2, 'ratings', 'stats');
      const applicationId = uniqueName('windows');
      const build = (builder: StreamsBuilder) => {
        builder
          .stream<string, Rating>(ratings as string)
          .groupBy((_id, rating) => rating.userId)
          .windowedBy(TimeWindows.ofSizeWithGrace(60_000, 0))
          .count({ store: { name: 'per-minute' } })
          .toStream()
          .map((key: Windowed<string> | null, count) => ({ key: `${key?.key}@${key?.window.start}`, value: count }))
          .to(out as string);
      };
      const produceBatch = (from: number, count: number, minute: number) =>
        produce(transport, Array.from({ length: count }, (_, i) => ({ topic: ratings as string, key: Buffer.from(`r${from + i}`), value: json({ id: `r${from + i}`, userId: `u${(from + i) % 4}`, score: 1 }), timestamp: minute * 60_000 + i })));
      const first = newApp(transport, build, { applicationId, processingGuarantee: 'exactly-once' });
      await first.start();
      await produceBatch(0, 40, 0);
      await consumeUntil(transport, out as string, (got) => got.length >= 40, { timeoutMs: 60_000 });
      await first.stop();
      const second = newApp(transport, build, { applicationId, processingGuarantee: 'exactly-once' });
      await second.start();
      await produceBatch(40, 40, 0);
      const latest = new Map<string, number>();
      await consumeUntil(
        transport,
        out as string,
        (got) => {
          latest.clear();
          for (const r of got) latest.set(r.key?.toString() ?? '', parse<number>(r));
          return got.length >= 80;
        },
        { timeoutMs: 60_000 },
      );
      expect(Object.fromEntries(latest)).toEqual({ 'u0@0': 20, 'u1@0': 20, 'u2@0': 20, 'u3@0': 20 });
    }, 180_000);
  });
}
