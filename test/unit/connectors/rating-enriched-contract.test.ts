/**
 * The `ratings_enriched` contract cannot drift: the TypeScript `RatingEnriched` (with its nested
 * profile) and `topologies/schemas/rating-enriched.avsc` have the same fields, nullability and kinds
 * (checked by the compiler on a typed sample and tables, and at run time against the schema), and
 * the schema stays compatible with version 1 (stored in test/fixtures/avro) both ways: new readers
 * read old data, old readers read new data, and plain-binary readers of version 1 find its fields
 * first, unchanged.
 */
import { readFileSync } from 'node:fs';
import avro, { type Schema, type Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { RATING_ENRICHED_SCHEMA_PATH, ratingEnrichedSerde, type EnrichedUserProfile, type RatingEnriched } from '../../../src/connectors/openclaw/rating-enriched.ts';

interface FieldSchema {
  readonly name: string;
  readonly type: unknown;
  readonly default?: unknown;
}
interface RecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly fields: readonly FieldSchema[];
}

const V1_PATH = new URL('../../fixtures/avro/rating-enriched.v1.avsc', import.meta.url);
const readSchema = (path: string | URL) => JSON.parse(readFileSync(path, 'utf8')) as RecordSchema;
const current = readSchema(RATING_ENRICHED_SCHEMA_PATH);
const v1 = readSchema(V1_PATH);
/** Plain avsc, nothing from this project: what a subscriber has. */
const typeOf = (schema: RecordSchema): Type => avro.Type.forSchema(schema as unknown as Schema);

/** Every key of T, optional ones included, with T's value types: a literal of it must name all and only them. */
type Complete<T> = { [K in keyof Required<T>]: T[K] };
type Kind<V> = NonNullable<V> extends string ? 'string' : NonNullable<V> extends number ? 'number' : NonNullable<V> extends boolean ? 'boolean' : 'record';
/** Per key: is null allowed, and what is it otherwise. A literal of it compiles only if it says what T says. */
type Shape<T> = { [K in keyof Required<T>]: { readonly nullable: null extends T[K] ? true : false; readonly kind: Kind<T[K]> } };

const profileSample: Complete<EnrichedUserProfile> = { id: 'u1', name: 'Zoë', email: 'zoe@example.com', tier: 'gold', updatedAt: '2026-11-25T10:00:00.000Z' };
const sample: Complete<RatingEnriched> = {
  id: 'r1',
  productId: 'p1',
  userId: 'u1',
  score: 5,
  comment: 'très bien',
  timestamp: 1_700_000_000_000,
  userProfile: profileSample,
  enrichedAt: 1_700_000_000_123,
};

const profileShape = {
  id: { nullable: false, kind: 'string' },
  name: { nullable: true, kind: 'string' },
  email: { nullable: true, kind: 'string' },
  tier: { nullable: true, kind: 'string' },
  updatedAt: { nullable: true, kind: 'string' },
} as const satisfies Shape<EnrichedUserProfile>;
const shape = {
  id: { nullable: false, kind: 'string' },
  productId: { nullable: false, kind: 'string' },
  userId: { nullable: false, kind: 'string' },
  score: { nullable: false, kind: 'number' },
  comment: { nullable: true, kind: 'string' },
  timestamp: { nullable: false, kind: 'number' },
  userProfile: { nullable: true, kind: 'record' },
  enrichedAt: { nullable: false, kind: 'number' },
} as const satisfies Shape<RatingEnriched>;

// `satisfies` checks each entry but lets a key be missing when the table is wider: close that gap.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const shapesComplete: [SameKeys<typeof shape, Required<RatingEnriched>>, SameKeys<typeof profileShape, Required<EnrichedUserProfile>>] = [true, true];

/** A field's nullability and kind as the schema says it; the record type of a nested record. */
function fieldShape(field: FieldSchema): { nullable: boolean; kind: string; record?: RecordSchema } {
  const branches = Array.isArray(field.type) ? (field.type as unknown[]) : [field.type];
  const nonNull = branches.filter((branch) => branch !== 'null');
  expect(nonNull, `${field.name}: one type besides null`).toHaveLength(1);
  const [type] = nonNull;
  const nullable = branches.length > nonNull.length;
  if (typeof type === 'object' && type !== null && (type as RecordSchema).type === 'record') return { nullable, kind: 'record', record: type as RecordSchema };
  const kinds: Record<string, string> = { string: 'string', int: 'number', long: 'number', float: 'number', double: 'number', boolean: 'boolean' };
  return { nullable, kind: kinds[String(type)] ?? `unsupported ${JSON.stringify(type)}` };
}

