/**
 * A table whose store cannot be opened when its partitions are assigned (here: its PostgreSQL is
 * unreachable) stops the app loudly: state `failed`, with the store's error. Found by the pipeline
 * end-to-end test, where such a failure left the app in `running` with every partition paused, so
 * it consumed nothing and said nothing (the transports log a failing `onAssigned` and go on).
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics } from '../../support/streams-harness.ts';

describe('a table store that cannot be opened', () => {
  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`fails the app instead of leaving it running with nothing consumed (${guarantee})`, { timeout: 20_000 }, async () => {
      // Nothing listens on port 1: every query is refused.
      const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 2_000 });
      const transport = new MemoryTransport({ onError: () => undefined });
      await createTopics(transport, [{ topic: 'users' }, { topic: 'ratings' }, { topic: 'out' }]);
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      const users = builder.table<string, { name: string }>('users', { store: { name: 'users', postgres: { pool } } });
      builder.stream<string, { userId: string }>('ratings').leftJoin(users, (rating, user) => ({ ...rating, user })).to('out');
      const app = new StreamsApp(builder.build(), { applicationId: uniqueName('store-fails'), transport, processingGuarantee: guarantee, logger: silentLogger() });
      try {
        await app.start().catch(() => undefined);
        await expect.poll(() => app.state, { timeout: 15_000 }).toBe('failed');
        expect(app.error?.message).toMatch(/State store "users"/);
      } finally {
        await app.stop();
        await pool.end();
      }
    });
  }
});
