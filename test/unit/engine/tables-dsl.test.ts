import { describe, expect, it } from 'vitest';
import {
  StreamRecord,
  StreamsBuilder,
  TimeWindows,
  Topology,
  TopologyError,
  materialize,
  type AggregateNode,
  type JoinNode,
  type KStream,
  type TableSourceNode,
} from '../../../src/index.ts';

interface Rating {
  readonly userId: string;
  readonly score: number;
}
interface User {
  readonly name: string;
}

const defaults = { defaultKeySerde: 'string', defaultValueSerde: 'json' } as const;

function record<K, V>(key: K | null, value: V): StreamRecord<K, V> {
  return new StreamRecord(key, value, {}, 0, { topic: 't', partition: 0, offset: 0 }, []);
}

function buildError(compose: (builder: StreamsBuilder) => void, options: ConstructorParameters<typeof StreamsBuilder>[0] = defaults): TopologyError {
  const builder = new StreamsBuilder(options);
  compose(builder);
  try {
    builder.build();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError);
    return error as TopologyError;
  }
  throw new Error('build() did not throw');
}

describe('builder.table() and globalTable()', () => {
  it('adds a table node with a generated store name whose changelog is the source topic', () => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users');
    const topology = builder.build();
    const node = topology.node(users.nodeName) as TableSourceNode;
    expect(node).toMatchObject({ kind: 'table', type: 'table', name: 'KTABLE-SOURCE-0000000000', topic: 'users', internal: false });
    expect(node.store).toEqual({ name: 'users-STATE-STORE-0000000001', layers: {}, changelog: { topic: 'users', internal: false } });
    expect(users.storeName).toBe('users-STATE-STORE-0000000001');
  });

  it('takes a node name, a store name and the store layers, which materialize() accepts as they are', async () => {
    const builder = new StreamsBuilder(defaults);
    const loader = async (id: string): Promise<User | undefined> => (id === 'u9' ? { name: 'loaded' } : undefined);
    const users = builder.table<string, User>('users', { name: 'users-table', store: { name: 'users', cache: { maxEntries: 10 }, loader } });
    const topology = builder.build();
    expect(topology.describe().toString()).toContain('Source:    users-table (table, topic: users, serdes: string/json, store: users)');
    const [{ node, store } = { node: '', store: undefined }] = topology.stores();
    expect(node).toBe(users.nodeName);
    expect(store?.layers.loader).toBe(loader);
    const { store: kv } = materialize({
      name: store?.name ?? '',
      keySerde: topology.serde(node, 'keySerde'),
      valueSerde: topology.serde(node, 'valueSerde'),
      ...store?.layers,
    });
    await kv.init();
    await kv.put('u1', { name: 'Ada' });
    expect(await kv.get('u1')).toEqual({ name: 'Ada' });
    expect(await kv.get('u9')).toEqual({ name: 'loaded' });
    await kv.close();
  });

  it('puts a global table in a sub-topology of its own', () => {
    const builder = new StreamsBuilder(defaults);
    builder.globalTable('products', { name: 'products' });
    builder.stream('ratings').to('out');
    expect(builder.build().describe().toString()).toContain('Sub-topology: 0 for global store (will not generate tasks)\n    Source:    products (globalTable, topic: products');
  });
});

/** A stream after each kind of step, and whether a join after it must repartition. */
const steps: Array<[string, (stream: KStream<string, Rating>) => KStream<string, Rating>, boolean]> = [
  ['selectKey', (s) => s.selectKey((_k, r) => r.userId), true],
  ['map', (s) => s.map((_k, r) => ({ key: r.userId, value: r })), true],
  ['flatMap', (s) => s.flatMap((_k, r) => [{ key: r.userId, value: r }]), true],
  ['pipe', (s) => s.pipe((source) => source), true],
  ['transform', (s) => s.transform(() => (source) => source), true],
  ['mapValues', (s) => s.mapValues((r) => r), false],
  ['filter', (s) => s.filter(() => true), false],
  ['filterNot', (s) => s.filterNot(() => false), false],
  ['peek', (s) => s.peek(() => undefined), false],
  ['flatMapValues', (s) => s.flatMapValues((r) => [r]), false],
  ['split branch', (s) => s.split().branch(() => true, { name: 'a' }).noDefaultBranch().a, false],
  ['selectKey then mapValues', (s) => s.selectKey((_k, r) => r.userId).mapValues((r) => r), true],
  ['selectKey then repartition', (s) => s.selectKey((_k, r) => r.userId).repartition({ name: 'explicit' }), false],
  ['merge with a rekeyed stream', (s) => s.merge(s.selectKey((_k, r) => r.userId)), true],
];

