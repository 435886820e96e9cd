/**
 * Options objects of the DSL: one per call, every field optional unless the call cannot work
 * without it.
 */
import type { SerdeSpec } from '../topology/graph.ts';

export interface Named {
  /** Overrides the generated node name (`KSTREAM-MAP-0000000003`); shown by describe() and in DLQ headers. */
  readonly name?: string;
}

export interface SerdeOptions {
  /** A Serde, or the name of a built-in one: `string`, `json`, `bytes`. Default: the builder's default. */
  readonly keySerde?: SerdeSpec;
  readonly valueSerde?: SerdeSpec;
}

export type StreamOptions = Named & SerdeOptions;
export type ToOptions = Named & SerdeOptions;

export interface RepartitionOptions extends Named, SerdeOptions {
  /** Partitions of the repartition topic; default: as many as the widest input topic. */
  readonly partitions?: number;
}

export interface ForEachOptions extends Named {
  /** How many records may be in the action at once; default 1 (strictly in order). */
  readonly concurrency?: number;
}

export interface TransformOptions extends Named {
  /**
   * True (default) when the operators keep input order, so an input they neither emit nor hold by
   * the time a later one comes out counts as dropped. Set false for reordering operators.
   */
  readonly ordered?: boolean;
}

export interface BuilderOptions {
  readonly defaultKeySerde?: SerdeSpec;
  readonly defaultValueSerde?: SerdeSpec;
}
