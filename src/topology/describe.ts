/**
 * `Topology.describe()`: plain data about sub-topologies and their nodes, printable as text (in the
 * spirit of Kafka Streams' TopologyDescription) and as a Mermaid flowchart.
 */
import type { TopologyNode } from './graph.ts';
import { renderMermaid } from './mermaid.ts';
import type { Topology } from './topology.ts';

export interface NodeDescription {
  readonly name: string;
  /** Tables show as sources, joins and aggregations as processors, as in Kafka Streams. */
  readonly kind: 'source' | 'processor' | 'sink';
  /** What the node does: `map`, `filter`, `split`, `to`, `forEach`, `table`, `join`, `count`, ... */
  readonly type: string;
  /** The topic a source or table reads or a sink writes; absent for processors and forEach sinks. */
  readonly topic?: string;
  /** True for repartition topics (named `<applicationId>-<topic>` at run time). */
  readonly internal?: boolean;
  /** `key/value` serde names of sources, tables, aggregations and topic sinks. */
  readonly serdes?: string;
  /** The state store a table or aggregation owns, or a join reads. */
  readonly store?: string;
  /** The store's changelog topic when it has its own (`<applicationId>-<store>-changelog` at run time). */
  readonly changelog?: string;
  /** The table node a join reads. */
  readonly table?: string;
  /** Window of an aggregation: `size 60000 ms, advance 60000 ms, grace 0 ms, emit onWindowClose`. */
  readonly window?: string;
  readonly successors: readonly string[];
  readonly predecessors: readonly string[];
}

export interface SubtopologyDescription {
  readonly id: number;
  /** A global table's sub-topology: every instance reads it whole; it generates no tasks. */
  readonly global?: boolean;
  readonly nodes: readonly NodeDescription[];
}

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[];
  toString(): string;
  toMermaid(): string;
}

function serdeNames(topology: Topology, name: string): string {
  return `${topology.serde(name, 'keySerde').name}/${topology.serde(name, 'valueSerde').name}`;
}

function describeNode(topology: Topology, node: TopologyNode): NodeDescription {
  const base = {
    name: node.name,
    type: node.type,
    successors: [...topology.children(node.name)],
    predecessors: [...node.parents],
  };
  switch (node.kind) {
    case 'source':
      return { ...base, kind: 'source', topic: node.topic, internal: node.internal, serdes: serdeNames(topology, node.name) };
    case 'sink':
      if (node.sink !== 'topic') return { ...base, kind: 'sink' };
      return { ...base, kind: 'sink', topic: node.topic, internal: node.internal, serdes: serdeNames(topology, node.name) };
    case 'table':
    case 'globalTable':
      return { ...base, kind: 'source', topic: node.topic, internal: node.internal, serdes: serdeNames(topology, node.name), store: node.store.name };
    case 'join':
      return { ...base, kind: 'processor', table: node.table, store: node.store };
    case 'aggregate': {
      const changelog = `${node.store.changelog.topic}${node.store.changelog.internal ? ' [internal]' : ''}`;
      const { window } = node;
      const windowText =
        window === undefined ? {} : { window: `size ${window.sizeMs} ms, advance ${window.advanceMs} ms, grace ${window.graceMs} ms, emit ${node.emit}` };
      return { ...base, kind: 'processor', serdes: serdeNames(topology, node.name), store: node.store.name, changelog, ...windowText };
    }
    case 'processor':
    case 'router':
      return { ...base, kind: 'processor' };
  }
}

const LABEL: Record<NodeDescription['kind'], string> = { source: 'Source:   ', processor: 'Processor:', sink: 'Sink:     ' };

function nodeDetail(node: NodeDescription): string {
  const parts = [node.type];
  if (node.topic !== undefined) parts.push(`topic: ${node.topic}${node.internal ? ' [internal]' : ''}`, `serdes: ${node.serdes ?? '?'}`);
  else if (node.serdes !== undefined) parts.push(`serdes: ${node.serdes}`);
  if (node.table !== undefined) parts.push(`table: ${node.table}`);
  if (node.store !== undefined) parts.push(`store: ${node.store}`);
  if (node.changelog !== undefined) parts.push(`changelog: ${node.changelog}`);
  if (node.window !== undefined) parts.push(`window: ${node.window}`);
  return `(${parts.join(', ')})`;
}

function toText(subtopologies: readonly SubtopologyDescription[]): string {
  const lines = ['Topologies:'];
  for (const sub of subtopologies) {
    lines.push(`  Sub-topology: ${sub.id}${sub.global ? ' for global store (will not generate tasks)' : ''}`);
    for (const node of sub.nodes) {
      lines.push(`    ${LABEL[node.kind]} ${node.name} ${nodeDetail(node)}`);
      if (node.successors.length > 0) lines.push(`      --> ${node.successors.join(', ')}`);
      if (node.predecessors.length > 0) lines.push(`      <-- ${node.predecessors.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function describeTopology(topology: Topology): TopologyDescription {
  const subtopologies = topology.subtopologies().map((sub) => ({
    id: sub.id,
    ...(sub.global ? { global: true } : {}),
    nodes: sub.nodes.map((node) => describeNode(topology, node)),
  }));
  return {
    subtopologies,
    toString: () => toText(subtopologies),
    toMermaid: () => renderMermaid({ subtopologies }),
  };
}
