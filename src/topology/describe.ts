/**
 * `Topology.describe()`: plain data about sub-topologies and their nodes, printable as text (in the
 * spirit of Kafka Streams' TopologyDescription) and as a Mermaid flowchart.
 */
import type { TopologyNode } from './graph.ts';
import type { Topology } from './topology.ts';

export interface NodeDescription {
  readonly name: string;
  readonly kind: 'source' | 'processor' | 'sink';
  /** What the node does: `map`, `filter`, `split`, `to`, `forEach`, ... */
  readonly type: string;
  /** The topic a source reads or a sink writes; absent for processors and forEach sinks. */
  readonly topic?: string;
  /** True for repartition topics (named `<applicationId>-<topic>` at run time). */
  readonly internal?: boolean;
  /** `key/value` serde names of sources and topic sinks. */
  readonly serdes?: string;
  readonly successors: readonly string[];
  readonly predecessors: readonly string[];
}

export interface SubtopologyDescription {
  readonly id: number;
  readonly nodes: readonly NodeDescription[];
}

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[];
  toString(): string;
  toMermaid(): string;
}

function describeNode(topology: Topology, node: TopologyNode): NodeDescription {
  const base = {
    name: node.name,
    type: node.type,
    successors: [...topology.children(node.name)],
    predecessors: [...node.parents],
  };
  if (node.kind === 'source' || (node.kind === 'sink' && node.sink === 'topic')) {
    const serdes = `${topology.serde(node.name, 'keySerde').name}/${topology.serde(node.name, 'valueSerde').name}`;
    return { ...base, kind: node.kind, topic: node.topic, internal: node.internal, serdes };
  }
  return { ...base, kind: node.kind === 'router' ? 'processor' : node.kind };
}

/** Connected components over parent/child edges; repartition topics separate them, as in Kafka Streams. */
function components(topology: Topology): TopologyNode[][] {
  const component = new Map<string, number>();
  const groups: TopologyNode[][] = [];
  for (const start of topology.nodes) {
    if (component.has(start.name)) continue;
    const id = groups.length;
    const members: TopologyNode[] = [];
    const stack = [start.name];
    component.set(start.name, id);
    while (stack.length > 0) {
      const name = stack.pop() as string;
      const node = topology.node(name);
      members.push(node);
      for (const neighbour of [...node.parents, ...topology.children(name)]) {
        if (!component.has(neighbour)) {
          component.set(neighbour, id);
          stack.push(neighbour);
        }
      }
    }
    const order = new Map(topology.nodes.map((node, index) => [node.name, index]));
    members.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    groups.push(members);
  }
  return groups;
}

const LABEL: Record<NodeDescription['kind'], string> = { source: 'Source:   ', processor: 'Processor:', sink: 'Sink:     ' };

function nodeDetail(node: NodeDescription): string {
  if (node.topic !== undefined) {
    return `(${node.type}, topic: ${node.topic}${node.internal ? ' [internal]' : ''}, serdes: ${node.serdes ?? '?'})`;
  }
  return `(${node.type})`;
}

function toText(subtopologies: readonly SubtopologyDescription[]): string {
  const lines = ['Topologies:'];
  for (const sub of subtopologies) {
    lines.push(`  Sub-topology: ${sub.id}`);
    for (const node of sub.nodes) {
      lines.push(`    ${LABEL[node.kind]} ${node.name} ${nodeDetail(node)}`);
      if (node.successors.length > 0) lines.push(`      --> ${node.successors.join(', ')}`);
      if (node.predecessors.length > 0) lines.push(`      <-- ${node.predecessors.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const mermaidId = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
const mermaidText = (text: string) => text.replace(/"/g, '#quot;');

function toMermaid(subtopologies: readonly SubtopologyDescription[]): string {
  const lines = ['flowchart TD'];
  const topics = new Set<string>();
  const topicEdges: string[] = [];
  for (const sub of subtopologies) {
    lines.push(`  subgraph sub${sub.id}["Sub-topology ${sub.id}"]`);
    for (const node of sub.nodes) {
      const label = mermaidText(`${node.name}<br/>${node.type}`);
      const shape = node.kind === 'source' ? `(["${label}"])` : node.kind === 'sink' ? `[/"${label}"/]` : `["${label}"]`;
      lines.push(`    ${mermaidId(node.name)}${shape}`);
      if (node.topic !== undefined) {
        const topicId = `topic_${mermaidId(node.topic)}`;
        topics.add(`  ${topicId}[("${mermaidText(node.topic)}")]`);
        topicEdges.push(node.kind === 'source' ? `  ${topicId} --> ${mermaidId(node.name)}` : `  ${mermaidId(node.name)} --> ${topicId}`);
      }
    }
    for (const node of sub.nodes) {
      for (const successor of node.successors) lines.push(`    ${mermaidId(node.name)} --> ${mermaidId(successor)}`);
    }
    lines.push('  end');
  }
  return `${[...lines, ...topics, ...topicEdges].join('\n')}\n`;
}

export function describeTopology(topology: Topology): TopologyDescription {
  const subtopologies = components(topology).map((members, id) => ({
    id,
    nodes: members.map((node) => describeNode(topology, node)),
  }));
  return {
    subtopologies,
    toString: () => toText(subtopologies),
    toMermaid: () => toMermaid(subtopologies),
  };
}
