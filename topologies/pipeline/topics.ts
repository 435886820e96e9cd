/**
 * The topics and application ids of the whole pipeline, in one place. `npm start` creates the
 * topics before anything runs (a `StreamsApp` creates only its internal topics and its dead-letter
 * topic, and refuses to start without the others); existing topics are left as they are.
 */
import type { TopicSpec, Transport } from '../../src/index.ts';

export const TOPICS = {
  ratings: 'ratings',
  deadLetters: 'ratings_dlq',
  /** Compacted: the latest profile per user, a tombstone for a deleted one. */
  users: 'users',
  enriched: 'ratings_enriched',
  productStats: 'product_rating_stats',
  ratingAlerts: 'rating_alerts',
} as const;

export const APPLICATION_IDS = { enrichment: 'ratings-enrichment', trends: 'product-rating-trends' } as const;

/** The trends app's own dead-letter topic (the `StreamsApp` default, `<applicationId>-dlq`). */
export const TRENDS_DEAD_LETTERS = `${APPLICATION_IDS.trends}-dlq`;

/** Partitions of every topic created here: enough for the tasks to spread, few enough for one process. */
export const PARTITIONS = 3;

export function pipelineTopics(partitions = PARTITIONS): TopicSpec[] {
  const plain = [TOPICS.ratings, TOPICS.deadLetters, TOPICS.enriched, TOPICS.productStats, TOPICS.ratingAlerts, TRENDS_DEAD_LETTERS];
  return [...plain.map((topic) => ({ topic, partitions })), { topic: TOPICS.users, partitions, config: { 'cleanup.policy': 'compact' } }];
}

export async function createPipelineTopics(transport: Transport, partitions = PARTITIONS): Promise<void> {
  const admin = transport.admin();
  await admin.connect();
  try {
    await admin.createTopics(pipelineTopics(partitions));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
