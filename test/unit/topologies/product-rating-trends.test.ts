/**
 * Product rating trends on the test driver: one-minute windows per product, closed by stream time
 * (record timestamps), with grace, alerts and dead letters.
 */
import { describe, expect, it } from 'vitest';
import { RATING_EVENT_SCHEMA_PATH, TopologyError, avroSerdeFromFile } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import {
  productRatingTrends,
  type ProductRatingAlert,
  type ProductRatingStats,
  type ProductRatingTrendsOptions,
  type RatingEvent,
} from '../../../topologies/product-rating-trends.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

function setUp(options: ProductRatingTrendsOptions = {}) {
  const driver = new TopologyTestDriver(productRatingTrends(options), { applicationId: 'trends' });
  const ratings = driver.createInputTopic<string, RatingEvent>('ratings', serdes);
  const stats = driver.createOutputTopic<string, ProductRatingStats>('product_rating_stats', serdes);
  const alerts = driver.createOutputTopic<string, ProductRatingAlert>('rating_alerts', serdes);
  let next = 0;
  /** Pipes a rating with the Kafka record timestamp `at`. */
  const rate = (productId: string, score: number, at: number): void => {
    const id = `r${next++}`;
    ratings.pipeInput(id, { id, productId, userId: `u${next % 3}`, score, comment: null, timestamp: at }, { timestamp: at });
  };
  return { driver, ratings, stats, alerts, rate };
}

/** Key, window start, count and average of each emitted window, in a stable order. */
function summary(records: ReadonlyArray<{ key: string | null; value: ProductRatingStats | null }>) {
  return records
    .map(({ key, value }) => ({ key, start: value?.windowStart, end: value?.windowEnd, count: value?.count, average: value?.average }))
    .sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || String(a.key).localeCompare(String(b.key)));
}

