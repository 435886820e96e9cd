import type { StoreLayers } from '../topology/graph.ts';
import type { StoreOptions } from './options.ts';

/** The layers of a store as the graph keeps them: what `materialize()` takes besides name and serdes. */
export function storeLayers<K, V>(options: StoreOptions<K, V> | undefined): StoreLayers {
  if (options === undefined) return {};
  const { name: _name, ...layers } = options;
  // The graph is untyped wiring: the loader and sizeOf take the K and V the DSL checked, and the
  // runtime hands them only values decoded with this store's serdes.
  return layers as unknown as StoreLayers;
}
