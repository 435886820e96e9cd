/**
 * The operations endpoint of a topology process, on `node:http`:
 *
 * - `GET /metrics`: the Prometheus text format of `metrics`;
 * - `GET /healthz`: alive. That it answers at all shows the event loop turns; the `live` checks
 *   (e.g. the app has not failed) must pass too. 200, or 503 when one fails.
 * - `GET /readyz`: ready. Every `ready` check (tables restored, broker connected, circuit closed,
 *   poller authorized, ...) must pass. 200, or 503.
 *
 * Health answers are JSON: `{ "status": "ok" | "failing", "failing": [names], "checks": [{ name,
 * ok, detail }] }`. A check that throws or takes longer than `checkTimeoutMs` fails, so a probe
 * always gets an answer.
 *
 * @example
 * const ops = await startOpsServer({ port: 9464, host: '0.0.0.0', metrics, checks: { live: [appAlive(app)], ready: [appReady(app)] } });
 * // ... on shutdown: await ops.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redactSecrets } from '../errors/redact.ts';
import type { CheckResult, HealthCheck } from './health-checks.ts';

export interface OpsChecks {
  readonly live?: readonly HealthCheck[];
  readonly ready?: readonly HealthCheck[];
}

export interface OpsServerOptions {
  /** 0 picks a free port (see `OpsServer.port`). */
  readonly port: number;
  /** Default `127.0.0.1`; `0.0.0.0` for probes and scrapes from outside the host (containers). */
  readonly host?: string;
  /** Anything with the Prometheus text and its content type: `StreamsMetrics` or a wrapped prom-client registry. */
  readonly metrics?: { metrics(): Promise<string>; readonly contentType: string };
  readonly checks?: OpsChecks;
  /** How long one check may take before it counts as failed; default 2000 ms. */
  readonly checkTimeoutMs?: number;
}

export interface OpsServer {
  readonly port: number;
  /** e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stops listening and releases what the checks hold. */
  close(): Promise<void>;
}

export interface CheckReport {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthReport {
  readonly status: 'ok' | 'failing';
  readonly failing: readonly string[];
  readonly checks: readonly CheckReport[];
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.checkTimeoutMs ?? 2_000;
  const server = createServer((request, response) => {
    void answer(request, response, options, timeoutMs).catch(() => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end('internal error\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const checks = [...(options.checks?.live ?? []), ...(options.checks?.ready ?? [])];
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...new Set(checks)].map((check) => check.close?.().catch(() => undefined)));
    },
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, options: OpsServerOptions, timeoutMs: number): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://ops').pathname;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      if (options.metrics === undefined) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('no metrics here\n');
        return;
      }
      const text = await options.metrics.metrics();
      response.writeHead(200, { 'Content-Type': options.metrics.contentType }).end(request.method === 'HEAD' ? undefined : text);
      return;
    }
    case '/healthz':
    case '/livez':
      return respond(response, request, await runChecks(options.checks?.live ?? [], timeoutMs));
    case '/readyz':
      return respond(response, request, await runChecks(options.checks?.ready ?? [], timeoutMs));
    default:
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  }
}

function respond(response: ServerResponse, request: IncomingMessage, report: HealthReport): void {
  const body = `${JSON.stringify(report)}\n`;
  response
    .writeHead(report.status === 'ok' ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
    .end(request.method === 'HEAD' ? undefined : body);
}

/** Runs the checks concurrently, each bounded by `timeoutMs`. */
export async function runChecks(checks: readonly HealthCheck[], timeoutMs: number): Promise<HealthReport> {
  const results = await Promise.all(checks.map(async (check): Promise<CheckReport> => ({ name: check.name, ...(await bounded(check, timeoutMs)) })));
  const failing = results.filter((result) => !result.ok).map((result) => result.name);
  return { status: failing.length === 0 ? 'ok' : 'failing', failing, checks: results };
}

async function bounded(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => check.check()), timeout]);
  } catch (error) {
    return { ok: false, detail: `the check threw: ${redactSecrets(error instanceof Error ? error.message : String(error))}` };
  } finally {
    clearTimeout(timer);
  }
}
