import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usersMapping } from '../../../src/connectors/postgres/users-cdc.ts';
import { asList, dependencies, loadCompose, type ComposeService } from '../../support/deploy/compose.ts';
import { parseDockerfile } from '../../support/deploy/dockerfile.ts';
import { CLI, DOCKER_DIR, PROCESSES, REPO_ROOT, isPinnedImage, topologyExists } from '../../support/deploy/repo.ts';

const services = loadCompose();
const entries = Object.entries(services);
const packageVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What the container runs: the service's entrypoint (or the image's) followed by its command. */
function commandLine(service: ComposeService): string[] {
  if (service.entrypoint !== undefined) return [...asList(service.entrypoint), ...asList(service.command)];
  if (service.build === undefined) return asList(service.command);
  const dockerfile = typeof service.build === 'string' ? 'Dockerfile' : (service.build.dockerfile ?? 'Dockerfile');
  const context = resolve(DOCKER_DIR, typeof service.build === 'string' ? service.build : service.build.context);
  const final = parseDockerfile(readFileSync(join(context, dockerfile), 'utf8')).stages.at(-1);
  const entrypoint = final?.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args ?? '[]';
  return [...(JSON.parse(entrypoint) as string[]), ...asList(service.command)];
}

const env = (service: ComposeService): Record<string, string> => Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));

/** The service that runs `run <topology>`. */
function processService(topology: string): [string, ComposeService] {
  const found = entries.filter(([, s]) => JSON.stringify(commandLine(s)) === JSON.stringify([...CLI, 'run', topology]));
  if (found.length !== 1 || found[0] === undefined) throw new Error(`${found.length} services run ${topology}`);
  return found[0];
}

describe('docker/compose.yml', () => {
  it('parses (anchors merged) into the full stack', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['ai-agent', 'enrichment', 'grafana', 'ingest', 'kafka', 'postgres', 'prometheus', 'registry', 'simulator', 'topics', 'trends', 'users-cdc'].sort(),
    );
    expect(services['kafka']?.image).toBe('apache/kafka:3.9.1');
    expect(services['registry']?.image).toBe('apicurio/apicurio-registry:3.0.9');
  });

  it('starts only Kafka and PostgreSQL without a profile, the rest with --profile stack', () => {
    expect(entries.filter(([, s]) => s.profiles === undefined).map(([name]) => name).sort()).toEqual(['kafka', 'postgres']);
    for (const [name, s] of entries) if (s.profiles !== undefined) expect(s.profiles, name).toEqual(['stack']);
  });

  it('pins every image to a version, the project image to the package version', () => {
    for (const [name, s] of entries) {
      expect(s.image, name).toBeDefined();
      expect(isPinnedImage(s.image ?? ''), `${name}: ${String(s.image)}`).toBe(true);
      if (s.build !== undefined) expect(s.image, name).toBe(`rating-streams:${packageVersion}`);
    }
  });

  it('builds from a context and Dockerfile that exist, and mounts only files that exist', () => {
    let checked = 0;
    for (const [name, s] of entries) {
      if (s.build !== undefined) {
        const context = resolve(DOCKER_DIR, typeof s.build === 'string' ? s.build : s.build.context);
        expect(context, name).toBe(REPO_ROOT);
        expect(existsSync(join(context, typeof s.build === 'string' ? 'Dockerfile' : (s.build.dockerfile ?? 'Dockerfile'))), name).toBe(true);
        checked++;
      }
      for (const volume of s.volumes ?? []) {
        const [source] = volume.split(':');
        if (source === undefined || !/^[./]/.test(source)) continue;
        expect(existsSync(resolve(DOCKER_DIR, source)), `${name}: ${source}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('waits only for services that exist, are healthy-checked when health is awaited, and finish when completion is awaited', () => {
    for (const [name, s] of entries) {
      for (const [dependency, condition] of dependencies(s)) {
        const target = services[dependency];
        expect(target, `${name} → ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') {
          // Its own healthcheck, or the image's HEALTHCHECK (the project image has one).
          expect(target?.healthcheck?.disable, `${name} → ${dependency}`).not.toBe(true);
          expect(target?.healthcheck?.test !== undefined || target?.build !== undefined, `${name} → ${dependency}`).toBe(true);
        }
        if (condition === 'service_completed_successfully') expect(target?.restart, `${name} → ${dependency}`).toBe('no');
      }
    }
  });

  it('runs each pipeline process once through the CLI, with the environment its main reads', () => {
    for (const process of PROCESSES) {
      expect(topologyExists(process.topology)).toBe(true);
      const [name, service] = processService(process.topology);
      const vars = env(service);
      for (const variable of process.requiredEnv) expect(vars[variable], `${name}: ${variable}`).toBeDefined();
      if (process.singleton) {
        expect(service.deploy?.replicas ?? 1, name).toBe(1);
        expect(service.scale ?? 1, name).toBe(1);
      }
    }
  });

  it('points the processes at addresses the stack serves: Kafka’s internal listener and services by name', () => {
    const kafkaEnv = env(services['kafka'] ?? {});
    const advertised = (kafkaEnv['KAFKA_ADVERTISED_LISTENERS'] ?? '').split(',').map((l) => l.replace(/^\w+:\/\//, ''));
    expect(advertised).toContain('kafka:29092');
    for (const { topology } of PROCESSES) {
      const [name, service] = processService(topology);
      const vars = env(service);
      for (const broker of (vars['KAFKA_BROKERS'] ?? '').split(',')) expect(advertised, `${name}: ${broker}`).toContain(broker);
      for (const variable of ['DATABASE_URL', 'OPENCLAW_URL', 'AI_AGENT_ENDPOINT']) {
        if (vars[variable] === undefined) continue;
        expect(Object.keys(services), `${name}: ${variable}`).toContain(new URL(vars[variable]).hostname);
      }
    }
    expect(new URL(env(processService('ratings-enrichment')[1])['AI_AGENT_ENDPOINT'] ?? '').port).toBe(env(services['ai-agent'] ?? {})['PORT']);
    const simulatorPort = asList(services['simulator']?.command)[asList(services['simulator']?.command).indexOf('--port') + 1];
    expect(new URL(env(processService('openclaw-ingest')[1])['OPENCLAW_URL'] ?? '').port).toBe(simulatorPort);
  });

  it('creates the topics with the CLI before the processes start', () => {
    expect(commandLine(services['topics'] ?? {}).slice(0, 4)).toEqual([...CLI, 'topics', 'create']);
    for (const { topology } of PROCESSES) {
      const [name, service] = processService(topology);
      expect(dependencies(service), name).toContainEqual(['topics', 'service_completed_successfully']);
    }
  });

  it('seeds a users table with the columns the users CDC creates', () => {
    const sql = readFileSync(join(DOCKER_DIR, 'postgres/init/01-users.sql'), 'utf8');
    expect(sql).toContain(`CREATE TABLE IF NOT EXISTS users (${usersMapping().createColumns ?? '<none>'});`);
    expect(services['postgres']?.volumes).toContain('./postgres/init:/docker-entrypoint-initdb.d:ro');
  });

  it('the strict reading rejects a misspelt service key', () => {
    expect(() => loadCompose('services:\n  kafka:\n    image: apache/kafka:3.9.1\n    enviroment:\n      A: b\n')).toThrow(/enviroment/);
  });
});