describe('automatic repartitioning before a co-partitioned join', () => {
  it.each(steps)('after %s: repartition %s', (_label, step, repartitions) => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users');
    const before = step(builder.stream<string, Rating>('ratings'));
    before.join(users, (rating, user) => ({ ...rating, name: user.name }), { name: 'join' }).to('out');
    const topology = builder.build();
    const [parent] = topology.node('join').parents;
    if (!repartitions) {
      expect(parent).toBe(before.nodeName);
      return;
    }
    expect(parent).toBe(`${before.nodeName}-source`);
    expect(topology.node(`${before.nodeName}-sink`)).toMatchObject({ kind: 'sink', type: 'repartition', topic: `${before.nodeName}-repartition`, internal: true });
    expect(Topology.topicName({ topic: `${before.nodeName}-repartition`, internal: true }, 'app')).toBe(`app-${before.nodeName}-repartition`);
  });

  it('never repartitions for a global table, and reuses one repartition for two joins', () => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users');
    const accounts = builder.table<string, User>('accounts');
    const products = builder.globalTable<string, User>('products');
    const rekeyed = builder.stream<string, Rating>('ratings').selectKey((_k, r) => r.userId, { name: 'rekey' });
    rekeyed.join(products, (k) => k ?? '', (r) => r, { name: 'global' }).to('a');
    rekeyed.join(users, (r) => r, { name: 'j1', repartitionName: 'by-user' }).to('b');
    rekeyed.leftJoin(accounts, (r) => r, { name: 'j2' }).to('c');
    const topology = builder.build();
    expect(topology.node('global').parents).toEqual(['rekey']);
    expect(topology.node('j1').parents).toEqual(['by-user-source']);
    expect(topology.node('j2').parents).toEqual(['by-user-source']);
    expect(topology.nodes.filter((n) => n.type === 'repartition' && n.kind === 'sink')).toHaveLength(1);
  });

  it('keeps the key-changed mark through a global join, so a later co-partitioned join still repartitions', () => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users');
    const products = builder.globalTable<string, User>('products');
    const rekeyed = builder.stream<string, Rating>('ratings').selectKey((_k, r) => r.userId, { name: 'rekey' });
    const withProduct = rekeyed.join(products, (k) => k ?? '', (r) => r, { name: 'global' });
    withProduct.join(users, (r) => r, { name: 'j' }).to('out');
    withProduct.join(users, (r) => r, { name: 'j2' }).join(users, (r) => r, { name: 'j3' }).to('out2');
    const topology = builder.build();
    expect(topology.node('j').parents).toEqual(['global-source']);
    expect(topology.node('j3').parents).toEqual(['j2']);
  });

  it('shows the repartition topic in describe()', () => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users', { name: 'users', store: { name: 'users-store' } });
    builder
      .stream<string, Rating>('ratings', { name: 'ratings' })
      .selectKey((_k, r) => r.userId, { name: 'by-user' })
      .leftJoin(users, (rating, user) => ({ ...rating, name: user?.name ?? null }), { name: 'enrich' })
      .to('enriched', { name: 'write' });
    const description = builder.build().describe();
    expect(description.toString()).toBe(
      [
        'Topologies:',
        '  Sub-topology: 0',
        '    Source:    users (table, topic: users, serdes: string/json, store: users-store)',
        '    Source:    by-user-source (repartition, topic: by-user-repartition [internal], serdes: string/json)',
        '      --> enrich',
        '    Processor: enrich (leftJoin, table: users, store: users-store)',
        '      --> write',
        '      <-- by-user-source',
        '    Sink:      write (to, topic: enriched, serdes: string/json)',
        '      <-- enrich',
        '  Sub-topology: 1',
        '    Source:    ratings (stream, topic: ratings, serdes: string/json)',
        '      --> by-user',
        '    Processor: by-user (selectKey)',
        '      --> by-user-sink',
        '      <-- ratings',
        '    Sink:      by-user-sink (repartition, topic: by-user-repartition [internal], serdes: string/json)',
        '      <-- by-user',
        '',
      ].join('\n'),
    );
    const mermaid = description.toMermaid();
    expect(mermaid).toContain('by_user_sink --> topic_by_user_repartition');
    expect(mermaid).toContain('topic_by_user_repartition --> by_user_source');
    expect(mermaid).toContain('store_users_store[["store: users-store"]]');
    expect(mermaid).toContain('enrich -.- store_users_store');
  });
});

