/**
 * What each topic an app reads is for, and the internal topics it needs: repartition topics (sized
 * like the topics they are joined with, as Kafka Streams sizes them) and the compacted changelogs of
 * aggregations (as wide as their sub-topology has tasks). Also checks co-partitioning, so a join of
 * topics with different partition counts fails at start-up with an error naming both.
 */
import type { TopicSpec } from '../transport/transport.ts';
import { Topology } from '../topology/topology.ts';

export type TopicRole =
  | { readonly kind: 'stream' }
  /** A `builder.table()` source: read by a task of its own, and restored from offset 0. */
  | { readonly kind: 'table'; readonly store: string }
  /** An aggregation's changelog: only read back to restore its store. */
  | { readonly kind: 'changelog'; readonly store: string };

export interface TopicLayout {
  /** Full topic name → role, for every topic the group consumer subscribes to. */
  readonly roles: ReadonlyMap<string, TopicRole>;
  /** Internal topics to create (repartition topics and changelogs). */
  readonly internal: readonly TopicSpec[];
}

/** Every topic the group consumer reads (stream sources, table sources, changelogs) with its role. */
export function topicRoles(topology: Topology, applicationId: string): Map<string, TopicRole> {
  const roles = new Map<string, TopicRole>();
  for (const node of topology.nodes) {
    if (node.kind === 'source') roles.set(Topology.topicName(node, applicationId), { kind: 'stream' });
    else if (node.kind === 'table') roles.set(node.topic, { kind: 'table', store: node.store.name });
    else if (node.kind === 'aggregate') roles.set(Topology.topicName(node.store.changelog, applicationId), { kind: 'changelog', store: node.store.name });
  }
  return roles;
}

/**
 * @param counts partition counts of the external topics the topology reads (stream and table sources)
 * @param defaultPartitions partitions of an internal topic nothing else decides (the widest input)
 * @throws the co-partitioning error of `Topology.planTasks`
 */
export function planTopics(topology: Topology, applicationId: string, counts: ReadonlyMap<string, number>, defaultPartitions: number): TopicLayout {
  const full = (ref: { readonly topic: string; readonly internal: boolean }) => Topology.topicName(ref, applicationId);
  const known = new Map(counts);
  // Repartition topics: a count the topology gives, else the count of the external topics they are joined with.
  for (const sink of topology.sinks()) {
    if (sink.sink === 'topic' && sink.internal && sink.partitions !== undefined) known.set(full(sink), sink.partitions);
  }
  for (const group of topology.copartitionGroups()) {
    const external = group.topics.map((ref) => known.get(full(ref))).find((count) => count !== undefined);
    if (external === undefined) continue;
    for (const ref of group.topics) if (ref.internal && !known.has(full(ref))) known.set(full(ref), external);
  }
  for (const sink of topology.sinks()) {
    if (sink.sink === 'topic' && sink.internal && !known.has(full(sink))) known.set(full(sink), defaultPartitions);
  }
  const plan = topology.planTasks(applicationId, (topic) => known.get(topic));
  if (!plan.ok) throw plan.error;
  const internal: TopicSpec[] = [];
  for (const sink of topology.sinks()) {
    if (sink.sink === 'topic' && sink.internal) internal.push({ topic: full(sink), partitions: known.get(full(sink)) ?? defaultPartitions });
  }
  for (const sub of topology.subtopologies()) {
    const width = Math.max(1, ...sub.sourceTopics.map((ref) => known.get(full(ref)) ?? 0));
    for (const { store } of sub.stores) {
      if (!store.changelog.internal) continue;
      internal.push({ topic: full(store.changelog), partitions: width, config: { 'cleanup.policy': 'compact' } });
    }
  }
  return { roles: topicRoles(topology, applicationId), internal };
}
