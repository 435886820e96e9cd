/**
 * Build-time checks. Each error names the node and the option to fix, so a broken topology fails
 * when it is built, not when the first record arrives.
 */
import { TopologyError } from '../errors/streams-error.ts';
import type { Serde } from '../serdes/serde.ts';
import { resolveSerde } from '../serdes/serde-registry.ts';
import type { AggregateNode, GlobalTableNode, SerdeSpec, SourceNode, TableSourceNode, TopologyNode } from './graph.ts';
import type { Topology } from './topology.ts';

function resolveNodeSerde(node: TopologyNode, option: 'keySerde' | 'valueSerde', spec: SerdeSpec | undefined): Serde<unknown> {
  if (spec === undefined) {
    // The DSL inserts repartition topics for joins and groupBy too: point at every call that can carry the serde.
    const where = node.type === 'repartition' ? 'repartition() (or to the join(), groupBy() or groupByKey() that inserted it)' : `${node.type}()`;
    throw new TopologyError(
      `${node.name}: option ${option} is missing; pass { ${option} } to ${where} or set a default ${option} on the StreamsBuilder`,
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

/** Nodes that consume a topic: stream sources and (global) tables. */
function readsTopic(node: TopologyNode): node is SourceNode | TableSourceNode | GlobalTableNode {
  return node.kind === 'source' || node.kind === 'table' || node.kind === 'globalTable';
}

function checkTopicsAndOptions(topology: Topology): void {
  const sourceOf = new Map<string, string>();
  for (const node of topology.nodes) {
    if (readsTopic(node) || (node.kind === 'sink' && node.sink === 'topic')) {
      if (typeof node.topic !== 'string' || node.topic.trim() === '') {
        throw new TopologyError(`${node.name}: option topic is empty; name the topic this ${node.type}() ${node.kind === 'sink' ? 'writes' : 'reads'}`, {
          context: { node: node.name },
        });
      }
    }
    if (readsTopic(node)) {
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
  if (!topology.nodes.some(readsTopic)) {
    throw new TopologyError('the topology has no source; start it with builder.stream(topic, options)');
  }
}

/** Records written to a topic the same topology reads come back in: a loop that never ends. */
function checkCycles(topology: Topology): void {
  const sourcesByTopic = new Map<string, string>();
  for (const node of topology.nodes) if (readsTopic(node)) sourcesByTopic.set(node.topic, node.name);
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

function windowError(node: AggregateNode, option: string, rule: string, value: number): TopologyError {
  return new TopologyError(`${node.name}: option windows.${option} ${rule} (got ${String(value)})`, { context: { node: node.name } });
}

function checkWindow(node: AggregateNode): void {
  const { window } = node;
  if (window === undefined) return;
  if (!(Number.isFinite(window.sizeMs) && window.sizeMs > 0)) throw windowError(node, 'size', 'must be a positive number of milliseconds', window.sizeMs);
  if (!(Number.isFinite(window.graceMs) && window.graceMs >= 0)) throw windowError(node, 'grace', 'must be 0 or more milliseconds', window.graceMs);
  if (!(Number.isFinite(window.advanceMs) && window.advanceMs > 0)) throw windowError(node, 'advance', 'must be a positive number of milliseconds', window.advanceMs);
  if (window.advanceMs > window.sizeMs) throw windowError(node, 'advance', `must not exceed the window size ${window.sizeMs}`, window.advanceMs);
}

/** Joins read a table of this topology; stores have unique names usable in a changelog topic name. */
function checkTablesAndStores(topology: Topology): void {
  const stores = new Map<string, string>();
  for (const { node, store } of topology.stores()) {
    if (!/^[A-Za-z0-9._-]+$/.test(store.name)) {
      throw new TopologyError(`${node}: option store.name ${JSON.stringify(store.name)} is invalid; use letters, digits, '.', '_' and '-' (it names the changelog topic)`, {
        context: { node },
      });
    }
    const other = stores.get(store.name);
    if (other !== undefined) {
      throw new TopologyError(`${node}: store name ${store.name} is already used by ${other}; give one of them another { store: { name } }`, { context: { node } });
    }
    stores.set(store.name, node);
  }
  for (const node of topology.nodes) {
    if (node.kind === 'aggregate') checkWindow(node);
    if (node.kind !== 'join') continue;
    const table = topology.has(node.table) ? topology.node(node.table) : undefined;
    if (table === undefined || !(table.kind === 'table' || table.kind === 'globalTable' || table.kind === 'aggregate')) {
      throw new TopologyError(`${node.name}: option table names ${node.table}, which is not a table of this topology`, { context: { node: node.name } });
    }
  }
}

/** Validates the topology and returns its resolved serdes keyed `<node>.<option>`. */
export function validateTopology(topology: Topology): Map<string, Serde<unknown>> {
  checkNames(topology);
  checkTopicsAndOptions(topology);
  checkCycles(topology);
  checkTablesAndStores(topology);
  const serdes = new Map<string, Serde<unknown>>();
  for (const node of topology.nodes) {
    if (readsTopic(node) || node.kind === 'aggregate' || (node.kind === 'sink' && node.sink === 'topic')) {
      serdes.set(`${node.name}.keySerde`, resolveNodeSerde(node, 'keySerde', node.keySerde));
      serdes.set(`${node.name}.valueSerde`, resolveNodeSerde(node, 'valueSerde', node.valueSerde));
    }
  }
  return serdes;
}