describe('product rating trends', () => {
  it('counts and averages per product and minute, emitting each window once when it closes', () => {
    const { stats, rate } = setUp();
    rate('p1', 5, 1_000);
    rate('p2', 1, 2_000);
    rate('p1', 4, 20_000);
    rate('p2', 2, 59_999); // last millisecond of [0, 60 s)
    rate('p1', 3, 59_000);
    rate('p1', 3, 60_000); // first millisecond of [60 s, 120 s)
    rate('p2', 5, 69_999); // stream time 69.999 s: [0, 60 s) still open for grace (closes at 70 s)
    expect(stats.readKeyValuesToList()).toEqual([]);

    rate('p3', 4, 70_000); // closes [0, 60 s)
    expect(summary(stats.readKeyValuesToList())).toEqual([
      { key: 'p1', start: 0, end: 60_000, count: 3, average: 4 },
      { key: 'p2', start: 0, end: 60_000, count: 2, average: 1.5 },
    ]);

    rate('p3', 1, 130_000); // closes [60 s, 120 s)
    expect(summary(stats.readKeyValuesToList())).toEqual([
      { key: 'p1', start: 60_000, end: 120_000, count: 1, average: 3 },
      { key: 'p2', start: 60_000, end: 120_000, count: 1, average: 5 },
      { key: 'p3', start: 60_000, end: 120_000, count: 1, average: 4 },
    ]);
  });

  it('counts a late rating inside the grace period and drops one after it', () => {
    const { stats, rate } = setUp({ graceMs: 10_000 });
    rate('p1', 5, 10_000);
    rate('p1', 1, 65_000); // stream time 65 s
    rate('p1', 3, 30_000); // late, inside grace: [0, 60 s) closes at 70 s
    rate('p1', 2, 70_000); // closes [0, 60 s)
    rate('p1', 1, 40_000); // too late: dropped
    rate('p1', 5, 130_000); // closes [60 s, 120 s)
    expect(summary(stats.readKeyValuesToList())).toEqual([
      { key: 'p1', start: 0, end: 60_000, count: 2, average: 4 },
      { key: 'p1', start: 60_000, end: 120_000, count: 2, average: 1.5 },
    ]);
  });

  it('takes the grace period from its options', () => {
    const { stats, rate } = setUp({ graceMs: 0 });
    rate('p1', 5, 10_000);
    rate('p1', 1, 65_000); // closes [0, 60 s) at once without grace
    rate('p1', 3, 30_000); // dropped
    expect(summary(stats.readKeyValuesToList())).toEqual([{ key: 'p1', start: 0, end: 60_000, count: 1, average: 5 }]);
  });

  it('alerts only for a closed window with at least the minimum ratings averaging below the threshold', () => {
    const { stats, alerts, rate } = setUp(); // threshold 2.5, at least 5 ratings
    const window = (productId: string, scores: number[]) => scores.forEach((score, i) => rate(productId, score, 1_000 + i));
    window('low', [2, 2, 2, 2, 2]); // 5 ratings, average 2: alert
    window('few', [1, 1, 1, 1]); // average 1, but only 4 ratings
    window('edge', [2, 3, 2, 3, 2, 3]); // average exactly 2.5: not below
    window('just', [2, 2, 2, 3, 3]); // 5 ratings, average 2.4: alert
    window('good', [5, 4, 5, 4, 5]);
    expect(alerts.readKeyValuesToList()).toEqual([]); // nothing before the window closes

    rate('other', 5, 75_000);
    expect(stats.readValuesToList()).toHaveLength(5);
    const raised = alerts.readKeyValuesToList().sort((a, b) => String(a.key).localeCompare(String(b.key)));
    expect(raised).toEqual([
      { key: 'just', value: { productId: 'just', windowStart: 0, windowEnd: 60_000, count: 5, average: 2.4, reason: 'low-average', threshold: 2.5 } },
      { key: 'low', value: { productId: 'low', windowStart: 0, windowEnd: 60_000, count: 5, average: 2, reason: 'low-average', threshold: 2.5 } },
    ]);
  });

  it('takes the threshold and minimum count from its options', () => {
    const { alerts, rate } = setUp({ alertThreshold: 3, minRatings: 2 });
    rate('p1', 2, 1_000); // one rating: too few
    rate('p2', 3, 1_000);
    rate('p2', 2, 2_000); // average 2.5 < 3 over 2 ratings: alert
    rate('p3', 3, 1_000);
    rate('p3', 3, 2_000); // average 3: not below
    rate('p4', 5, 80_000);
    expect(alerts.readKeyValuesToList().map(({ key, value }) => [key, value?.count, value?.average, value?.threshold])).toEqual([['p2', 2, 2.5, 3]]);
  });

  it('dead-letters invalid ratings with the reason, and leaves them out of the windows', () => {
    const { driver, ratings, stats, rate } = setUp();
    const base = { userId: 'u1', comment: null, timestamp: 1_000 };
    ratings.pipeInput('bad-score', { ...base, id: 'bad-score', productId: 'p1', score: 9 }, { timestamp: 1_000 });
    ratings.pipeInput('half-score', { ...base, id: 'half-score', productId: 'p1', score: 2.5 }, { timestamp: 1_000 });
    const noProduct: Omit<RatingEvent, 'productId'> = { ...base, id: 'no-product', score: 1 };
    ratings.pipeInput('no-product', noProduct as RatingEvent, { timestamp: 1_000 });
    rate('p1', 4, 2_000);
    rate('p1', 4, 90_000); // closes [0, 60 s)

    const letters = driver.deadLetters();
    expect(letters.map((letter) => [letter.key?.toString(), letter.error.errorCode, letter.error.node, letter.error.errorMessage])).toEqual([
      ['bad-score', 'RECORD_REJECTED', 'invalid-rating', 'invalid-rating: score 9 is not an integer from 1 to 5'],
      ['half-score', 'RECORD_REJECTED', 'invalid-rating', 'invalid-rating: score 2.5 is not an integer from 1 to 5'],
      ['no-product', 'RECORD_REJECTED', 'invalid-rating', 'invalid-rating: productId is missing or not a non-empty string'],
    ]);
    // The original bytes are kept.
    expect(JSON.parse(letters[0]?.value?.toString() ?? 'null')).toMatchObject({ id: 'bad-score', score: 9 });
    expect(summary(stats.readKeyValuesToList())).toEqual([{ key: 'p1', start: 0, end: 60_000, count: 1, average: 4 }]);
    expect(driver.committedOffset('ratings')).toBe(5);
  });

  it('reads Avro ratings, as the ingest writes them, with ratingFormat avro, and dead-letters bytes that do not decode', () => {
    const driver = new TopologyTestDriver(productRatingTrends({ ratingFormat: 'avro' }), { applicationId: 'trends' });
    const ratings = driver.createInputTopic<string, RatingEvent>('ratings', { keySerde: 'string', valueSerde: avroSerdeFromFile<RatingEvent>(RATING_EVENT_SCHEMA_PATH) });
    const raw = driver.createInputTopic<string, Buffer>('ratings', { keySerde: 'string', valueSerde: 'bytes' });
    const stats = driver.createOutputTopic<string, ProductRatingStats>('product_rating_stats', serdes);
    const rating = (id: string, score: number, at: number): RatingEvent => ({ id, productId: 'p1', userId: 'u1', score, comment: null, timestamp: at });
    ratings.pipeInput('r1', rating('r1', 5, 1_000), { timestamp: 1_000 });
    ratings.pipeInput('r2', rating('r2', 2, 2_000), { timestamp: 2_000 });
    raw.pipeInput('r3', Buffer.from(JSON.stringify(rating('r3', 1, 3_000))), { timestamp: 3_000 });
    ratings.pipeInput('r4', rating('r4', 4, 90_000), { timestamp: 90_000 }); // closes [0, 60 s)

    expect(summary(stats.readKeyValuesToList())).toEqual([{ key: 'p1', start: 0, end: 60_000, count: 2, average: 3.5 }]);
    expect(driver.deadLetters().map((letter) => [letter.key?.toString(), letter.error.errorCode])).toEqual([['r3', 'DESERIALIZATION_FAILED']]);
  });

  it('refuses an unknown ratingFormat when the topology is built', () => {
    expect(() => productRatingTrends({ ratingFormat: 'xml' as 'json' })).toThrow(/option ratingFormat must be 'avro', 'json' or a serde/);
  });

  it('re-keys by product through a repartition topic, shown by describe()', () => {
    const topology = productRatingTrends();
    const text = topology.describe().toString();
    expect(text).toContain('Sink:      ratings-by-product-sink (repartition, topic: ratings-by-product-repartition [internal]');
    expect(text).toContain('Source:    ratings-by-product-source (repartition, topic: ratings-by-product-repartition [internal]');
    expect(text).toMatch(/Sub-topology: 1\n\s+Source:\s+ratings-by-product-source/);
    expect(text).toContain('window: size 60000 ms, advance 60000 ms, grace 10000 ms, emit onWindowClose');

    const { driver, rate } = setUp();
    rate('p1', 4, 1_000);
    expect(driver.broker.hasTopic('trends-ratings-by-product-repartition')).toBe(true);
  });

  it('refuses bad options when the topology is built, naming the option', () => {
    expect(() => productRatingTrends({ graceMs: -1 })).toThrow(TopologyError);
    expect(() => productRatingTrends({ graceMs: -1 })).toThrow(/option graceMs/);
    expect(() => productRatingTrends({ minRatings: 0 })).toThrow(/option minRatings/);
    expect(() => productRatingTrends({ alertThreshold: Number.NaN })).toThrow(/option alertThreshold/);
  });
});
