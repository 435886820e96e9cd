/**
 * Build-time checks. Each error names the node and the option to fix, so a broken topology fails
 * when it is built, not when the first record arrives.
 */
import { TopologyError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { resolveSerde } from '../serdes/serde-registry.ts';
import type { SerdeSpec, TopologyNode } from './graph.ts';
import type { Topology } from './topology.ts';

function resolveNodeSerde(node: TopologyNode, option: 'keySerde' | 'valueSerde', spec: SerdeSpec | undefined): Serde<unknown> {
  if (spec === undefined) {
    throw new TopologyError(
      `${node.name}: option ${option} is missing; pass { ${option} } to ${node.type}() or set a default ${option} on the StreamsBuilder`,
      { context: { node: node.name } },
    );
  }
  return resolveSerde(spec, { node: node.name, option });
}

function checkNames(topology: Topology): void {
  const seen = new Set<string>();
  for (const node of topology.nodes) {
    if (!node.name) throw new TopologyError(`a ${node.type} node has an empty name; pass a non-empty { name }`);
    if (seen.has(node.name)) {
      throw new TopologyError(`${node.name}: two nodes share this name; give one of them another { name }`, { context: { node: node.name } });
    }
    seen.add(node.name);
  }
  for (const node of topology.nodes) {
    for (const parent of node.parents) {
      if (!seen.has(parent)) throw new TopologyError(`${node.name}: parent ${parent} is not part of this topology`, { context: { node: node.name } });
    }
  }
}

function checkTopicsAndOptions(topology: Topology): void {
  const sourceOf = new Map<string, string>();
  for (const node of topology.nodes) {
    if (node.kind === 'source' || (node.kind === 'sink' && node.sink === 'topic')) {
      if (typeof node.topic !== 'string' || node.topic.trim() === '') {
        throw new TopologyError(`${node.name}: option topic is empty; name the topic this ${node.type}() ${node.kind === 'source' ? 'reads' : 'writes'}`, {
          context: { node: node.name },
        });
      }
    }
    if (node.kind === 'source') {
      const other = sourceOf.get(node.topic);
      if (other) {
        throw new TopologyError(`${node.name}: topic ${node.topic} is already read by ${other}; read it once and share the stream`, {
          context: { node: node.name },
        });
      }
      sourceOf.set(node.topic, node.name);
    }
    if (node.kind === 'sink' && node.sink === 'forEach' && !(Number.isInteger(node.concurrency) && node.concurrency >= 1)) {
      throw new TopologyError(`${node.name}: option concurrency must be a whole number >= 1 (got ${String(node.concurrency)})`, {
        context: { node: node.name },
      });
    }
    if (node.kind === 'router' && node.routes.length === 0) {
      throw new TopologyError(`${node.name}: split() has no branches; add at least one branch()`, { context: { node: node.name } });
    }
  }
  if (!topology.nodes.some((node) => node.kind === 'source')) {
    throw new TopologyError('the topology has no source; start it with builder.stream(topic, options)');
  }
}

/** Records written to a topic the same topology reads come back in: a loop that never ends. */
function checkCycles(topology: Topology): void {
  const sourcesByTopic = new Map<string, string>();
  for (const source of topology.sources()) sourcesByTopic.set(source.topic, source.name);
  const next = (name: string): string[] => {
    const node = topology.node(name);
    const out = [...topology.children(name)];
    if (node.kind === 'sink' && node.sink === 'topic') {
      const source = sourcesByTopic.get(node.topic);
      if (source) out.push(source);
    }
    return out;
  };
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    path.push(name);
    for (const child of next(name)) {
      if (state.get(child) === 'visiting') {
        const cycle = [...path.slice(path.indexOf(child)), child].join(' -> ');
        throw new TopologyError(`${name}: the topology has a cycle (${cycle}); a sink writes a topic that feeds back into itself`, {
          context: { node: name },
        });
      }
      if (!state.has(child)) visit(child);
    }
    path.pop();
    state.set(name, 'done');
  };
  for (const node of topology.nodes) if (!state.has(node.name)) visit(node.name);
}

/** Validates the topology and returns its resolved serdes keyed `<node>.<option>`. */
export function validateTopology(topology: Topology): Map<string, Serde<unknown>> {
  checkNames(topology);
  checkTopicsAndOptions(topology);
  checkCycles(topology);
  const serdes = new Map<string, Serde<unknown>>();
  for (const node of topology.nodes) {
    if (node.kind === 'source' || (node.kind === 'sink' && node.sink === 'topic')) {
      serdes.set(`${node.name}.keySerde`, resolveNodeSerde(node, 'keySerde', node.keySerde));
      serdes.set(`${node.name}.valueSerde`, resolveNodeSerde(node, 'valueSerde', node.valueSerde));
    }
  }
  return serdes;
}
