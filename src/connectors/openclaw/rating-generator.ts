/**
 * The ratings behind the OpenClaw simulator: an endless, deterministic sequence computed from a
 * seed, where rating number `index` can be produced on its own (no state, no history walked), so
 * a server can hand out any page of a large or live set lazily.
 *
 * - Ids are `r` + the 1-based sequence number zero-padded to 9 digits (`r000000123`): they sort as
 *   strings in creation order, so `(timestamp, id)` order is creation order.
 * - Rating `index` has the slot timestamp `startTimestamp + floor(index * 1000 / ratePerSecond)`:
 *   non-decreasing, and several ratings share a millisecond when the rate is above 1000/s.
 * - A share `invalidRate` of ratings is invalid, chosen by a hash of (seed, index), so whether a
 *   rating is invalid is a fixed property of its id; see {@link InvalidKind}.
 *
 * @example
 * const generator = new RatingGenerator({ seed: 7, startTimestamp: 1_700_000_000_000, ratePerSecond: 50 });
 * generator.record(0); // { id: 'r000000001', productId: 'p000042', ... }
 */
import { ConfigError } from '../../errors/index.ts';
import type { RatingEvent } from './rating-event.ts';

/** One rating as the real OpenClaw API returns it: the `RatingEvent` contract. */
export type OpenClawRating = RatingEvent;

/** A record as served: an invalid one may lack `userId`. */
export type ServedRecord = Omit<OpenClawRating, 'userId'> & { readonly userId?: string };

/** How an invalid rating breaks the contract (DESIGN.md section 4: score 1..5, non-empty ids, sane timestamp). */
export const INVALID_KINDS = ['score-zero', 'score-seven', 'empty-product-id', 'future-timestamp', 'missing-user-id'] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** How far ahead a `future-timestamp` rating claims to be: ten years. */
export const FUTURE_OFFSET_MS = 10 * 365 * 24 * 60 * 60 * 1000;

export interface RatingGeneratorOptions {
  /** Integer seed; the same seed and options give the same ratings. Default 1. */
  readonly seed?: number;
  /** Number of distinct users (`u000001`..). Default 1000. */
  readonly users?: number;
  /** Number of distinct products (`p000001`..). Default 200. */
  readonly products?: number;
  /** Slot timestamp of the first rating, epoch ms. */
  readonly startTimestamp: number;
  /** Ratings per second of event time; sets the spacing of slot timestamps. */
  readonly ratePerSecond: number;
  /** Share of ratings that are invalid, 0..1. Default 0. */
  readonly invalidRate?: number;
}

const ID_DIGITS = 9;
const SCORE_WEIGHTS: ReadonlyArray<readonly [score: number, weight: number]> = [
  [1, 0.08],
  [2, 0.07],
  [3, 0.15],
  [4, 0.3],
  [5, 0.4],
];
const COMMENTS = [
  'Great value for the price.',
  'Broke after a week.',
  'Exactly as described.',
  'Shipping took too long.',
  'Would buy again!',
  'Not what I expected.',
  'Decent, nothing special.',
  'Five stars, no notes.',
] as const;

/** Small, fast, seedable PRNG (mulberry32): numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Mixes integers into one well-spread 32-bit value (murmur3 finaliser over each part). */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const SALT_FIELDS = 1;
const SALT_INVALID = 2;

export class RatingGenerator {
  readonly seed: number;
  readonly users: number;
  readonly products: number;
  readonly startTimestamp: number;
  readonly ratePerSecond: number;
  readonly invalidRate: number;

