import { ConsumerGroup } from './consumer-group.ts';

/**
 * The broker's registry of consumer groups. Groups are created on first use and never expire: an
 * in-process log lives as long as its tests, and committed offsets must survive members leaving.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>();

  constructor(private readonly partitionsOf: (topic: string) => number) {}

  group(groupId: string): ConsumerGroup {
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new ConsumerGroup(groupId, this.partitionsOf)));
    return group;
  }

  find(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  /** Rebalances the groups reading `topic` after it was created or deleted. */
  topicChanged(topic: string, deleted: boolean): void {
    for (const group of this.groups.values()) {
      if (deleted) group.forgetTopic(topic);
      // Fire and forget: the rebalance runs in the group's own queue and cannot reject.
      if (group.subscribes(topic)) void group.refresh();
    }
  }
}