function expectSameShape(schema: RecordSchema, table: Record<string, { nullable: boolean; kind: string }>, value: Record<string, unknown>): void {
  const names = schema.fields.map((field) => field.name);
  expect([...names].sort(), `${schema.name}: schema fields vs TypeScript fields`).toEqual(Object.keys(table).sort());
  expect([...names].sort(), `${schema.name}: schema fields vs the typed sample's keys`).toEqual(Object.keys(value).sort());
  for (const field of schema.fields) {
    const { record, ...found } = fieldShape(field);
    expect(found, `${schema.name}.${field.name}`).toEqual(table[field.name]);
    // A nullable field must be optional for readers of older data: its default is null.
    if (found.nullable) expect(field.default, `${schema.name}.${field.name} default`).toBeNull();
    if (record !== undefined) expectSameShape(record, profileShape, profileSample as unknown as Record<string, unknown>);
  }
}

const compatible = (reader: Type, writer: Type): boolean => {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
};

const withFields = (schema: RecordSchema, fields: readonly FieldSchema[]): RecordSchema => ({ ...schema, fields });

describe('the ratings_enriched contract', () => {
  it('has the same fields, nullability and kinds in RatingEnriched / EnrichedUserProfile as in the schema file', () => {
    expect(shapesComplete).toEqual([true, true]);
    expect(`${current.namespace}.${current.name}`).toBe('com.ubos.openclaw.RatingEnriched');
    expectSameShape(current, shape, sample as unknown as Record<string, unknown>);
  });

  it('round-trips the typed sample through the schema file, with and without a profile', () => {
    const type = typeOf(current);
    expect(type.fromBuffer(type.toBuffer(sample))).toEqual(sample);
    const anonymous: RatingEnriched = { ...sample, comment: null, userProfile: null };
    expect(type.fromBuffer(type.toBuffer(anonymous))).toEqual(anonymous);
    // The project's serde writes exactly what plain avsc writes.
    expect(ratingEnrichedSerde().serialize(sample, 'ratings_enriched')).toEqual(type.toBuffer(sample));
  });

  it('reads data written with version 1, and version 1 reads data written with it', () => {
    const now = typeOf(current);
    const old = typeOf(v1);
    expect(now.decode(old.toBuffer(sample), 0, now.createResolver(old)).value).toEqual(sample);
    expect(old.decode(now.toBuffer(sample), 0, old.createResolver(now)).value).toEqual(old.fromBuffer(old.toBuffer(sample)));
  });

  it('only appends to version 1: its fields come first and unchanged (plain-binary readers of v1 decode that prefix), every later field has a default', () => {
    const firsts = current.fields.slice(0, v1.fields.length);
    expect(firsts.map((field) => [field.name, field.type])).toEqual(v1.fields.map((field) => [field.name, field.type]));
    for (const added of current.fields.slice(v1.fields.length)) expect(added, `${added.name} was added after v1`).toHaveProperty('default');
  });

  it('a field added with a default keeps compatibility both ways; the edits that break it are caught by the same check', () => {
    const old = typeOf(v1);
    const sentiment = { name: 'sentiment', type: ['null', 'string'], default: null };
    const v2 = typeOf(withFields(current, [...current.fields, sentiment]));
    expect(compatible(v2, old) && compatible(old, v2)).toBe(true);
    const written = v2.toBuffer({ ...sample, sentiment: 'positive' });
    // An older reader gets its fields; a newer reader of older data gets the default.
    expect(old.decode(written, 0, old.createResolver(v2)).value).toEqual(sample);
    expect(v2.decode(old.toBuffer(sample), 0, v2.createResolver(old)).value).toEqual({ ...sample, sentiment: null });
    // Plain binary (no resolver): v1's fields are a prefix of v2's bytes.
    expect(old.decode(written, 0).value).toEqual(sample);

    const { default: _dropped, ...withoutDefault } = sentiment;
    expect(compatible(typeOf(withFields(current, [...current.fields, withoutDefault])), old)).toBe(false);
    const scoreAsText = current.fields.map((field) => (field.name === 'score' ? { ...field, type: 'string' } : field));
    expect(compatible(typeOf(withFields(current, scoreAsText)), old)).toBe(false);
    expect(compatible(old, typeOf(withFields(current, current.fields.filter((field) => field.name !== 'productId'))))).toBe(false);
  });
});
