import { TransportError } from '../../errors/streams-error.ts';
import type { TopicPartition, TopicPartitionOffset } from '../transport.ts';
import { assertCommittable } from './offset-validation.ts';
import { assignCopartitioned } from './copartitioned-assignor.ts';
import { assignPartitions } from './sticky-assignor.ts';
import { unknownPartitions } from './topic-log.ts';
import { compareTopicPartitions, tpKey } from '../topic-partition-key.ts';
import { waitAtMost } from '../wait-at-most.ts';

/** How a group spreads its partitions; see `ConsumerOptions.assignment`. */
export type AssignmentStrategy = 'round-robin' | 'copartitioned';

/** What a group needs from one of its members to move partitions to and from it. */
export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Every member of the group must ask for the same one, as Kafka's members must share a protocol. */
  readonly assignmentStrategy: AssignmentStrategy;
  /** How long the group waits for `revoke` before moving the partitions anyway, as Kafka evicts a slow member. */
  readonly rebalanceTimeoutMs: number;
  /** Give these up: stop fetching them, let their in-flight batches settle, run `onRevoked`. Must not reject. */
  revoke(partitions: readonly TopicPartition[]): Promise<void>;
  /** Take these: run `onAssigned`, then start fetching them. Must not reject. */
  assign(partitions: readonly TopicPartition[]): Promise<void>;
  /**
   * You were evicted (your session expired) and these partitions went to the others without waiting
   * for you, as Kafka's coordinator does with a member it gave up on. Must not throw.
   */
  expelled(partitions: readonly TopicPartition[]): void;
}

interface Membership {
  readonly member: GroupMember;
  /** Includes partitions being revoked until the revocation ends, so commits made meanwhile count. */
  owned: TopicPartition[];
  leaving: boolean;
  evicted: boolean;
  /** Resolves when the member's session expires, so a rebalance waiting on its revoke stops waiting. */
  readonly expired: Promise<void>;
  expire(): void;
}

/**
 * One consumer group: its members, who owns which partition, and its committed offsets.
 * Membership changes queue up and each runs a full rebalance in turn: losers give up partitions
 * (and may commit) before winners get them, so no partition is ever fetched by two members.
 */
