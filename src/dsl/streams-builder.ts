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
import type { SerdeSpec, TopologyNode } from '../topology/graph.ts';
import { Topology } from '../topology/topology.ts';
import { KStream } from './kstream.ts';
import type { BuilderOptions, SerdeOptions, StreamOptions } from './options.ts';

/** What KStream needs from its builder; not part of the public API. */
export interface GraphDraft {
  nextName(type: string): string;
  add(node: TopologyNode): void;
  /** The serdes an options object gives, with the builder's defaults for what it leaves out. */
  serdes(options: SerdeOptions): { readonly keySerde: SerdeSpec | undefined; readonly valueSerde: SerdeSpec | undefined };
}

export class StreamsBuilder {
  private readonly nodes: TopologyNode[] = [];
  private counter = 0;
  private built = false;
  private readonly draft: GraphDraft;

  constructor(options: BuilderOptions = {}) {
    this.draft = {
      nextName: (type) => `KSTREAM-${type}-${String(this.counter++).padStart(10, '0')}`,
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

  /** Validates the graph (serdes, topics, names, cycles) and freezes it. */
  build(): Topology {
    this.built = true;
    return new Topology([...this.nodes]);
  }
}
