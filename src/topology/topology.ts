/**
 * A validated, immutable topology: what `StreamsBuilder.build()` returns and what the runtime runs.
 */
import type { Serde } from '../serdes/serde.ts';
import { describeTopology, type TopologyDescription } from './describe.ts';
import type { SinkNode, SourceNode, TopologyNode } from './graph.ts';
import { validateTopology } from './validate.ts';

export class Topology {
  private readonly byName: ReadonlyMap<string, TopologyNode>;
  private readonly childrenOf: ReadonlyMap<string, readonly string[]>;
  /** Serdes resolved at build time, by `<node>.keySerde` / `<node>.valueSerde`. */
  readonly serdes: ReadonlyMap<string, Serde<unknown>>;

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

  /** Resolved serde of a source or topic sink; validation guarantees it exists. */
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