describe('join nodes as plain data', () => {
  it('look up by the record key, or by the key selector for a global table, and join values', () => {
    const builder = new StreamsBuilder(defaults);
    const users = builder.table<string, User>('users');
    const products = builder.globalTable<string, User>('products');
    const ratings = builder.stream<string, Rating>('ratings');
    ratings.join(users, (rating, user, rec) => `${rec.key}:${rating.score}:${user.name}`, { name: 'j' }).to('a');
    ratings.leftJoin(products, (_k, rating) => `p-${rating.userId}`, (rating, product) => product?.name ?? `none:${rating.score}`, { name: 'g' }).to('b');
    const topology = builder.build();
    const join = topology.node('j') as JoinNode;
    const global = topology.node('g') as JoinNode;
    expect(join).toMatchObject({ kind: 'join', joinType: 'inner', table: users.nodeName, store: users.storeName, global: false });
    expect(global).toMatchObject({ kind: 'join', joinType: 'left', table: products.nodeName, store: products.storeName, global: true });
    const input = record('r1', { userId: 'u1', score: 4 });
    expect(join.lookupKey(input)).toBe('r1');
    expect(join.joiner(input, { name: 'Ada' })).toBe('r1:4:Ada');
    expect(global.lookupKey(input)).toBe('p-u1');
    expect(global.joiner(input, null)).toBe('none:4');
  });
});

describe('aggregations', () => {
  it('groupByKey on an unchanged key aggregates in place; the store has its own changelog', () => {
    const builder = new StreamsBuilder(defaults);
    const counts = builder.stream<string, Rating>('ratings', { name: 'ratings' }).groupByKey().count({ name: 'count', store: { name: 'counts' } });
    const topology = builder.build();
    const node = topology.node('count') as AggregateNode;
    expect(node).toMatchObject({ kind: 'aggregate', operation: 'count', parents: ['ratings'], window: undefined, valueSerde: 'json' });
    expect(node.store.changelog).toEqual({ topic: 'counts-changelog', internal: true });
    expect(Topology.topicName(node.store.changelog, 'app')).toBe('app-counts-changelog');
    expect(counts.storeName).toBe('counts');
    expect(topology.describe().toString()).toContain('Processor: count (count, serdes: string/json, store: counts, changelog: counts-changelog [internal])');
  });

  it('groupBy inserts a repartition topic named after the store, or the grouping name', () => {
    const builder = new StreamsBuilder(defaults);
    const ratings = builder.stream<string, Rating>('ratings');
    ratings.groupBy((_k, r) => r.userId).reduce((a, b) => (a.score > b.score ? a : b), { name: 'best', store: { name: 'best-store' } });
    ratings.groupBy((_k, r) => r.userId, { name: 'by-user' }).count({ name: 'n' });
    const topology = builder.build();
    expect(topology.node('best').parents).toEqual(['best-store-source']);
    expect(topology.node('best-store-sink')).toMatchObject({ topic: 'best-store-repartition', internal: true });
    expect(topology.node('n').parents).toEqual(['by-user-source']);
  });

  it('updates: count counts, reduce starts from the first value, aggregate from the initializer', () => {
    const builder = new StreamsBuilder(defaults);
    const grouped = builder.stream<string, Rating>('ratings').groupByKey();
    grouped.count({ name: 'c' });
    grouped.reduce((a, b) => ({ userId: a.userId, score: a.score + b.score }), { name: 'r' });
    grouped.aggregate(() => 10, (_k, r, sum) => sum + r.score, { name: 'a' });
    const topology = builder.build();
    const run = (name: string) => {
      const { update } = topology.node(name) as AggregateNode;
      const first = update(undefined, record('k', { userId: 'u', score: 2 }));
      return update(first, record('k', { userId: 'u', score: 3 }));
    };
    expect(run('c')).toBe(2);
    expect(run('r')).toEqual({ userId: 'u', score: 5 });
    expect(run('a')).toBe(15);
  });

  it('windowed aggregations carry the window and the emit strategy, shown by describe()', () => {
    const builder = new StreamsBuilder(defaults);
    builder
      .stream<string, Rating>('ratings')
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeWithGrace(60_000, 5_000).advanceBy(30_000))
      .count({ name: 'per-minute', store: { name: 'per-minute' }, emit: 'onWindowClose' })
      .toStream({ name: 'changes' })
      .to('counts');
    const topology = builder.build();
    expect(topology.node('per-minute')).toMatchObject({ window: { sizeMs: 60_000, advanceMs: 30_000, graceMs: 5_000 }, emit: 'onWindowClose' });
    expect(topology.node('changes')).toMatchObject({ kind: 'processor', type: 'toStream', parents: ['per-minute'] });
    expect(topology.describe().toString()).toContain(
      'Processor: per-minute (count, serdes: string/json, store: per-minute, changelog: per-minute-changelog [internal], window: size 60000 ms, advance 30000 ms, grace 5000 ms, emit onWindowClose)',
    );
  });
});

