import { describe, expect, it } from 'vitest';
import { StreamsBuilder, TopologyError, type Topology } from '../../../src/index.ts';

interface Rating {
  readonly userId: string;
  readonly score: number;
}
interface User {
  readonly name: string;
}

/** ratings joined with users (co-partitioned), clicks on their own, and a global products table. */
function joined(): Topology {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const users = builder.table<string, User>('users', { name: 'users-table' });
  const products = builder.globalTable<string, { title: string }>('products', { name: 'products-table' });
  builder
    .stream<string, Rating>('ratings', { name: 'ratings-source' })
    .join(users, (rating, user) => ({ ...rating, name: user.name }), { name: 'with-user' })
    .join(products, (key) => key ?? '', (rating, product) => ({ ...rating, product: product.title }), { name: 'with-product' })
    .to('enriched');
  builder.stream('clicks', { name: 'clicks-source' }).to('clicks_out');
  return builder.build();
}

const counts =
  (table: Record<string, number>) =>
  (topic: string): number | undefined =>
    table[topic];

describe('sub-topologies and co-partition groups', () => {
  it('puts a stream and the table it joins in one sub-topology; a global table in its own, without tasks', () => {
    const subs = joined().subtopologies();
    expect(subs.map((sub) => ({ id: sub.id, global: sub.global, topics: sub.sourceTopics.map((t) => t.topic) }))).toEqual([
      { id: 0, global: false, topics: ['users', 'ratings'] },
      { id: 1, global: true, topics: ['products'] },
      { id: 2, global: false, topics: ['clicks'] },
    ]);
    expect(subs.map((sub) => sub.stores.map((s) => `${s.node}:${s.store.name}`))).toEqual([['users-table:users-STATE-STORE-0000000000'], ['products-table:products-STATE-STORE-0000000001'], []]);
  });

  it('lists the topics a join reads together, not the global table', () => {
    expect(joined().copartitionGroups()).toEqual([
      {
        topics: [
          { topic: 'ratings', internal: false },
          { topic: 'users', internal: false },
        ],
        joins: ['with-user'],
      },
    ]);
  });

  it('merges groups that share a topic', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table('users');
    const accounts = builder.table('accounts');
    const ratings = builder.stream('ratings');
    ratings.join(users, (r) => r, { name: 'j1' }).to('a');
    ratings.join(accounts, (r) => r, { name: 'j2' }).to('b');
    const [group] = builder.build().copartitionGroups();
    expect(group?.topics.map((t) => t.topic).sort()).toEqual(['accounts', 'ratings', 'users']);
    expect(group?.joins).toEqual(['j1', 'j2']);
  });

  it('follows a repartitioned stream: the repartition topic is co-partitioned with the table', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table<string, User>('users');
    builder
      .stream<string, Rating>('ratings')
      .selectKey((_key, rating) => rating.userId, { name: 'by-user' })
      .join(users, (rating, user) => ({ ...rating, name: user.name }))
      .to('enriched');
    const topology = builder.build();
    expect(topology.copartitionGroups()[0]?.topics).toEqual([
      { topic: 'by-user-repartition', internal: true },
      { topic: 'users', internal: false },
    ]);
    expect(topology.subtopologies().map((sub) => sub.sourceTopics.map((t) => t.topic))).toEqual([['users', 'by-user-repartition'], ['ratings']]);
  });
});

describe('planTasks()', () => {
  it('makes one task per partition of each sub-topology, reading partition N of each of its topics', () => {
    const plan = joined().planTasks('app', counts({ ratings: 2, users: 2, products: 1, clicks: 3 }));
    expect(plan).toEqual({
      ok: true,
      tasks: [
        { id: '0_0', subtopology: 0, partition: 0, inputs: [{ topic: 'users', partition: 0 }, { topic: 'ratings', partition: 0 }] },
        { id: '0_1', subtopology: 0, partition: 1, inputs: [{ topic: 'users', partition: 1 }, { topic: 'ratings', partition: 1 }] },
        { id: '2_0', subtopology: 2, partition: 0, inputs: [{ topic: 'clicks', partition: 0 }] },
        { id: '2_1', subtopology: 2, partition: 1, inputs: [{ topic: 'clicks', partition: 1 }] },
        { id: '2_2', subtopology: 2, partition: 2, inputs: [{ topic: 'clicks', partition: 2 }] },
      ],
    });
  });

  it('refuses joined topics with different partition counts, naming both topics and both counts', () => {
    const plan = joined().planTasks('app', counts({ ratings: 8, users: 4, products: 1, clicks: 3 }));
    expect(plan.ok).toBe(false);
    const { error } = plan as { error: TopologyError };
    expect(error).toBeInstanceOf(TopologyError);
    expect(error.message).toBe(
      'topics ratings (8 partitions) and users (4 partitions) are joined by with-user and must be co-partitioned: give them the same number of partitions',
    );
  });

  it('sizes an internal topic of a co-partition group like the group, and prefixes it with the application id', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table('users');
    builder.stream('ratings').selectKey((k) => k, { name: 'rekey' }).join(users, (r) => r).to('out');
    const plan = builder.build().planTasks('app', counts({ ratings: 5, users: 3 }));
    expect(plan.ok && plan.tasks.filter((task) => task.subtopology === 0).map((task) => task.inputs)).toEqual([0, 1, 2].map((partition) => [
      { topic: 'users', partition },
      { topic: 'app-rekey-repartition', partition },
    ]));
  });

  it('refuses an internal topic whose given count differs from the table it is joined with', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table('users');
    builder.stream('ratings').selectKey((k) => k, { name: 'rekey' }).join(users, (r) => r, { name: 'j' }).to('out');
    const plan = builder.build().planTasks('app', counts({ ratings: 5, users: 3, 'app-rekey-repartition': 5 }));
    expect(!plan.ok && plan.error.message).toMatch(/topics app-rekey-repartition \(5 partitions\) and users \(3 partitions\) are joined by j/);
  });

  it('says which topic has no known partition count', () => {
    const plan = joined().planTasks('app', counts({ ratings: 2, users: 2 }));
    expect(!plan.ok && plan.error.message).toMatch(/topic clicks of sub-topology 2: its partition count is unknown/);
  });
});