export class ConsumerGroup {
  private readonly members = new Map<string, Membership>();
  private readonly committedByTopic = new Map<string, Map<number, number>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly groupId: string,
    /** Partition count of a topic, 0 when it does not exist. */
    private readonly partitionsOf: (topic: string) => number,
  ) {}

  /**
   * Adds the member and resolves once the rebalance it causes has given it its partitions. Rejects
   * (INCONSISTENT_GROUP_PROTOCOL, not retriable) a member whose assignment strategy differs from the
   * members already in the group, as Kafka's coordinator refuses its JoinGroup.
   */
  join(member: GroupMember): Promise<void> {
    return this.enqueue(() => {
      const other = [...this.members.values()].find((m) => !m.leaving && !m.evicted && m.member.assignmentStrategy !== member.assignmentStrategy);
      if (other !== undefined) {
        throw new TransportError(
          `join of group ${this.groupId} failed (INCONSISTENT_GROUP_PROTOCOL): this member asks for '${member.assignmentStrategy}' assignment, the group uses '${other.member.assignmentStrategy}'`,
        );
      }
      let expire = (): void => undefined;
      const expired = new Promise<void>((resolve) => {
        expire = resolve;
      });
      this.members.set(member.memberId, { member, owned: [], leaving: false, evicted: false, expired, expire });
    });
  }

  /** Takes the member's partitions back (through `revoke`), removes it, and hands them to the rest. */
  leave(memberId: string): Promise<void> {
    return this.enqueue(() => {
      const membership = this.members.get(memberId);
      if (membership !== undefined) membership.leaving = true;
    });
  }

  /**
   * Removes a member whose session expired and hands its partitions to the rest, without waiting for
   * it. A rebalance already waiting for this member's revoke stops waiting at once, as Kafka's
   * coordinator drops an expired member from a rebalance in progress.
   */
  evict(memberId: string): Promise<void> {
    this.members.get(memberId)?.expire();
    return this.enqueue(() => {
      const membership = this.members.get(memberId);
      if (membership !== undefined) membership.evicted = true;
    });
  }

  /** Reassigns after topics appeared or vanished, the way Kafka reacts to a metadata change. */
  refresh(): Promise<void> {
    return this.enqueue(() => undefined).catch(() => undefined);
  }

  /** Whether any member reads `topic`, i.e. whether a change to it needs a rebalance. */
  subscribes(topic: string): boolean {
    for (const { member } of this.members.values()) if (member.topics.includes(topic)) return true;
    return false;
  }

  /** What the member owns now, including partitions it is in the middle of giving up. */
  assignment(memberId: string): readonly TopicPartition[] {
    return this.members.get(memberId)?.owned ?? [];
  }

  committed(tp: TopicPartition): number | undefined {
    return this.committedByTopic.get(tp.topic)?.get(tp.partition);
  }

  committedOffsets(topic: string): Map<number, number> {
    return new Map(this.committedByTopic.get(topic));
  }

  /**
   * A member's commit, checked as Kafka's classic group coordinator checks it: the member must be in
   * the group (else UNKNOWN_MEMBER_ID, retriable: it rejoins and commits again), and each partition
   * must exist (else UNKNOWN_TOPIC_OR_PARTITION, retriable; the other partitions are committed, as
   * Kafka answers per partition). Whether the member owns the partition is not checked, because
   * Kafka does not check it either: any existing partition, at any offset, is accepted.
   */
  commitAsMember(memberId: string, offsets: readonly TopicPartitionOffset[]): void {
    if (!this.members.has(memberId)) {
      throw new TransportError(`commit for group ${this.groupId} failed (UNKNOWN_MEMBER_ID): this consumer is not a member of the group (evicted, or leaving)`, {
        code: 'COMMIT_FAILED',
        retriable: true,
      });
    }
    assertCommittable(offsets, 'COMMIT_FAILED');
    const unknown = offsets.filter((tp) => tp.partition < 0 || tp.partition >= this.partitionsOf(tp.topic));
    this.commit(offsets.filter((tp) => !unknown.includes(tp)));
    if (unknown.length > 0) throw unknownPartitions(unknown, `commit for group ${this.groupId}`, 'COMMIT_FAILED');
  }

  /** Stores offsets with no membership check: admin tools, transactions and test drivers. */
  commit(offsets: readonly TopicPartitionOffset[]): void {
    assertCommittable(offsets, 'COMMIT_FAILED');
    for (const tp of offsets) {
      let partitions = this.committedByTopic.get(tp.topic);
      if (partitions === undefined) this.committedByTopic.set(tp.topic, (partitions = new Map()));
      partitions.set(tp.partition, tp.offset);
    }
  }

  /** Drops the offsets of a deleted topic, as Kafka eventually does. */
  forgetTopic(topic: string): void {
    this.committedByTopic.delete(topic);
  }

  private enqueue(change: () => void): Promise<void> {
    const step = this.queue.then(async () => {
      change();
      await this.rebalance();
    });
    // The chain must survive a failed step, or one bug would freeze the group forever.
    this.queue = step.catch(() => undefined);
    return step;
  }

  private async rebalance(): Promise<void> {
    for (const membership of [...this.members.values()]) {
      if (!membership.evicted) continue;
      this.members.delete(membership.member.memberId);
      membership.member.expelled(membership.owned);
    }
    const all = [...this.members.values()];
    const staying = all.filter((m) => !m.leaving);
    const assign = staying[0]?.member.assignmentStrategy === 'copartitioned' ? assignCopartitioned : assignPartitions;
    const target = assign(
      staying.map((m) => ({ memberId: m.member.memberId, topics: m.member.topics, owned: m.owned })),
      this.subscribedPartitions(staying),
    );

    await Promise.all(
      all.map(async (membership) => {
        const keep = new Set((target.get(membership.member.memberId) ?? []).map(tpKey));
        const lost = membership.owned.filter((tp) => !keep.has(tpKey(tp)));
        if (lost.length === 0) return;
        await waitAtMost(Promise.race([membership.member.revoke(lost), membership.expired]), membership.member.rebalanceTimeoutMs);
        membership.owned = membership.owned.filter((tp) => keep.has(tpKey(tp)));
      }),
    );
    for (const membership of all) if (membership.leaving) this.members.delete(membership.member.memberId);

    await Promise.all(
      staying.map(async (membership) => {
        const have = new Set(membership.owned.map(tpKey));
        const gained = (target.get(membership.member.memberId) ?? []).filter((tp) => !have.has(tpKey(tp)));
        if (gained.length === 0) return;
        membership.owned = [...membership.owned, ...gained].sort(compareTopicPartitions);
        await membership.member.assign(gained).catch(() => undefined);
      }),
    );
  }

  private subscribedPartitions(members: readonly Membership[]): TopicPartition[] {
    const topics = new Set(members.flatMap((m) => m.member.topics));
    const partitions: TopicPartition[] = [];
    for (const topic of topics) for (let partition = 0; partition < this.partitionsOf(topic); partition++) partitions.push({ topic, partition });
    return partitions;
  }
}
