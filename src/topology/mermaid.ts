/**
 * A topology description as a Mermaid flowchart: one subgraph per sub-topology holding its
 * sources (stadiums), processors (boxes) and sinks (parallelograms); topics as cylinders outside
 * the subgraphs, so a repartition topic links the sub-topology writing it to the one reading it;
 * state stores as subroutine boxes tied to their nodes with dotted lines. Internal topics are
 * drawn dashed.
 *
 * Node names may hold any character, so Mermaid ids are derived from them (`[^A-Za-z0-9_]` → `_`)
 * and made unique, and never a keyword such as `end`; labels escape what Mermaid would parse.
 */
import type { NodeDescription, SubtopologyDescription } from './describe.ts';

/** Words Mermaid's flowchart grammar reads as keywords wherever an id may stand. */
const RESERVED = new Set(['end', 'subgraph', 'graph', 'flowchart', 'direction', 'style', 'class', 'classdef', 'click', 'linkstyle', 'call', 'href', 'default']);

/** Hands out ids that are valid, unique and stable for the same description. */
class Ids {
  private readonly used = new Set<string>();
  private readonly byKey = new Map<string, string>();

  id(key: string, base: string): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    let stem = base.replace(/[^A-Za-z0-9_]/g, '_');
    if (stem === '' || RESERVED.has(stem.toLowerCase())) stem = `n_${stem}`;
    let id = stem;
    for (let n = 2; this.used.has(id); n++) id = `${stem}_${n}`;
    this.used.add(id);
    this.byKey.set(key, id);
    return id;
  }
}

/** Text Mermaid shows as is inside a quoted label. */
export function mermaidLabel(text: string): string {
  return text.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function shape(node: NodeDescription, label: string): string {
  if (node.kind === 'source') return `(["${label}"])`;
  if (node.kind === 'sink') return `[/"${label}"/]`;
  return `["${label}"]`;
}

export function renderMermaid(description: { readonly subtopologies: readonly SubtopologyDescription[] }): string {
  const ids = new Ids();
  const { subtopologies } = description;
  for (const sub of subtopologies) ids.id(`sub:${sub.id}`, `sub${sub.id}`);
  for (const sub of subtopologies) for (const node of sub.nodes) ids.id(`node:${node.name}`, node.name);
  const nodeId = (name: string) => ids.id(`node:${name}`, name);

  const lines = ['flowchart TD'];
  const topics = new Map<string, { id: string; internal: boolean }>();
  const stores = new Map<string, string>();
  const links: string[] = [];
  for (const sub of subtopologies) {
    lines.push(`  subgraph ${ids.id(`sub:${sub.id}`, `sub${sub.id}`)}["Sub-topology ${sub.id}${sub.global ? ' (global)' : ''}"]`);
    for (const node of sub.nodes) {
      lines.push(`    ${nodeId(node.name)}${shape(node, `${mermaidLabel(node.name)}<br/>${mermaidLabel(node.type)}`)}`);
      if (node.topic !== undefined) {
        const topic = topics.get(node.topic) ?? { id: ids.id(`topic:${node.topic}`, `topic_${node.topic}`), internal: false };
        topic.internal ||= node.internal === true;
        topics.set(node.topic, topic);
        links.push(node.kind === 'source' ? `  ${topic.id} --> ${nodeId(node.name)}` : `  ${nodeId(node.name)} --> ${topic.id}`);
      }
      if (node.store !== undefined) {
        const store = stores.get(node.store) ?? ids.id(`store:${node.store}`, `store_${node.store}`);
        stores.set(node.store, store);
        links.push(`  ${nodeId(node.name)} -.- ${store}`);
      }
    }
    for (const node of sub.nodes) for (const successor of node.successors) lines.push(`    ${nodeId(node.name)} --> ${nodeId(successor)}`);
    lines.push('  end');
  }
  for (const [name, topic] of topics) lines.push(`  ${topic.id}[("${mermaidLabel(name)}")]`);
  for (const [name, id] of stores) lines.push(`  ${id}[["${mermaidLabel(`store: ${name}`)}"]]`);
  lines.push(...links);
  const internal = [...topics.values()].filter((topic) => topic.internal).map((topic) => topic.id);
  if (internal.length > 0) lines.push('  classDef internalTopic stroke-dasharray: 5 3', `  class ${internal.join(',')} internalTopic`);
  return `${lines.join('\n')}\n`;
}
