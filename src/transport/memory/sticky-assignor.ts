import type { TopicPartition } from '../transport.ts';
import { compareTopicPartitions, tpKey } from '../topic-partition-key.ts';

export interface AssignorMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** What the member owns now; kept where balance allows, so a rebalance moves as little as it can. */
  readonly owned: readonly TopicPartition[];
}

/**
 * Spreads `partitions` over `members` (given in join order), each member getting only partitions of
 * topics it subscribes to. Balanced to within one partition when subscriptions are the same, sticky
 * (current owners keep what they can) and deterministic, so tests can predict who gets what.
 */
export function assignPartitions(members: readonly AssignorMember[], partitions: readonly TopicPartition[]): Map<string, TopicPartition[]> {
  const result = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  if (members.length === 0) return result;
  const sorted = [...partitions].sort(compareTopicPartitions);
  const base = Math.floor(sorted.length / members.length);
  let extras = sorted.length % members.length;
  const taken = new Set<string>();
  const subscribes = (member: AssignorMember, tp: TopicPartition) => member.topics.includes(tp.topic);
  const give = (member: AssignorMember, tp: TopicPartition) => {
    result.get(member.memberId)?.push(tp);
    taken.add(tpKey(tp));
  };

  // Keep current ownership up to the fair share, then let the first owners keep one extra each.
  const wanted = new Set(sorted.map(tpKey));
  const keepable = (member: AssignorMember) => member.owned.filter((tp) => wanted.has(tpKey(tp)) && subscribes(member, tp)).sort(compareTopicPartitions);
  for (const member of members) for (const tp of keepable(member).slice(0, base)) give(member, tp);
  for (const member of members) {
    if (extras === 0) break;
    const more = keepable(member).find((tp) => !taken.has(tpKey(tp)));
    if (more !== undefined) {
      give(member, more);
      extras--;
    }
  }

  // Most constrained first: partitions few members can take must not find those members already full.
  const eligibleCount = (tp: TopicPartition) => members.filter((member) => subscribes(member, tp)).length;
  const rest = sorted.filter((tp) => !taken.has(tpKey(tp))).sort((a, b) => eligibleCount(a) - eligibleCount(b) || compareTopicPartitions(a, b));
  for (const tp of rest) {
    let least: AssignorMember | undefined;
    for (const member of members) {
      if (!subscribes(member, tp)) continue;
      if (least === undefined || (result.get(member.memberId)?.length ?? 0) < (result.get(least.memberId)?.length ?? 0)) least = member;
    }
    if (least !== undefined) give(least, tp);
  }
  for (const owned of result.values()) owned.sort(compareTopicPartitions);
  return result;
}
