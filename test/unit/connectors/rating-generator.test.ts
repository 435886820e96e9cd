import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/index.ts';
import {
  FUTURE_OFFSET_MS,
  INVALID_KINDS,
  RatingGenerator,
  seededRandom,
  type InvalidKind,
} from '../../../src/connectors/openclaw/rating-generator.ts';

const START = 1_700_000_000_000;
const make = (seed: number, extra: Partial<ConstructorParameters<typeof RatingGenerator>[0]> = {}) =>
  new RatingGenerator({ seed, startTimestamp: START, ratePerSecond: 2500, ...extra });
const records = (generator: RatingGenerator, n: number) => Array.from({ length: n }, (_, i) => generator.record(i));

describe('the OpenClaw rating generator', () => {
  it('gives the same ratings for the same seed, and other ratings for another seed', () => {
    expect(records(make(42, { invalidRate: 0.2 }), 500)).toEqual(records(make(42, { invalidRate: 0.2 }), 500));
    const other = records(make(43), 500).map(({ userId, productId, score }) => [userId, productId, score]);
    const same = records(make(42), 500).map(({ userId, productId, score }) => [userId, productId, score]);
    expect(other).not.toEqual(same);
  });

  it('produces any rating on its own: rating i does not depend on which ratings were made before', () => {
    const walked = make(9);
    const all = records(walked, 300);
    const fresh = make(9);
    expect([299, 0, 150].map((i) => fresh.record(i))).toEqual([all[299], all[0], all[150]]);
  });

  it('makes ids that sort as strings in creation order and map back to their index', () => {
    const generator = make(1);
    const ids = [0, 8, 9, 99, 999, 123_456].map((i) => generator.ratingId(i));
    expect(ids[0]).toBe('r000000001');
    expect([...ids].sort()).toEqual(ids);
    expect(ids.map((id) => generator.indexOfId(id))).toEqual([0, 8, 9, 99, 999, 123_456]);
    expect(generator.indexOfId('x1')).toBeUndefined();
    expect(generator.indexOfId('r000000000')).toBeUndefined();
  });

  it('spaces timestamps at the rate, several ratings per millisecond above 1000/s', () => {
    const generator = make(1);
    const stamps = records(generator, 10).map((r) => r.timestamp - START);
    expect(stamps).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 3, 3]);
    expect(make(1, { ratePerSecond: 50 }).timestampOf(3)).toBe(START + 60);
  });

  it('finds the first index at or after any timestamp, consistent with timestampOf', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: -5_000, max: 10_000_000 }),
        (rate, offset) => {
          const generator = make(1, { ratePerSecond: rate });
          const index = generator.firstIndexAtOrAfter(START + offset);
          expect(generator.timestampOf(index)).toBeGreaterThanOrEqual(START + offset);
          if (index > 0) expect(generator.timestampOf(index - 1)).toBeLessThan(START + offset);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps valid ratings inside the contract and the configured user and product ranges', () => {
    const generator = make(5, { users: 3, products: 2 });
    const all = records(generator, 2000);
    expect(new Set(all.map((r) => r.userId))).toEqual(new Set(['u000001', 'u000002', 'u000003']));
    expect(new Set(all.map((r) => r.productId))).toEqual(new Set(['p000001', 'p000002']));
    expect(new Set(all.map((r) => r.score))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(all.some((r) => r.comment === null)).toBe(true);
    expect(all.some((r) => typeof r.comment === 'string')).toBe(true);
  });

  it('makes a share of ratings invalid by id, each broken the way its kind says', () => {
    const generator = make(3, { invalidRate: 0.25 });
    const kinds = new Map<InvalidKind, number>();
    for (let i = 0; i < 4000; i += 1) {
      const kind = generator.invalidKind(i);
      const record = generator.record(i);
      const valid = generator.rating(i);
      if (kind === undefined) {
        expect(record).toEqual(valid);
        continue;
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const expected = {
        'score-zero': { ...valid, score: 0 },
        'score-seven': { ...valid, score: 7 },
        'empty-product-id': { ...valid, productId: '' },
        'future-timestamp': { ...valid, timestamp: valid.timestamp + FUTURE_OFFSET_MS },
        'missing-user-id': { ...valid, userId: undefined },
      }[kind];
      expect(JSON.parse(JSON.stringify(record))).toEqual(JSON.parse(JSON.stringify(expected)));
    }
    const invalid = [...kinds.values()].reduce((a, b) => a + b, 0);
    expect(invalid / 4000).toBeGreaterThan(0.2);
    expect(invalid / 4000).toBeLessThan(0.3);
    expect([...kinds.keys()].sort()).toEqual([...INVALID_KINDS].sort());
    expect(make(3).invalidKind(0) ?? make(3).invalidKind(1)).toBeUndefined();
  });

  it('has a seeded random source that repeats for a seed and stays in [0, 1)', () => {
    const a = seededRandom(11);
    const b = seededRandom(11);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(12)()).not.toBe(draws[0]);
  });

  it('rejects options that cannot work, naming the option', () => {
    expect(() => make(1, { users: 0 })).toThrow(ConfigError);
    expect(() => make(1, { users: 0 })).toThrow(/users/);
    expect(() => make(1, { ratePerSecond: 0 })).toThrow(/ratePerSecond/);
    expect(() => make(1, { invalidRate: 1.5 })).toThrow(/invalidRate/);
    expect(() => make(1.5)).toThrow(/seed/);
  });
});
