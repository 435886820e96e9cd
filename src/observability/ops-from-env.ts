/**
 * How a topology main starts its ops server from the environment: `OPS_PORT` (default 9464; `0`
 * turns it off) and `OPS_HOST` (default `0.0.0.0`, so Prometheus and the kubelet reach it from
 * outside the container).
 */
import { ConfigError } from '../errors/streams-error.ts';
import type { Logger } from '../runtime/logger.ts';
import { startOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.ts';

export const DEFAULT_OPS_PORT = 9464;

/** The ops server's port and host from `env`; `undefined` when `OPS_PORT=0`. Throws a `ConfigError` naming a bad variable. */
export function opsAddressFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaultPort = DEFAULT_OPS_PORT,
): { readonly port: number; readonly host: string; readonly explicit: boolean } | undefined {
  const raw = env['OPS_PORT'];
  const explicit = raw !== undefined && raw !== '';
  const port = explicit ? Number(raw) : defaultPort;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`OPS_PORT must be a port number 0..65535, 0 for no ops server (got ${JSON.stringify(raw)})`);
  if (port === 0) return undefined;
  return { port, host: env['OPS_HOST'] || '0.0.0.0', explicit };
}

/**
 * Starts the ops server where the environment says. With `OPS_PORT` unset and the default port
 * taken (several topologies on one machine), it logs a warning and runs without one; a port set
 * explicitly that cannot be bound is an error.
 */
export async function startOpsServerFromEnv(
  options: Omit<OpsServerOptions, 'port' | 'host'> & { readonly logger: Logger; readonly env?: NodeJS.ProcessEnv; readonly defaultPort?: number },
): Promise<OpsServer | undefined> {
  const address = opsAddressFromEnv(options.env, options.defaultPort);
  if (address === undefined) return undefined;
  try {
    const server = await startOpsServer({ ...options, port: address.port, host: address.host });
    options.logger.info({ url: server.url }, 'ops server: /metrics, /healthz, /readyz');
    return server;
  } catch (error) {
    if (address.explicit || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    options.logger.warn({ port: address.port }, `ops server not started: port ${address.port} is taken (set OPS_PORT to another port, or 0 for none)`);
    return undefined;
  }
}
