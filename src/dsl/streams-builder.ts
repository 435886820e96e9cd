/**
 * Entry point of the DSL: declare input streams, chain steps on them, then `build()` a validated
 * `Topology`. Pure graph building; nothing here touches a broker.
 *
 * @example
 * const builder = new StreamsBuilder({ defaultKeySerde: 'string' });
 * builder.stream<string, Rating>('ratings', { valueSerde: 'json' })
 *   .filter((_key, rating) => rating.score >= 1)
 *   .to('ratings_clean', { valueSerde: 'json' });
 * const topology = builder.build();
 */
import { TopologyError } from '../errors/streams-error.ts';
import type { SerdeSpec, StoreSpec, TopologyNode } from '../topology/graph.ts';
import { Topology } from '../topology/topology.ts';
import { GlobalKTable } from './global-ktable.ts';
import { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import type { BuilderOptions, SerdeOptions, StreamOptions, TableOptions } from './options.ts';
import { storeLayers } from './store-layers.ts';

/** What KStream needs from its builder; not part of the public API. */
export interface GraphDraft {
  /** A generated node name, `<prefix>-<type>-<counter>` (prefix `KSTREAM` unless given). */
  nextName(type: string, prefix?: string): string;
  /** The next counter value, zero-padded, for names the DSL composes itself (store names). */
  nextIndex(): string;
  /** Records a mistake found while composing; `build()` throws the first one. */
  fail(error: TopologyError): void;
  add(node: TopologyNode): void;
  /** The serdes an options object gives, with the builder's defaults for what it leaves out. */
  serdes(options: SerdeOptions): { readonly keySerde: SerdeSpec | undefined; readonly valueSerde: SerdeSpec | undefined };
}

export class StreamsBuilder {
  private readonly nodes: TopologyNode[] = [];
  private counter = 0;
  private built = false;
  private readonly problems: TopologyError[] = [];
  private readonly draft: GraphDraft;

  constructor(options: BuilderOptions = {}) {
    this.draft = {
      nextIndex: () => String(this.counter++).padStart(10, '0'),
      nextName: (type, prefix = 'KSTREAM') => `${prefix}-${type}-${this.draft.nextIndex()}`,
      fail: (error) => void this.problems.push(error),
      add: (node) => {
        if (this.built) throw new TopologyError(`${node.name}: the topology was already built; start a new StreamsBuilder`);
        this.nodes.push(node);
      },
      serdes: (given) => ({ keySerde: given.keySerde ?? options.defaultKeySerde, valueSerde: given.valueSerde ?? options.defaultValueSerde }),
    };
  }

  /** A stream of the records of `topic`, decoded with the given serdes. */
  stream<K, V>(topic: string, options: StreamOptions = {}): KStream<K, V> {
    const name = options.name ?? this.draft.nextName('SOURCE');
    this.draft.add({
      kind: 'source',
      type: 'stream',
      name,
      parents: [],
      topic,
      internal: false,
      ...this.draft.serdes(options),
    });
    return new KStream<K, V>(this.draft, name);
  }

  /**
   * A table of the latest value per key of `topic` (a `null` value deletes the key), kept in a
   * store chosen by `options.store`. Its changelog is the (compacted) topic itself: the store is
   * restored from it, and nothing else is written.
   *
   * @example
   * const users = builder.table<string, User>('users', { valueSerde: 'json', store: { name: 'users', cache: { maxEntries: 10_000 } } });
   */
  table<K, V>(topic: string, options: TableOptions<K, V> = {}): KTable<K, V> {
    const name = options.name ?? this.draft.nextName('SOURCE', 'KTABLE');
    const store = this.sourceStore(topic, options);
    this.draft.add({ kind: 'table', type: 'table', name, parents: [], topic, internal: false, ...this.draft.serdes(options), store });
    return new KTable<K, V>(this.draft, name, store.name);
  }

  /**
   * Like `table()`, but every instance reads every partition of `topic`, so a stream can join it
   * on any key it computes (`stream.join(globalTable, keySelector, joiner)`) without
   * co-partitioning or repartitioning.
   */
  globalTable<K, V>(topic: string, options: TableOptions<K, V> = {}): GlobalKTable<K, V> {
    const name = options.name ?? this.draft.nextName('GLOBAL-SOURCE', 'KTABLE');
    const store = this.sourceStore(topic, options);
    this.draft.add({ kind: 'globalTable', type: 'globalTable', name, parents: [], topic, internal: false, ...this.draft.serdes(options), store });
    return new GlobalKTable<K, V>(this.draft, name, store.name);
  }

  private sourceStore<K, V>(topic: string, options: TableOptions<K, V>): StoreSpec {
    const name = options.store?.name ?? `${topic}-STATE-STORE-${this.draft.nextIndex()}`;
    return { name, layers: storeLayers(options.store), changelog: { topic, internal: false } };
  }

  /** Validates the graph (serdes, topics, names, cycles, tables, windows, stores) and freezes it. */
  build(): Topology {
    this.built = true;
    const [problem] = this.problems;
    if (problem) throw problem;
    return new Topology([...this.nodes]);
  }
}
