import { StreamsBuilder, type Topology } from '../../src/index.ts';

export interface Rating {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly score: number;
  readonly comment: string | null;
}

export interface Alert {
  readonly ratingId: string;
  readonly productId: string;
  readonly score: number;
  readonly reason: 'low-score' | 'angry-comment';
}

/**
 * Reads ratings, sends malformed ones to `ratings_invalid`, and raises an alert, keyed by product,
 * for every low score or angry comment.
 */
export function ratingAlerts(): Topology {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const ratings = builder.stream<string, Rating>('ratings');

  const { valid, invalid } = ratings
    .split({ name: 'validate' })
    .branch((_id, r) => Number.isInteger(r.score) && r.score >= 1 && r.score <= 5, { name: 'valid' })
    .defaultBranch({ name: 'invalid' });
  invalid.to('ratings_invalid');

  valid
    .flatMap((id, r) => {
      const alerts: Array<{ key: string; value: Alert }> = [];
      if (r.score <= 2) alerts.push({ key: r.productId, value: { ratingId: id ?? r.id, productId: r.productId, score: r.score, reason: 'low-score' } });
      if (r.comment !== null && /!{2,}|terrible|broken/i.test(r.comment)) {
        alerts.push({ key: r.productId, value: { ratingId: id ?? r.id, productId: r.productId, score: r.score, reason: 'angry-comment' } });
      }
      return alerts;
    })
    .to('rating_alerts');

  return builder.build();
}
