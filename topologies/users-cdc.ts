/**
 * Users CDC: publishes the PostgreSQL `users` table to the compacted topic `users` (key: user id,
 * value: JSON profile, tombstone on delete): an initial snapshot, then every change in commit
 * order per user, each batch in one Kafka transaction with its cursor (see `UsersCdc`).
 *
 * Run it: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test KAFKA_BROKERS=127.0.0.1:9092 tsx topologies/users-cdc.ts`
 * (optional: `USERS_TOPIC`, `USERS_CDC_NAME`, `USERS_CDC_BATCH_SIZE`, `USERS_CDC_INTERVAL_MS`, `OPS_PORT`
 * (default 9464, 0 = off) for /metrics, /healthz and /readyz).
 * One replica only: a second one fences the first.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { UsersCdc, type UsersCdcOptions } from '../src/connectors/postgres/users-cdc.ts';
import { defaultLogger } from '../src/index.ts';

export { UsersCdc, usersMapping, cdcMigrations, type UsersCdcOptions, type UserProfile, type CdcTableMapping } from '../src/connectors/postgres/users-cdc.ts';
export { runMigrations, type Migration } from '../src/connectors/postgres/migrations.ts';

/** The CDC with the topology's defaults (topic `users`, name `users-cdc`); call `start()`. */
export function usersCdc(options: UsersCdcOptions): UsersCdc {
  return new UsersCdc({ logger: defaultLogger('users-cdc'), ...options });
}

/** Runs the CDC from the environment until SIGTERM / SIGINT. */
async function main(): Promise<void> {
  const [{ KafkaTransport }, ops] = await Promise.all([import('../src/transport/kafka/index.ts'), import('../src/observability/index.ts')]);
  const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
  const pool = new pg.Pool({ connectionString: env('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test'), max: 2 });
  const transport = new KafkaTransport({ brokers: env('KAFKA_BROKERS', '127.0.0.1:9092').split(','), clientId: 'users-cdc', logLevel: 'nothing' });
  const logger = defaultLogger('users-cdc');
  const cdc = usersCdc({
    pool,
    logger,
    transport,
    topic: env('USERS_TOPIC', 'users'),
    name: env('USERS_CDC_NAME', 'users-cdc'),
    batchSize: Number(env('USERS_CDC_BATCH_SIZE', '500')),
    intervalMs: Number(env('USERS_CDC_INTERVAL_MS', '1000')),
  });
  const metrics = new ops.StreamsMetrics({ processMetrics: true });
  metrics.watchCdc(cdc);
  let started = false;
  const server = await ops.startOpsServerFromEnv({
    logger,
    metrics,
    checks: {
      ready: [
        ops.check('started', () => started || 'snapshot or cursor not read yet'),
        ops.brokerConnected(transport),
        ops.check('postgres', async () => (await pool.query('SELECT 1')).rowCount === 1),
      ],
    },
  });
  const shutdown = () => void cdc.stop().finally(() => server?.close()).finally(() => pool.end().finally(() => process.exit(0)));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, shutdown);
  await cdc.start();
  started = true;
  process.stdout.write('RUNNING\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
