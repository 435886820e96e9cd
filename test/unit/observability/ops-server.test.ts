/**
 * The ops server's contract: `/healthz` and `/readyz` run their own checks and answer 503 with a
 * JSON body naming what fails (a check that throws or hangs fails, scrubbed), 200 otherwise;
 * `/metrics` serves the registry; `OPS_PORT` turns it on, off, or to another port; metrics objects
 * keep to their own registries.
 */
import { createServer } from 'node:net';
import { register } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_OPS_PORT,
  StreamsMetrics,
  appAlive,
  appReady,
  check,
  opsAddressFromEnv,
  pollerReady,
  silentLogger,
  startOpsServer,
  startOpsServerFromEnv,
  type AppState,
  type CheckedApp,
  type HealthReport,
  type Logger,
  type PollerState,
} from '../../../src/index.ts';
import { get } from '../../support/prometheus-text.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function fakeApp(state: AppState, error?: Error): CheckedApp & { state: AppState } {
  return { applicationId: 'enrich', state, error, restorationProgress: () => ({ restored: 40, total: 100 }) };
}

async function report(url: string): Promise<{ status: number; body: HealthReport }> {
  const { status, body } = await get(url);
  return { status, body: JSON.parse(body) as HealthReport };
}

describe('ops server', () => {
  it('answers 503 naming the failing checks, 200 once they pass; liveness and readiness apart', async () => {
    const app = fakeApp('restoring');
    const poller = { name: 'ingest', state: 'unauthorized' as PollerState, health: () => ({ healthy: false, state: 'unauthorized' as PollerState, reason: 'the API key was refused' }) };
    const ops = await startOpsServer({ port: 0, checks: { live: [appAlive(app)], ready: [appReady(app), pollerReady(poller)] } });
    cleanups.push(() => ops.close());

    const notReady = await report(`${ops.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body.failing).toEqual(['app:enrich:ready', 'poller:ingest:ready']);
    expect(notReady.body.checks).toContainEqual({ name: 'app:enrich:ready', ok: false, detail: 'restoring tables: 40 of 100 offsets read' });
    expect(notReady.body.checks).toContainEqual({ name: 'poller:ingest:ready', ok: false, detail: 'the API key was refused' });
    expect((await report(`${ops.url}/healthz`)).status).toBe(200);

    app.state = 'running';
    poller.state = 'polling';
    const ready = await report(`${ops.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', failing: [] });
  });

  it('is not alive once the app failed, and says why without the secrets in the error', async () => {
    const app = fakeApp('failed', new Error('the store refused password=hunter2 for key-abc-123'));
    const ops = await startOpsServer({ port: 0, checks: { live: [appAlive(app, ['key-abc-123'])] } });
    cleanups.push(() => ops.close());
    const { status, body } = await get(`${ops.url}/healthz`);
    expect(status).toBe(503);
    expect(body).toContain('failed: the store refused');
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('key-abc-123');
  });

  it('fails a check that throws or does not answer in time, and still answers', async () => {
    const ops = await startOpsServer({
      port: 0,
      checkTimeoutMs: 50,
      checks: {
        ready: [
          check('throws', () => {
            throw new Error('database at postgres://app:s3cret@127.0.0.1/db is down');
          }),
          check('hangs', () => new Promise<boolean>(() => undefined)),
          check('fine', () => true),
          check('explains', () => 'not yet'),
        ],
      },
    });
    cleanups.push(() => ops.close());
    const { status, body } = await report(`${ops.url}/readyz`);
    expect(status).toBe(503);
    expect(body.failing).toEqual(['throws', 'hangs', 'explains']);
    expect(body.checks.find((c) => c.name === 'throws')?.detail).toBe('the check threw: database at postgres://app:[REDACTED]@127.0.0.1/db is down');
    expect(body.checks.find((c) => c.name === 'hangs')?.detail).toBe('no answer within 50 ms');
    expect(body.checks.find((c) => c.name === 'explains')?.detail).toBe('not yet');
  });

  it('serves /metrics in the Prometheus format, 404 elsewhere, 405 for other methods', async () => {
    const metrics = new StreamsMetrics();
    cleanups.push(() => metrics.close());
    const ops = await startOpsServer({ port: 0, metrics });
    cleanups.push(() => ops.close());
    const scraped = await get(`${ops.url}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toContain('text/plain');
    expect(scraped.body).toContain('# TYPE rating_streams_records_in_total counter');
    expect(scraped.body).toContain('# TYPE rating_streams_record_latency_seconds histogram');
    expect((await get(`${ops.url}/nope`)).status).toBe(404);
    expect((await fetch(`${ops.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('two metrics objects in one process each have their own registry and leave the global one alone', async () => {
    const before = register.getMetricsAsArray().length;
    const first = new StreamsMetrics({ processMetrics: true });
    const second = new StreamsMetrics({ processMetrics: true, defaultLabels: { instance: 'b' } });
    cleanups.push(() => first.close(), () => second.close());
    expect(first.registry).not.toBe(second.registry);
    expect(register.getMetricsAsArray().length).toBe(before);
    expect(await second.metrics()).toContain('rating_streams_process_cpu_user_seconds_total{instance="b"}');
  });

  it('OPS_PORT: 9464 by default, 0 for none, a bad value names the variable', () => {
    expect(opsAddressFromEnv({})).toEqual({ port: DEFAULT_OPS_PORT, host: '0.0.0.0', explicit: false });
    expect(opsAddressFromEnv({ OPS_PORT: '0' })).toBeUndefined();
    expect(opsAddressFromEnv({ OPS_PORT: '9100', OPS_HOST: '127.0.0.1' })).toEqual({ port: 9100, host: '127.0.0.1', explicit: true });
    expect(() => opsAddressFromEnv({ OPS_PORT: 'nine' })).toThrow(ConfigError);
    expect(() => opsAddressFromEnv({ OPS_PORT: '70000' })).toThrow(/OPS_PORT/);
  });

  it('with OPS_PORT unset and the default port taken, runs without; with it set to a taken port, fails', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = String((blocker.address() as { port: number }).port);
    await expect(startOpsServerFromEnv({ logger: silentLogger(), env: { OPS_PORT: taken, OPS_HOST: '127.0.0.1' } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_object, message) => void warnings.push(message ?? ''),
      error: () => undefined,
      child: () => logger,
    };
    expect(await startOpsServerFromEnv({ logger, env: { OPS_HOST: '127.0.0.1' }, defaultPort: Number(taken) })).toBeUndefined();
    expect(warnings).toEqual([`ops server not started: port ${taken} is taken (set OPS_PORT to another port, or 0 for none)`]);
    expect(await startOpsServerFromEnv({ logger: silentLogger(), env: { OPS_PORT: '0' } })).toBeUndefined();
  });
});
