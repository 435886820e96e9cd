/**
 * `npm run registry:fetch | registry:start | registry:stop | registry:status`: Apicurio Registry
 * (Confluent-compatible API) on 127.0.0.1 without Docker. See registry.ts.
 */
import { parseCli } from './cli-args.ts';
import { APICURIO_VERSION, RegistryError, fetchRegistry, registryStatus, startRegistry, stopRegistry } from './registry.ts';

const USAGE = `usage: tsx scripts/registry/cli.ts <fetch|start|stop|status> [--port N]

  fetch    copy Apicurio Registry ${APICURIO_VERSION} from Maven Central into the cache and unpack it
  start    start the registry (in-memory storage) and wait for /health/ready; harmless when it already runs
  stop     stop the registry and wait until its port is free; harmless when it is not running
  status   say whether the registry runs and is ready (exit 0 only when ready)

start prints the Confluent-compatible URL (for SCHEMA_REGISTRY_URL) alone on stdout.

Environment: SCHEMA_REGISTRY_PORT (8081), SCHEMA_REGISTRY_HEAP (192m), SCHEMA_REGISTRY_CACHE_DIR
(.cache/registry), SCHEMA_REGISTRY_RUN_DIR (<cache>/run). Flags override the environment.`;

async function main(): Promise<number> {
  const request = parseCli(process.argv.slice(2), process.env);
  if (request.kind === 'usage') {
    process.stdout.write(`${USAGE}\n`);
    return request.exitCode;
  }
  if (request.kind === 'error') {
    process.stderr.write(`[registry] ${request.message}\n${USAGE}\n`);
    return 2;
  }
  const options = request.options;
  switch (request.command) {
    case 'fetch': {
      const started = Date.now();
      const appDir = fetchRegistry(options);
      process.stdout.write(`Apicurio Registry ${APICURIO_VERSION} in ${appDir} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
      return 0;
    }
    case 'start': {
      const started = await startRegistry(options);
      const how = started.alreadyRunning ? 'already running' : 'started';
      process.stderr.write(`[registry] ${how}: Apicurio Registry ${APICURIO_VERSION}${started.pid === undefined ? '' : `, pid ${started.pid}`}\n`);
      // The URL alone on stdout, so scripts can capture it.
      process.stdout.write(`${started.url}\n`);
      return 0;
    }
    case 'stop': {
      const stopped = await stopRegistry(options);
      process.stdout.write(stopped.wasRunning ? 'schema registry stopped\n' : 'schema registry was not running\n');
      return 0;
    }
    case 'status': {
      const status = await registryStatus(options);
      process.stdout.write(
        status.running
          ? `running (pid ${status.pid}) on ${status.url}, ${status.ready ? 'ready' : 'not ready yet'}\n`
          : 'not running\n',
      );
      return status.ready ? 0 : 1;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof RegistryError) {
      process.stderr.write(`[registry] error: ${error.message}\n`);
      if (error.logTail) process.stderr.write(`[registry] last lines of the log:\n${error.logTail}\n`);
    } else {
      process.stderr.write(`[registry] unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  },
);
