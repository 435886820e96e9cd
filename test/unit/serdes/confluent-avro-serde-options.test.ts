import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, SchemaError, SchemaRegistryError } from '../../../src/errors/streams-error.ts';
import { confluentAvroSerde } from '../../../src/serdes/confluent-avro-serde.ts';
import { RATING_EVENT_AVSC } from './rating-event.ts';

/** Nothing listens on port 1, so every request fails at once with ECONNREFUSED. */
const NOWHERE = 'http://127.0.0.1:1/apis/ccompat/v7';

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('confluentAvroSerde options (no registry needed)', () => {
  it('needs a subject or a topic for the default subject', async () => {
    const error = await rejection(confluentAvroSerde({ registryUrl: NOWHERE, schema: RATING_EVENT_AVSC }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/needs `subject`, or `topic`/);
  });

  it('refuses a registry URL that is not http(s)', async () => {
    await expect(confluentAvroSerde({ registryUrl: 'registry:8081', schema: RATING_EVENT_AVSC, topic: 't' })).rejects.toThrow(ConfigError);
    await expect(confluentAvroSerde({ registryUrl: 'not a url', schema: RATING_EVENT_AVSC, topic: 't' })).rejects.toThrow(/is not a URL/);
  });

  it('refuses a schema that is not a named record, before any request', async () => {
    await expect(confluentAvroSerde({ registryUrl: NOWHERE, schema: '{"type": "string"}', topic: 't' })).rejects.toThrow(SchemaError);
    await expect(confluentAvroSerde({ registryUrl: NOWHERE, schema: '{"type": ', topic: 't' })).rejects.toThrow(/not valid JSON/);
    await expect(confluentAvroSerde({ registryUrl: NOWHERE, schema: '/no/such/file.avsc', topic: 't' })).rejects.toThrow(/file not found/);
  });

  it('fails as retriable when the registry cannot be reached, naming the URL without its credentials', async () => {
    const error = await rejection(
      confluentAvroSerde({
        registryUrl: 'http://alice:s3cret-pw@127.0.0.1:1/apis/ccompat/v7',
        schema: RATING_EVENT_AVSC,
        topic: 'ratings',
        isKey: true,
        retries: 0,
      }),
    );
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect((error as SchemaRegistryError).code).toBe('SCHEMA_REGISTRY_FAILED');
    expect((error as SchemaRegistryError).retriable).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`Cannot register com.ubos.openclaw.RatingEvent under subject "ratings-key" at ${NOWHERE}: `);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toMatch(/s3cret|alice/);
  });

  it('gives up on a registry that accepts the connection but never answers, after requestTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const started = Date.now();
      const error = await rejection(
        confluentAvroSerde({ registryUrl: `http://127.0.0.1:${port}`, schema: RATING_EVENT_AVSC, topic: 't', requestTimeoutMs: 300, retries: 0 }),
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(SchemaRegistryError);
      expect((error as SchemaRegistryError).retriable).toBe(true);
      expect((error as Error).message).toMatch(/timeout/i);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
