/**
 * Users CDC: publishes the PostgreSQL `users` table to the compacted topic `users` (key: user id,
 * value: JSON profile, tombstone on delete): an initial snapshot, then every change in commit
 * order per user, each batch in one Kafka transaction with its cursor (see `UsersCdc`).
 *
 * Run it: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test KAFKA_BROKERS=127.0.0.1:9092 rating-streams run users-cdc`
 * (or `tsx topologies/users-cdc.ts`); the variables it reads are `USERS_CDC_VARIABLES` (README
 * "Configuration"), with `OPS_PORT` (default 9464, 0 = off) for /metrics, /healthz and /readyz.
 * One replica only: a second one fences the first.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { UsersCdc, type UsersCdcOptions } from '../src/connectors/postgres/users-cdc.ts';
import { defaultLogger } from '../src/index.ts';
import { DATABASE_URL_REQUIRED, KAFKA_BROKERS, USERS_CDC_BATCH_SIZE, USERS_CDC_INTERVAL_MS, USERS_CDC_NAME, USERS_TOPIC, type ConfigOf } from '../src/config/index.ts';
import { pipelineProcess, runsUntilStopped, type PipelineProcess, type ProcessHost, type RunningProcess } from '../src/cli/pipeline-process.ts';
import { runProcesses } from '../src/cli/process-host.ts';

export { UsersCdc, usersMapping, cdcMigrations, type UsersCdcOptions, type UserProfile, type CdcTableMapping } from '../src/connectors/postgres/users-cdc.ts';
export { runMigrations, type Migration } from '../src/connectors/postgres/migrations.ts';

/** The CDC with the topology's defaults (topic `users`, name `users-cdc`); call `start()`. */
export function usersCdc(options: UsersCdcOptions): UsersCdc {
  return new UsersCdc({ logger: defaultLogger('users-cdc'), ...options });
}

/** The variables the users CDC reads (README "Configuration"). */
export const USERS_CDC_VARIABLES = {
  KAFKA_BROKERS,
  DATABASE_URL: DATABASE_URL_REQUIRED,
  USERS_TOPIC,
  USERS_CDC_NAME,
  USERS_CDC_BATCH_SIZE,
  USERS_CDC_INTERVAL_MS,
};
export type UsersCdcConfig = ConfigOf<typeof USERS_CDC_VARIABLES>;

/** Runs the CDC with `config` in `host` until stopped (a failed poll is retried, never fatal). */
export async function runUsersCdc(config: UsersCdcConfig, host: ProcessHost): Promise<RunningProcess> {
  const [{ KafkaTransport }, ops] = await Promise.all([import('../src/transport/kafka/index.ts'), import('../src/observability/index.ts')]);
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  const transport = new KafkaTransport({ brokers: config.KAFKA_BROKERS, clientId: 'users-cdc', logLevel: 'nothing' });
  const cdc = usersCdc({
    pool,
    logger: host.logger('users-cdc'),
    transport,
    topic: config.USERS_TOPIC,
    name: config.USERS_CDC_NAME,
    batchSize: config.USERS_CDC_BATCH_SIZE,
    intervalMs: config.USERS_CDC_INTERVAL_MS,
  });
  host.metrics.watchCdc(cdc);
  let started = false;
  host.register({
    name: 'users-cdc',
    checks: {
      ready: [
        ops.check('users-cdc:started', () => started || 'snapshot or cursor not read yet'),
        ops.brokerConnected(transport),
        ops.check('postgres', async () => (await pool.query('SELECT 1')).rowCount === 1),
      ],
    },
    stop: async () => {
      await cdc.stop();
      await pool.end();
    },
  });
  await cdc.start();
  started = true;
  return { ended: runsUntilStopped() };
}

export const usersCdcProcess: PipelineProcess = pipelineProcess({ name: 'users-cdc', variables: USERS_CDC_VARIABLES, run: runUsersCdc });

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(await runProcesses([usersCdcProcess], { label: 'users-cdc' }));