  constructor(options: RatingGeneratorOptions) {
    this.seed = options.seed ?? 1;
    this.users = options.users ?? 1000;
    this.products = options.products ?? 200;
    this.startTimestamp = options.startTimestamp;
    this.ratePerSecond = options.ratePerSecond;
    this.invalidRate = options.invalidRate ?? 0;
    requireInteger('seed', this.seed, -(2 ** 31), 2 ** 32 - 1);
    requireInteger('users', this.users, 1, 999_999);
    requireInteger('products', this.products, 1, 999_999);
    requireInteger('startTimestamp', this.startTimestamp, 0, Number.MAX_SAFE_INTEGER);
    if (!(Number.isFinite(this.ratePerSecond) && this.ratePerSecond > 0)) {
      throw new ConfigError(`rating generator: ratePerSecond must be a positive number, got ${this.ratePerSecond}`);
    }
    requireProbability('invalidRate', this.invalidRate);
  }

  /** The id of rating `index` (0-based): `r` + the 1-based number, 9 digits. */
  ratingId(index: number): string {
    return `r${String(index + 1).padStart(ID_DIGITS, '0')}`;
  }

  /** The index of an id this generator makes, or undefined for any other string. */
  indexOfId(id: string): number | undefined {
    if (!/^r\d{9}$/.test(id)) return undefined;
    const index = Number(id.slice(1)) - 1;
    return index >= 0 ? index : undefined;
  }

  /** The slot timestamp of rating `index`: where it sorts, and its served timestamp unless it is `future-timestamp`. */
  timestampOf(index: number): number {
    return this.startTimestamp + Math.floor((index * 1000) / this.ratePerSecond);
  }

  /** The smallest index whose slot timestamp is >= `timestamp`. */
  firstIndexAtOrAfter(timestamp: number): number {
    let index = Math.max(0, Math.ceil(((timestamp - this.startTimestamp) * this.ratePerSecond) / 1000));
    // The arithmetic guess can be off by a rounding step; timestampOf is the definition.
    while (index > 0 && this.timestampOf(index - 1) >= timestamp) index -= 1;
    while (this.timestampOf(index) < timestamp) index += 1;
    return index;
  }

  /** How rating `index` is invalid, or undefined when it is valid. Fixed by (seed, index). */
  invalidKind(index: number): InvalidKind | undefined {
    if (this.invalidRate === 0) return undefined;
    const random = seededRandom(hash32(this.seed, index, SALT_INVALID));
    if (random() >= this.invalidRate) return undefined;
    return INVALID_KINDS[Math.floor(random() * INVALID_KINDS.length)];
  }

  /** Rating `index` as it would be were it valid. */
  rating(index: number): OpenClawRating {
    const random = seededRandom(hash32(this.seed, index, SALT_FIELDS));
    const userId = `u${String(1 + Math.floor(random() * this.users)).padStart(6, '0')}`;
    const productId = `p${String(1 + Math.floor(random() * this.products)).padStart(6, '0')}`;
    const score = pickScore(random());
    const comment = random() < 0.5 ? null : (COMMENTS[Math.floor(random() * COMMENTS.length)] ?? null);
    return { id: this.ratingId(index), productId, userId, score, comment, timestamp: this.timestampOf(index) };
  }

  /** Rating `index` as the simulator serves it: broken according to {@link invalidKind}. */
  record(index: number): ServedRecord {
    const rating = this.rating(index);
    switch (this.invalidKind(index)) {
      case undefined:
        return rating;
      case 'score-zero':
        return { ...rating, score: 0 };
      case 'score-seven':
        return { ...rating, score: 7 };
      case 'empty-product-id':
        return { ...rating, productId: '' };
      case 'future-timestamp':
        return { ...rating, timestamp: rating.timestamp + FUTURE_OFFSET_MS };
      case 'missing-user-id': {
        const { userId: _dropped, ...rest } = rating;
        return rest;
      }
    }
  }
}

function pickScore(draw: number): number {
  let cumulative = 0;
  for (const [score, weight] of SCORE_WEIGHTS) {
    cumulative += weight;
    if (draw < cumulative) return score;
  }
  return 5;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`rating generator: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

export function requireProbability(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= 1)) {
    throw new ConfigError(`OpenClaw simulator: ${name} must be a probability in 0..1, got ${value}`);
  }
}
