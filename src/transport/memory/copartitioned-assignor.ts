import type { TopicPartition } from '../transport.ts';
import { compareTopicPartitions } from '../topic-partition-key.ts';
import { assignPartitions, type AssignorMember } from './sticky-assignor.ts';

/**
 * Kafka Streams' partition groups: partition N of every subscribed topic goes to one member, so the
 * task for N can read (and join) all of them together. Partition numbers, not topic-partitions, are
 * what gets spread: the sticky assignor balances them over the members (join order, current owners
 * keep theirs), then each member gets partition N of every topic it subscribes to that has one.
 *
 * Members of one group normally subscribe to the same topics. When they do not, a member only gets
 * numbers some topic of its own has, and a topic-partition whose number went to a member that does
 * not read that topic goes to the least loaded member that does: co-partitioning cannot hold there.
 */
export function assignCopartitioned(members: readonly AssignorMember[], partitions: readonly TopicPartition[]): Map<string, TopicPartition[]> {
  const result = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  if (members.length === 0) return result;

  // One pseudo topic-partition per number; a member "subscribes" to the numbers its topics have.
  const numberOf = (partition: number): TopicPartition => ({ topic: String(partition), partition });
  const numbers = [...new Set(partitions.map((tp) => tp.partition))].map(numberOf);
  const numbersOf = (topics: readonly string[]): string[] => [
    ...new Set(partitions.filter((tp) => topics.includes(tp.topic)).map((tp) => String(tp.partition))),
  ];
  const byNumber = assignPartitions(
    members.map((m) => ({
      memberId: m.memberId,
      topics: numbersOf(m.topics),
      owned: [...new Set(m.owned.map((tp) => tp.partition))].map(numberOf),
    })),
    numbers,
  );

  const ownerOf = new Map<number, AssignorMember>();
  for (const member of members) for (const { partition } of byNumber.get(member.memberId) ?? []) ownerOf.set(partition, member);
  const orphans: TopicPartition[] = [];
  for (const tp of partitions) {
    const owner = ownerOf.get(tp.partition);
    if (owner !== undefined && owner.topics.includes(tp.topic)) result.get(owner.memberId)?.push(tp);
    else orphans.push(tp);
  }
  for (const tp of orphans) {
    const readers = members.filter((m) => m.topics.includes(tp.topic));
    const least = readers.reduce<AssignorMember | undefined>(
      (best, m) => (best === undefined || (result.get(m.memberId)?.length ?? 0) < (result.get(best.memberId)?.length ?? 0) ? m : best),
      undefined,
    );
    if (least !== undefined) result.get(least.memberId)?.push(tp);
  }
  for (const owned of result.values()) owned.sort(compareTopicPartitions);
  return result;
}
