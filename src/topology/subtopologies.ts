/**
 * Sub-topologies and co-partition groups, as Kafka Streams computes them: a sub-topology is a
 * connected component of the graph, where a join also links the stream to the table it reads, and
 * repartition topics separate components. A global table is a sub-topology of its own that
 * generates no tasks.
 */
import type { StoreSpec, TopologyNode } from './graph.ts';

/** A topic as the graph names it; internal topics get the application id prefix at run time. */
export interface TopicRef {
  readonly topic: string;
  readonly internal: boolean;
}

export interface Subtopology {
  readonly id: number;
  /** In the order they were added to the topology. */
  readonly nodes: readonly TopologyNode[];
  /** True for a global table's sub-topology: read whole by every instance, no tasks. */
  readonly global: boolean;
  /** Topics its tasks read: stream sources (external or repartition) and table sources. */
  readonly sourceTopics: readonly TopicRef[];
  /** Stores its tasks (or, for a global one, each instance) own, with the owning node. */
  readonly stores: ReadonlyArray<{ readonly node: string; readonly store: StoreSpec }>;
}

/** The graph as the functions here see it (what `Topology` provides). */
export interface GraphView {
  readonly nodes: readonly TopologyNode[];
  node(name: string): TopologyNode;
  children(name: string): readonly string[];
}

/** Neighbours for connectivity: data edges both ways, plus a co-partitioned join's table. */
function neighbours(graph: GraphView, node: TopologyNode, joinsOf: ReadonlyMap<string, string[]>): string[] {
  const out = [...node.parents, ...graph.children(node.name), ...(joinsOf.get(node.name) ?? [])];
  if (node.kind === 'join' && !node.global) out.push(node.table);
  return out;
}

export function computeSubtopologies(graph: GraphView): Subtopology[] {
  const joinsOf = new Map<string, string[]>();
  for (const node of graph.nodes) {
    if (node.kind === 'join' && !node.global) joinsOf.set(node.table, [...(joinsOf.get(node.table) ?? []), node.name]);
  }
  const order = new Map(graph.nodes.map((node, index) => [node.name, index]));
  const seen = new Set<string>();
  const result: Subtopology[] = [];
  for (const start of graph.nodes) {
    if (seen.has(start.name)) continue;
    const members: TopologyNode[] = [];
    const stack = [start.name];
    seen.add(start.name);
    while (stack.length > 0) {
      const node = graph.node(stack.pop() as string);
      members.push(node);
      for (const next of neighbours(graph, node, joinsOf)) {
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    members.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    const sourceTopics = members.flatMap((n) => (n.kind === 'source' || n.kind === 'table' || n.kind === 'globalTable' ? [{ topic: n.topic, internal: n.internal }] : []));
    const stores = members.flatMap((n) => (n.kind === 'table' || n.kind === 'globalTable' || n.kind === 'aggregate' ? [{ node: n.name, store: n.store }] : []));
    result.push({ id: result.length, nodes: members, global: members.some((n) => n.kind === 'globalTable'), sourceTopics, stores });
  }
  return result;
}

/** Source topics (stream or table sources) that feed `name`, following parents. */
function upstreamSources(graph: GraphView, name: string): TopicRef[] {
  const seen = new Set<string>();
  const found: TopicRef[] = [];
  const stack = [name];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (seen.has(current)) continue;
    seen.add(current);
    const node = graph.node(current);
    if (node.kind === 'source' || node.kind === 'table') found.push({ topic: node.topic, internal: node.internal });
    stack.push(...node.parents);
  }
  return found;
}

/** A set of topics that must have the same partition count, and the joins that require it. */
export interface CopartitionGroup {
  readonly topics: readonly TopicRef[];
  /** Names of the join nodes that read these topics' partition N together. */
  readonly joins: readonly string[];
}

/**
 * For every join with a (non-global) table: the source topics of the stream side and of the table
 * side, which one task reads partition N of together. Groups sharing a topic are merged.
 */
export function computeCopartitionGroups(graph: GraphView): CopartitionGroup[] {
  let groups: Array<{ topics: Map<string, TopicRef>; joins: string[] }> = [];
  for (const node of graph.nodes) {
    if (node.kind !== 'join' || node.global) continue;
    const topics = new Map<string, TopicRef>();
    for (const ref of [...node.parents.flatMap((p) => upstreamSources(graph, p)), ...upstreamSources(graph, node.table)]) topics.set(ref.topic, ref);
    const overlapping = groups.filter((group) => [...topics.keys()].some((topic) => group.topics.has(topic)));
    const merged = { topics, joins: [node.name] };
    for (const group of overlapping) {
      for (const [topic, ref] of group.topics) merged.topics.set(topic, ref);
      merged.joins.unshift(...group.joins);
    }
    groups = [...groups.filter((group) => !overlapping.includes(group)), merged];
  }
  return groups.map((group) => ({ topics: [...group.topics.values()], joins: group.joins }));
}
