/**
 * What integration tests use to reach the run's Kafka broker, schema registry and PostgreSQL
 * database, and to name things so that tests never collide.
 */
import { inject } from 'vitest';
import { loudSkipBanner } from './infra-policy.ts';

const kafka = inject('kafka');
const postgres = inject('postgres');
const schemaRegistry = inject('schemaRegistry');

/** False when the run has no broker (outside CI only); use with `describe.skipIf(!hasKafka)`. */
export const hasKafka = kafka.ok;
export const hasPostgres = postgres.ok;
/** False when the run has no schema registry (outside CI only); use with `describe.skipIf(!hasSchemaRegistry)`. */
export const hasSchemaRegistry = schemaRegistry.ok;

if (!kafka.ok) process.stderr.write(loudSkipBanner(kafka.reason));
if (!postgres.ok) process.stderr.write(loudSkipBanner(postgres.reason));
if (!schemaRegistry.ok) process.stderr.write(loudSkipBanner(schemaRegistry.reason));

export function kafkaBrokers(): string[] {
  if (!kafka.ok) throw new Error(kafka.reason);
  return kafka.value.brokers;
}

export function databaseUrl(): string {
  if (!postgres.ok) throw new Error(postgres.reason);
  return postgres.value.url;
}

/** The Confluent-compatible API of the run's registry, e.g. `http://127.0.0.1:8081/apis/ccompat/v7`. */
export function schemaRegistryUrl(): string {
  if (!schemaRegistry.ok) throw new Error(schemaRegistry.reason);
  return schemaRegistry.value.url;
}

export { uniqueName } from './names.ts';
