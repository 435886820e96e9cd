import { TopologyError } from '../errors/streams-error.ts';
import { bytesSerde } from './bytes-serde.ts';
import { jsonSerde } from './json-serde.ts';
import type { Serde } from './serde.ts';
import { stringSerde } from './string-serde.ts';

/** The serdes a topology may name by a string instead of passing a `Serde` object. */
export const BUILT_IN_SERDE_NAMES = ['string', 'json', 'bytes'] as const;

export type BuiltInSerdeName = (typeof BUILT_IN_SERDE_NAMES)[number];

/** A serde as a topology option: a `Serde` object or the name of a built-in one. */
export type SerdeSpec = Serde<unknown> | BuiltInSerdeName;

/** The serde a spec resolves to, typed: `'string'` gives `Serde<string>`, a `Serde<T>` stays itself. */
export type ResolvedSerde<S> = S extends Serde<infer T>
  ? Serde<T>
  : S extends 'string'
    ? Serde<string>
    : S extends 'bytes'
      ? Serde<Buffer>
      : Serde<unknown>;

/** Where a serde spec was given, so the build-time error can name the node and the option. */
export interface SerdeSpecSite {
  /** The topology node, e.g. `KSTREAM-SOURCE-0000000000`. */
  readonly node?: string;
  /** The option that held the spec, e.g. `valueSerde`. */
  readonly option?: string;
}

const BUILT_INS: Readonly<Record<BuiltInSerdeName, () => Serde<unknown>>> = {
  string: stringSerde as () => Serde<unknown>,
  json: () => jsonSerde(),
  bytes: bytesSerde as () => Serde<unknown>,
};

/**
 * Turns a serde option into a `Serde`, or throws a `TopologyError` (`SERDE_UNKNOWN`) that lists
 * the known names.
 *
 * Topologies call it while they are built, so a typo (`'strnig'`) or a missing serde fails before
 * any record is consumed, naming the node and the option instead of crashing on the first record.
 *
 * @example
 * const keySerde = resolveSerde(options.keySerde ?? 'string', { node: 'KSTREAM-SOURCE-0000000000', option: 'keySerde' });
 */
export function resolveSerde<S extends SerdeSpec>(spec: S, site: SerdeSpecSite = {}): ResolvedSerde<S> {
  if (typeof spec === 'string') {
    if (Object.hasOwn(BUILT_INS, spec)) return BUILT_INS[spec as BuiltInSerdeName]() as ResolvedSerde<S>;
  } else if (isSerde(spec)) {
    return spec as unknown as ResolvedSerde<S>;
  }
  throw new TopologyError(`${siteLabel(site)}unknown serde ${describeSpec(spec)}; known serdes: ${BUILT_IN_SERDE_NAMES.join(', ')}, or pass a Serde object`, {
    code: 'SERDE_UNKNOWN',
    context: site.node === undefined ? {} : { node: site.node },
  });
}

/** True for an object with the `Serde` shape: a string `name` and `serialize`/`deserialize` functions. */
export function isSerde(value: unknown): value is Serde<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Serde<unknown>, unknown>>;
  return typeof candidate.name === 'string' && typeof candidate.serialize === 'function' && typeof candidate.deserialize === 'function';
}

function siteLabel(site: SerdeSpecSite): string {
  const parts = [site.node, site.option].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? '' : `${parts.join(' ')}: `;
}

function describeSpec(spec: unknown): string {
  if (typeof spec === 'string') return JSON.stringify(spec.length > 40 ? `${spec.slice(0, 40)}…` : spec);
  if (spec === undefined || spec === null) return String(spec);
  return `(a ${typeof spec === 'object' ? 'object without name/serialize/deserialize' : typeof spec})`;
}
