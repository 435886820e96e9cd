/** What the two hand-written kafkajs contenders share: the rules, the users table, the enrichment. */
import type { Kafka, Message } from 'kafkajs';
import { enrichedType, ratingType, type Profile, type Rating } from '../workload.ts';
import type { ContenderArgs } from './args.ts';

const DAY_MS = 86_400_000;

/** The rules of `validateRating`, written out: decodes, ids not blank, score 1..5, timestamp sane. */
export function decodeValid(value: Buffer | null, now: number): Rating | undefined {
  let rating: Rating;
  try {
    if (value === null) return undefined;
    rating = ratingType.fromBuffer(value) as Rating;
  } catch {
    return undefined;
  }
  const ok =
    rating.id.trim() !== '' &&
    rating.productId.trim() !== '' &&
    rating.userId.trim() !== '' &&
    rating.score >= 1 &&
    rating.score <= 5 &&
    rating.timestamp >= 0 &&
    rating.timestamp <= now + DAY_MS;
  return ok ? rating : undefined;
}

/** The enriched rating's value bytes: the rating, its user's profile (or null), the join time. */
export function enrich(rating: Rating, user: Profile | undefined, now: number): Buffer {
  const userProfile = user === undefined ? null : { id: rating.userId, name: user.name, email: user.email, tier: user.tier, updatedAt: user.updatedAt };
  return enrichedType.toBuffer({ ...rating, userProfile, enrichedAt: now });
}

export const deadLetter = (message: { key: Buffer | null; value: Buffer | null }): Message => ({ key: message.key, value: message.value, headers: { reason: 'invalid rating' } });

/** Reads the whole users topic into a Map before anything is processed (a global table, by hand). */
export async function readUsers(kafka: Kafka, args: ContenderArgs): Promise<Map<string, Profile>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(args.usersTopic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const users = new Map<string, Profile>();
  const left = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  const consumer = kafka.consumer({ groupId: `${args.applicationId}-users-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: args.usersTopic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    if (left.size === 0) resolve();
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const key = message.key?.toString('utf8');
          if (key === undefined) continue;
          if (message.value === null) users.delete(key);
          else users.set(key, JSON.parse(message.value.toString('utf8')) as Profile);
        }
        if (Number(batch.lastOffset()) + 1 >= (ends.get(batch.partition) ?? 0)) left.delete(batch.partition);
        if (left.size === 0) resolve();
      },
    });
  });
  await consumer.disconnect();
  return users;
}
