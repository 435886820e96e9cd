/**
 * A kafkajs partition assigner for Kafka Streams' partition groups: partition N of every subscribed
 * topic goes to the same member, so the task for N reads (and joins) all of them together.
 *
 * Partition numbers are dealt round-robin over the members sorted by memberId, as kafkajs' own
 * round-robin assigner deals topic-partitions, so every member computes the same answer and the
 * numbers spread to within one per member. Topics with fewer partitions simply have no partition in
 * the higher groups. A member gets nothing of a topic it does not subscribe to: a topic-partition
 * whose number went to such a member goes to the least loaded member that reads the topic (members
 * of one group normally subscribe to the same topics, and then this never happens).
 */
import type { PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from './kafkajs.ts';
import type { TopicPartition } from '../transport.ts';

/** The protocol name members announce; distinct so a group never mixes it with round-robin members. */
export const COPARTITIONED_PROTOCOL = 'CopartitionedAssigner';

export interface SubscribedMember {
  readonly memberId: string;
  readonly topics: readonly string[];
}

export const copartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: COPARTITIONED_PROTOCOL,
  version: 0,
  async assign({ members, topics }) {
    const partitions = topics.flatMap((topic) => cluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => ({ topic, partition: partitionId })));
    const subscribed = members.map(({ memberId, memberMetadata }) => ({
      memberId,
      // A member whose metadata cannot be read is taken to read everything, as round-robin assumes.
      topics: AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? topics,
    }));
    const assignment = assignCopartitioned(subscribed, partitions);
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: byTopic(assignment.get(memberId) ?? []),
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return { name: COPARTITIONED_PROTOCOL, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});

/** The assignment itself, without kafkajs: member id to topic-partitions. */
export function assignCopartitioned(members: readonly SubscribedMember[], partitions: readonly TopicPartition[]): Map<string, TopicPartition[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const result = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
  if (sorted.length === 0) return result;

  // Only members that read some topic with partition N can take N; deal to the least loaded of them.
  const numbers = [...new Set(partitions.map((tp) => tp.partition))].sort((a, b) => a - b);
  const load = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const ownerOf = new Map<number, SubscribedMember>();
  for (const number of numbers) {
    const topicsWithIt = new Set(partitions.filter((tp) => tp.partition === number).map((tp) => tp.topic));
    const eligible = sorted.filter((m) => m.topics.some((topic) => topicsWithIt.has(topic)));
    const owner = leastLoaded(eligible, load);
    if (owner === undefined) continue;
    ownerOf.set(number, owner);
    load.set(owner.memberId, (load.get(owner.memberId) ?? 0) + 1);
  }

  const orphans: TopicPartition[] = [];
  for (const tp of partitions) {
    const owner = ownerOf.get(tp.partition);
    if (owner !== undefined && owner.topics.includes(tp.topic)) result.get(owner.memberId)?.push(tp);
    else orphans.push(tp);
  }
  const size = new Map<string, number>([...result].map(([memberId, owned]) => [memberId, owned.length]));
  for (const tp of orphans) {
    const owner = leastLoaded(
      sorted.filter((m) => m.topics.includes(tp.topic)),
      size,
    );
    if (owner === undefined) continue;
    result.get(owner.memberId)?.push(tp);
    size.set(owner.memberId, (size.get(owner.memberId) ?? 0) + 1);
  }
  return result;
}

/** The first member (in the given order) with the smallest load. */
function leastLoaded(members: readonly SubscribedMember[], load: ReadonlyMap<string, number>): SubscribedMember | undefined {
  let best: SubscribedMember | undefined;
  for (const member of members) {
    if (best === undefined || (load.get(member.memberId) ?? 0) < (load.get(best.memberId) ?? 0)) best = member;
  }
  return best;
}

function byTopic(partitions: readonly TopicPartition[]): Record<string, number[]> {
  const assignment: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (const { topic, partition } of partitions) (assignment[topic] ??= []).push(partition);
  for (const ids of Object.values(assignment)) ids.sort((a, b) => a - b);
  return assignment;
}
