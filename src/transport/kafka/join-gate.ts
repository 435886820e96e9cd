/**
 * A hook that runs before every JoinGroup request of one kafkajs consumer.
 *
 * kafkajs has no "partitions revoked" callback: when it learns of a rebalance it emits the
 * `consumer.rebalancing` instrumentation event (fire and forget) and rejoins at once. A revoke
 * callback started by that event races the rejoin: its commits either fail (the group moved to a
 * new generation) or land after the partition's next owner already read the older committed
 * offset, and the next owner processes the same records again.
 *
 * Every (re)join starts with `cluster.findGroupCoordinator`, on the cluster object kafkajs hands to
 * partition assigners. Wrapping that one method on that one consumer's cluster lets the consumer
 * finish its revoke, and its commits, while the group still waits for it, as Java's eager protocol
 * does. kafkajs' `describeGroup` calls the same method; the transport never uses it. If a kafkajs
 * release changes this shape the hook is not installed and the consumer falls back to revoking on
 * the instrumentation event alone (callers are told through `installed`).
 */
import type { Broker, PartitionAssigner } from 'kafkajs';
import { PartitionAssigners } from './kafkajs.ts';
import { waitAtMost } from '../wait-at-most.ts';

export interface JoinGate {
  /** The wrapped assigner (kafkajs' round-robin by default), with the hook installed on the consumer's cluster. */
  readonly assigner: PartitionAssigner;
  /** Whether the hook went in; false until kafkajs builds the consumer, and on unknown kafkajs shapes. */
  installed(): boolean;
}

/**
 * Builds the assigner for `kafka.consumer({ partitionAssigners: [gate.assigner] })`.
 *
 * @param beforeJoin runs before each JoinGroup; kafkajs waits for it, at most `maxWaitMs`.
 * @param inner the assigner that decides the assignment; the gate only adds the hook.
 */
export function createJoinGate(beforeJoin: () => Promise<void>, maxWaitMs: number, inner: PartitionAssigner = PartitionAssigners.roundRobin): JoinGate {
  let installed = false;
  const assigner: PartitionAssigner = (config) => {
    const cluster = config.cluster as { findGroupCoordinator?: unknown };
    const original = cluster.findGroupCoordinator;
    if (typeof original === 'function') {
      const findGroupCoordinator = original as (group: { groupId: string }) => Promise<Broker>;
      cluster.findGroupCoordinator = async (group: { groupId: string }): Promise<Broker> => {
        await waitAtMost(beforeJoin(), maxWaitMs);
        return findGroupCoordinator.call(config.cluster, group);
      };
      installed = true;
    }
    return inner(config);
  };
  return { assigner, installed: () => installed };
}
