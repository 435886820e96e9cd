/**
 * A validated, immutable topology: what `StreamsBuilder.build()` returns and what the runtime runs.
 */
import type { Serde } from '../serdes/serde.ts';
import { describeTopology, type TopologyDescription } from './describe.ts';
import type { SinkNode, SourceNode, StoreSpec, TopologyNode } from './graph.ts';
import { computeCopartitionGroups, computeSubtopologies, type CopartitionGroup, type Subtopology } from './subtopologies.ts';
import { planTasks, type TaskPlan } from './task-plan.ts';
import { validateTopology } from './validate.ts';

export class Topology {
  private readonly byName: ReadonlyMap<string, TopologyNode>;
  private readonly childrenOf: ReadonlyMap<string, readonly string[]>;
  /** Serdes resolved at build time, by `<node>.keySerde` / `<node>.valueSerde`. */
  readonly serdes: ReadonlyMap<string, Serde<unknown>>;

  private subtopologiesValue: readonly Subtopology[] | undefined;

  constructor(readonly nodes: readonly TopologyNode[]) {
    this.byName = new Map(nodes.map((node) => [node.name, node]));
    const children = new Map<string, string[]>(nodes.map((node) => [node.name, []]));
    for (const node of nodes) for (const parent of node.parents) children.get(parent)?.push(node.name);
    this.childrenOf = children;
    this.serdes = validateTopology(this);
  }

  node(name: string): TopologyNode {
    const node = this.byName.get(name);
    if (!node) throw new RangeError(`no node named ${name} in this topology`);
    return node;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  children(name: string): readonly string[] {
    return this.childrenOf.get(name) ?? [];
  }

  /** `name` and every node its records reach along data edges, in topology order. */
  descendants(name: string): TopologyNode[] {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      const current = stack.pop() as string;
      if (seen.has(current)) continue;
      seen.add(current);
      stack.push(...this.children(current));
    }
    return this.nodes.filter((node) => seen.has(node.name));
  }

  sources(): SourceNode[] {
    return this.nodes.filter((node): node is SourceNode => node.kind === 'source');
  }

  sinks(): SinkNode[] {
    return this.nodes.filter((node): node is SinkNode => node.kind === 'sink');
  }

  /**
   * The topic a source or topic sink uses on the log: internal (repartition) topics belong to one
   * application and are prefixed with its id, so two apps never share them.
   */
  static topicName(node: { readonly topic: string; readonly internal: boolean }, applicationId: string): string {
    return node.internal ? `${applicationId}-${node.topic}` : node.topic;
  }

  /** Connected components (a join links stream and table); ids match `describe()`. */
  subtopologies(): readonly Subtopology[] {
    this.subtopologiesValue ??= computeSubtopologies(this);
    return this.subtopologiesValue;
  }

  /** Sets of source topics that must have the same partition count because a join reads them together. */
  copartitionGroups(): readonly CopartitionGroup[] {
    return computeCopartitionGroups(this);
  }

  /**
   * The tasks to run given each topic's partition count (by full topic name), or the error naming
   * two joined topics whose counts differ. See `planTasks`.
   */
  planTasks(applicationId: string, partitionCount: (topic: string) => number | undefined): TaskPlan {
    return planTasks({ subtopologies: this.subtopologies(), copartitionGroups: this.copartitionGroups(), applicationId, partitionCount });
  }

  /** Every state store of the topology with the node that owns it. */
  stores(): Array<{ readonly node: string; readonly store: StoreSpec }> {
    return this.nodes.flatMap((node) => (node.kind === 'table' || node.kind === 'globalTable' || node.kind === 'aggregate' ? [{ node: node.name, store: node.store }] : []));
  }

  /** Resolved serde of a source, topic sink, table or aggregate; validation guarantees it exists. */
  serde(node: string, which: 'keySerde' | 'valueSerde'): Serde<unknown> {
    const serde = this.serdes.get(`${node}.${which}`);
    if (!serde) throw new RangeError(`no ${which} resolved for ${node}`);
    return serde;
  }

  /** Sub-topologies, sources, processors and sinks as plain data that prints as text or Mermaid. */
  describe(): TopologyDescription {
    return describeTopology(this);
  }
}
