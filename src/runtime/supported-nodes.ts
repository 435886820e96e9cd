/**
 * The runtime runs streams only: tables, joins and aggregations are in the topology model (see
 * `topology/graph.ts`) but no task can run them yet. Refusing them up front beats a task that
 * silently drops every record reaching a join.
 */
import { ConfigError } from '../errors/streams-error.ts';
import type { Topology } from '../topology/topology.ts';

const UNSUPPORTED = new Set(['table', 'globalTable', 'join', 'aggregate']);

/** Throws a `ConfigError` naming the first table, join or aggregation node of `topology`. */
export function assertRuntimeSupports(topology: Topology): void {
  const node = topology.nodes.find((candidate) => UNSUPPORTED.has(candidate.kind));
  if (node === undefined) return;
  throw new ConfigError(`${node.name}: tables are not supported by this runtime yet (node kind ${node.kind}, ${node.type}()); only stream steps can run for now`, {
    context: { node: node.name },
  });
}
