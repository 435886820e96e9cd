/**
 * Types flow through joins: `npm run typecheck` fails if a `@ts-expect-error` line below stops
 * being an error, i.e. if a joiner with a wrong field name or a table with the wrong key type
 * were accepted.
 */
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type KStream } from '../../../src/index.ts';

interface Rating {
  readonly userId: string;
  readonly productId: string;
  readonly score: number;
}
interface User {
  readonly name: string;
  readonly tier: 'free' | 'pro';
}
interface Product {
  readonly title: string;
}

function inputs() {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  return {
    builder,
    ratings: builder.stream<string, Rating>('ratings'),
    users: builder.table<string, User>('users'),
    usersById: builder.table<number, User>('users_by_number'),
    products: builder.globalTable<string, Product>('products'),
  };
}

describe('join types', () => {
  it('infers the joined value from the joiner', () => {
    const { ratings, users, products } = inputs();
    const enriched: KStream<string, Rating & { name: string }> = ratings.join(users, (rating, user) => ({ ...rating, name: user.name }));
    const left: KStream<string, { score: number; name: string | null }> = ratings.leftJoin(users, (rating, user) => ({ score: rating.score, name: user?.name ?? null }));
    const global: KStream<string, { title: string }> = ratings.join(products, (_key, rating) => rating.productId, (_rating, product) => ({ title: product.title }));
    expect([enriched, left, global].every((stream) => typeof stream.nodeName === 'string')).toBe(true);
  });

  it('rejects a joiner that reads a field the table value does not have', () => {
    const { ratings, users, products } = inputs();
    // @ts-expect-error -- User has `name`, not `nmae`
    ratings.join(users, (rating, user) => ({ ...rating, name: user.nmae }));
    // @ts-expect-error -- Rating has `score`, not `scor`
    ratings.join(users, (rating, user) => ({ score: rating.scor, name: user.name }));
    // @ts-expect-error -- a left join's table value may be null
    ratings.leftJoin(users, (rating, user) => ({ ...rating, name: user.name }));
    // @ts-expect-error -- Product has `title`, not `name`
    ratings.join(products, (_key, rating) => rating.productId, (rating, product) => ({ ...rating, name: product.name }));
    expect(true).toBe(true);
  });

  it('rejects a co-partitioned join with a table keyed by another type', () => {
    const { ratings, usersById } = inputs();
    // @ts-expect-error -- the stream is keyed by string, the table by number
    ratings.join(usersById, (rating, user) => ({ ...rating, name: user.name }));
    // A global table is joined on a key the selector computes, so its key type is free.
    const { products } = inputs();
    const selector: (key: string | null, rating: Rating) => number = (_key, rating) => rating.score;
    // @ts-expect-error -- the selector gives a number, the global table is keyed by string
    ratings.join(products, selector, (rating) => rating);
    expect(true).toBe(true);
  });

  it('types aggregations: count gives numbers, windowed results are keyed by Windowed<K>', () => {
    const { ratings } = inputs();
    const counts = ratings.groupBy((_key, rating) => rating.productId).count();
    const total = ratings.groupByKey().aggregate(
      () => ({ sum: 0, n: 0 }),
      (_key, rating, aggregate) => ({ sum: aggregate.sum + rating.score, n: aggregate.n + 1 }),
    );
    const perMinute = ratings.groupByKey().windowedBy({ sizeMs: 60_000 }).count().toStream();
    perMinute.mapValues((count, record) => ({ user: record.key?.key, start: record.key?.window.start, count: count + 1 }));
    // @ts-expect-error -- an aggregate without `n` is not the initializer's type
    ratings.groupByKey().aggregate(() => ({ sum: 0, n: 0 }), (_key, rating, aggregate) => ({ sum: aggregate.sum + rating.score }));
    expect([counts.storeName, total.storeName].every((name) => name.length > 0)).toBe(true);
  });
});