describe('validation of tables, joins and stores at build()', () => {
  it('names the table and the serde option it misses', () => {
    const error = buildError((b) => b.table('users', { name: 'users', keySerde: 'string' }), {});
    expect(error.message).toMatch(/^users: option valueSerde is missing; pass \{ valueSerde \} to table\(\)/);
  });

  it('names the aggregation whose store misses a serde', () => {
    const error = buildError((b) => b.stream('in', { keySerde: 'string', valueSerde: 'json' }).groupByKey().reduce((a) => a, { name: 'sum' }), {});
    expect(error.message).toMatch(/^sum: option keySerde is missing; pass \{ keySerde \} to reduce\(\)/);
  });

  it('says where to give the serdes of a repartition topic a join inserted', () => {
    const error = buildError(
      (b) => {
        const users = b.table('users', { keySerde: 'string', valueSerde: 'json' });
        b.stream('ratings', { keySerde: 'string', valueSerde: 'json' }).selectKey((k) => k, { name: 'rekey' }).join(users, (r) => r).to('out', { keySerde: 'string', valueSerde: 'json' });
      },
      {},
    );
    expect(error.message).toMatch(/^rekey-sink: option keySerde is missing; pass \{ keySerde \} to repartition\(\) \(or to the join\(\), groupBy\(\) or groupByKey\(\) that inserted it\)/);
  });

  it('refuses a join with a table of another builder', () => {
    const other = new StreamsBuilder(defaults).table<string, User>('users', { name: 'users' });
    const error = buildError((b) => b.stream<string, Rating>('ratings').join(other, (r) => r, { name: 'enrich' }).to('out'));
    expect(error.message).toMatch(/^enrich: option table: users was built by another StreamsBuilder/);
  });

  it('refuses two stores with one name, and a name that cannot name a changelog topic', () => {
    const duplicate = buildError((b) => {
      b.table('users', { store: { name: 'shared' } });
      b.stream('in').groupByKey().count({ name: 'n', store: { name: 'shared' } });
    });
    expect(duplicate.message).toMatch(/^n: store name shared is already used by KTABLE-SOURCE-0000000000/);
    const invalid = buildError((b) => b.table('users', { name: 'users', store: { name: 'my store' } }));
    expect(invalid.message).toMatch(/^users: option store.name "my store" is invalid/);
  });

  it('refuses a topic read both as a stream and as a table', () => {
    const error = buildError((b) => {
      b.table('users', { name: 'users-table' });
      b.stream('users', { name: 'users-stream' }).to('out');
    });
    expect(error.message).toMatch(/^users-stream: topic users is already read by users-table/);
  });
});
