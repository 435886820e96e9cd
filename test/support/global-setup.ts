/**
 * Integration set-up: a real Kafka broker, a real schema registry and a real PostgreSQL database for
 * the run.
 *
 * - Kafka: `KAFKA_BROKERS` (comma-separated) when set; otherwise the broker from
 *   `scripts/kafka/broker.ts` is started (and stopped afterwards if this run started it).
 * - Schema registry: `SCHEMA_REGISTRY_URL` (a Confluent-compatible API) when set; otherwise Apicurio
 *   from `scripts/registry/registry.ts`, started alongside the broker (both JVMs boot in parallel)
 *   and stopped afterwards if this run started it.
 * - PostgreSQL: the server behind `DATABASE_URL` (default: the machine's, on 127.0.0.1:5432),
 *   started if it is local and down; the run gets its own database, dropped at the end.
 *
 * Under CI=true a service that cannot be reached fails the run; elsewhere its tests skip loudly.
 */
import type { TestProject } from 'vitest/node';
import { brokerAnswers, brokerOptionsFromEnv, startBroker, stopBroker } from '../../scripts/kafka/broker.ts';
import { compatApiAnswers, registryOptionsFromEnv, startRegistry, stopRegistry } from '../../scripts/registry/registry.ts';
import { decideAvailability, loudSkipBanner, type Availability } from './infra-policy.ts';
import { createRunDatabase, DEFAULT_DATABASE_URL, ensurePostgres, redact } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafka: Availability<{ brokers: string[] }>;
    schemaRegistry: Availability<{ url: string }>;
    postgres: Availability<{ url: string }>;
  }
}

async function setUpKafka(): Promise<{ brokers: string[]; teardown?: () => Promise<void> }> {
  const given = process.env['KAFKA_BROKERS'];
  if (given) {
    const brokers = given.split(',').map((b) => b.trim()).filter(Boolean);
    if (!(await brokerAnswers(brokers[0] ?? ''))) {
      throw new Error(`no Kafka broker answers at KAFKA_BROKERS=${given}`);
    }
    return { brokers };
  }
  const options = brokerOptionsFromEnv();
  const started = await startBroker(options);
  process.stderr.write(
    `[test] Kafka at ${started.bootstrap} (${started.alreadyRunning ? 'already running' : 'started for this run'})\n`,
  );
  return {
    brokers: [started.bootstrap],
    ...(started.alreadyRunning ? {} : { teardown: async () => void (await stopBroker(options)) }),
  };
}

async function setUpSchemaRegistry(): Promise<{ url: string; teardown?: () => Promise<void> }> {
  const given = process.env['SCHEMA_REGISTRY_URL'];
  if (given) {
    if (!(await compatApiAnswers(given))) {
      throw new Error(`no Confluent-compatible schema registry answers GET /subjects at SCHEMA_REGISTRY_URL=${redact(given)}`);
    }
    return { url: given };
  }
  const options = registryOptionsFromEnv();
  const started = await startRegistry(options);
  process.stderr.write(`[test] schema registry at ${started.url} (${started.alreadyRunning ? 'already running' : 'started for this run'})\n`);
  return {
    url: started.url,
    ...(started.alreadyRunning ? {} : { teardown: async () => void (await stopRegistry(options)) }),
  };
}

type Outcome<T> = { value: T } | { error: unknown };

/** Runs one service's set-up, keeping its teardown and turning a failure into an outcome. */
async function outcomeOf<T>(
  setUp: Promise<T & { teardown?: () => Promise<void> }>,
  teardowns: Array<() => Promise<void>>,
): Promise<Outcome<T>> {
  try {
    const { teardown, ...value } = await setUp;
    if (teardown) teardowns.push(teardown);
    return { value: value as T };
  } catch (error) {
    return { error };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const step of teardowns.reverse()) await step();
  };
  try {
    await provideServices(project, teardowns);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

async function provideServices(project: TestProject, teardowns: Array<() => Promise<void>>): Promise<void> {
  // Two JVMs booting at once on two cores still beats booting them one after the other.
  const [kafkaOutcome, registryOutcome] = await Promise.all([
    outcomeOf<{ brokers: string[] }>(setUpKafka(), teardowns),
    outcomeOf<{ url: string }>(setUpSchemaRegistry(), teardowns),
  ]);
  const kafka = decideAvailability(
    'Kafka',
    kafkaOutcome,
    'Start one with `npm run kafka:start` (needs a JDK 17+ and Maven) or point KAFKA_BROKERS at a broker.',
  );

  const schemaRegistry = decideAvailability(
    'The schema registry',
    registryOutcome,
    'Start one with `npm run registry:start` (Apicurio Registry; needs a JDK 17+ and Maven) or point SCHEMA_REGISTRY_URL at a Confluent-compatible API.',
  );

  const adminUrl = process.env['DATABASE_URL'] || DEFAULT_DATABASE_URL;
  let pgOutcome: { value: { url: string } } | { error: unknown };
  try {
    await ensurePostgres(adminUrl);
    const database = await createRunDatabase(adminUrl);
    teardowns.push(database.drop);
    pgOutcome = { value: { url: database.url } };
  } catch (error) {
    pgOutcome = { error };
  }
  const postgres = decideAvailability(
    'PostgreSQL',
    pgOutcome,
    `Start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\` or set DATABASE_URL (tried ${redact(adminUrl)}).`,
  );

  for (const availability of [kafka, schemaRegistry, postgres]) {
    if (!availability.ok) process.stderr.write(loudSkipBanner(availability.reason));
  }
  project.provide('kafka', kafka);
  project.provide('schemaRegistry', schemaRegistry);
  project.provide('postgres', postgres);
}
