import { fileURLToPath } from 'node:url';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { DeserializationError, SchemaRegistryError, SerializationError } from '../../../src/errors/streams-error.ts';
import { confluentAvroSerde } from '../../../src/serdes/confluent-avro-serde.ts';
import { hasSchemaRegistry, schemaRegistryUrl, uniqueName } from '../../support/services.ts';

const RATING_EVENT_AVSC = fileURLToPath(new URL('../../../topologies/schemas/rating-event.avsc', import.meta.url));

interface RatingEvent {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly score: number;
  readonly comment: string | null;
  readonly timestamp: number;
}

const sampleRating = (overrides: Partial<RatingEvent> = {}): RatingEvent => ({
  id: 'r-1',
  productId: 'p-42',
  userId: 'u-7',
  score: 4,
  comment: 'solid',
  timestamp: 1_718_000_000_123,
  ...overrides,
});

/** The wire format's header: magic byte 0, then the schema id as a big-endian int32. */
const header = (id: number): Buffer => Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);

async function ratingsSerde(topic = uniqueName('ratings')) {
  const serde = await confluentAvroSerde<RatingEvent>({ registryUrl: schemaRegistryUrl(), schema: RATING_EVENT_AVSC, topic });
  return { serde, topic };
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.skipIf(!hasSchemaRegistry)('confluentAvroSerde against a real registry (Apicurio ccompat)', () => {
  it('registers RatingEvent under <topic>-value and round-trips a rating', async () => {
    const { serde, topic } = await ratingsSerde();
    expect(serde.subject).toBe(`${topic}-value`);
    expect(serde.name).toBe('confluent-avro(com.ubos.openclaw.RatingEvent)');

    const rating = sampleRating();
    const bytes = serde.serialize(rating, topic);
    expect(serde.deserialize(bytes, topic)).toEqual(rating);
    expect(serde.deserialize(serde.serialize(sampleRating({ comment: null }), topic), topic)).toEqual(sampleRating({ comment: null }));
    expect(serde.serialize(null, topic)).toBeNull();
    expect(serde.deserialize(null, topic)).toBeNull();

    // The registry holds the schema under the subject, with the same id.
    const registry = new SchemaRegistry({ host: schemaRegistryUrl() });
    expect(await registry.getLatestSchemaId(`${topic}-value`)).toBe(serde.schemaId);
  });

  it('writes magic byte 0 and the registered id in front of the Avro body', async () => {
    const { serde, topic } = await ratingsSerde();
    const bytes = serde.serialize(sampleRating(), topic);
    expect(bytes).not.toBeNull();
    expect(bytes?.subarray(0, 5)).toEqual(header(serde.schemaId));
    expect(bytes?.readInt32BE(1)).toBe(serde.schemaId);
  });

  it('finds the same id when the schema is registered again', async () => {
    const { serde, topic } = await ratingsSerde();
    const again = await confluentAvroSerde<RatingEvent>({ registryUrl: schemaRegistryUrl(), schema: RATING_EVENT_AVSC, subject: `${topic}-value` });
    expect(again.schemaId).toBe(serde.schemaId);
  });

  it('refuses a record of the wrong shape with a SerializationError naming the field', async () => {
    const { serde, topic } = await ratingsSerde();
    const wrong = { ...sampleRating(), score: 'five' } as unknown as RatingEvent;
    const error = thrownBy(() => serde.serialize(wrong, topic));
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).message).toMatch(/score: expected int, got string/);
  });

  it('decodes bytes that the registry client encoded itself, and the client decodes ours', async () => {
    const { serde, topic } = await ratingsSerde();
    const client = new SchemaRegistry({ host: schemaRegistryUrl() });
    const rating = sampleRating({ comment: null, timestamp: Date.now() });

    const theirs = await client.encode(serde.schemaId, rating);
    expect(serde.deserialize(theirs, topic)).toEqual(rating);

    const ours = serde.serialize(rating, topic);
    expect(await client.decode(ours as Buffer)).toEqual(rating);
  });

  it('fails clearly on an id it does not know, and on an id the registry does not have', async () => {
    const { serde, topic } = await ratingsSerde();
    const body = (serde.serialize(sampleRating(), topic) as Buffer).subarray(5);
    const missingId = 2_000_000_000;
    const unknown = Buffer.concat([header(missingId), body]);

    const syncError = thrownBy(() => serde.deserialize(unknown, topic));
    expect(syncError).toBeInstanceOf(DeserializationError);
    expect((syncError as Error).message).toContain(`schema id ${missingId} is not known to this serde yet`);
    expect((syncError as Error).message).toContain('serde.prefetch([2000000000])');

    const asyncError = await serde.decode(unknown, topic).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(asyncError).toBeInstanceOf(DeserializationError);
    expect((asyncError as Error).message).toMatch(new RegExp(`Cannot fetch schema id ${missingId} from ${schemaRegistryUrl()}.*HTTP 404`));
    expect((asyncError as Error).message).toContain(`subject "${topic}-value"`);

    await expect(serde.prefetch([missingId])).rejects.toBeInstanceOf(SchemaRegistryError);
  });

  it('rejects bytes that are not the wire format', async () => {
    const { serde, topic } = await ratingsSerde();
    expect(() => serde.deserialize(Buffer.from([0, 0, 1]), topic)).toThrow(/shorter than its 5-byte header/);
    expect(() => serde.deserialize(Buffer.from('{"id":"r-1"}'), topic)).toThrow(/magic byte is 0x7b, expected 0x00/);
  });

  it('reads a record written with an older registered version into the newer schema', async () => {
    const topic = uniqueName('ratings');
    const client = new SchemaRegistry({ host: schemaRegistryUrl() });
    const v1 = { type: 'record' as const, name: 'RatingEvent', namespace: 'com.ubos.openclaw', fields: [{ name: 'id', type: 'string' }] };
    const { id: v1Id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject: `${topic}-value` });
    const written = await client.encode(v1Id, { id: 'r-9' });

    // The current schema adds fields with defaults, so it is BACKWARD-compatible with v1.
    const v2 = { ...v1, fields: [...v1.fields, { name: 'comment', type: ['null', 'string'], default: null }] };
    const serde = await confluentAvroSerde<{ id: string; comment: string | null }>({ registryUrl: schemaRegistryUrl(), schema: v2, topic });
    expect(serde.schemaId).not.toBe(v1Id);

    expect(() => serde.deserialize(written, topic)).toThrow(DeserializationError);
    expect(await serde.decode(written, topic)).toEqual({ id: 'r-9', comment: null });
    // Known from now on, so the synchronous path decodes it too.
    expect(serde.deserialize(written, topic)).toEqual({ id: 'r-9', comment: null });
  });

  it('names the registry and the subject when registration is refused', async () => {
    const topic = uniqueName('ratings');
    await confluentAvroSerde({ registryUrl: schemaRegistryUrl(), schema: RATING_EVENT_AVSC, topic });
    // Changing the type of a field breaks BACKWARD compatibility.
    const incompatible = {
      type: 'record' as const,
      name: 'RatingEvent',
      namespace: 'com.ubos.openclaw',
      fields: [{ name: 'id', type: 'int' }],
    };
    const error = await confluentAvroSerde({ registryUrl: schemaRegistryUrl(), schema: incompatible, topic }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect((error as SchemaRegistryError).retriable).toBe(false);
    expect((error as Error).message).toContain(`under subject "${topic}-value" at ${schemaRegistryUrl()}: HTTP 409`);
  });
});
