/**
 * `npm run kafka:fetch | kafka:start | kafka:stop | kafka:status`: a real Apache Kafka broker on
 * 127.0.0.1 without Docker. See broker.ts and the README section "A real Kafka broker without Docker".
 */
import { parseArgs } from 'node:util';
import {
  BrokerError,
  brokerOptionsFromEnv,
  brokerStatus,
  fetchKafka,
  startBroker,
  stopBroker,
  type BrokerOptions,
} from './broker.ts';

const USAGE = `usage: tsx scripts/kafka/cli.ts <fetch|start|stop|status> [--port N] [--controller-port N] [--version V]

  fetch    resolve the broker's jars from Maven Central into the cache
  start    format fresh KRaft storage and start the broker; harmless when it already runs
  stop     stop the broker and wait until its ports are free; harmless when it is not running
  status   say whether the broker runs and answers

Environment: KAFKA_VERSION (3.9.1 | 4.1.1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (port + 1),
KAFKA_HEAP (512m), KAFKA_CACHE_DIR (.cache/kafka), KAFKA_RUN_DIR (<cache>/run). Flags override the environment.`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      'controller-port': { type: 'string' },
      version: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const env = { ...process.env };
  if (values.port !== undefined) env['KAFKA_PORT'] = values.port;
  if (values['controller-port'] !== undefined) env['KAFKA_CONTROLLER_PORT'] = values['controller-port'];
  if (values.version !== undefined) env['KAFKA_VERSION'] = values.version;
  const options: BrokerOptions = brokerOptionsFromEnv(env);

  switch (command) {
    case 'fetch': {
      const lib = fetchKafka(options);
      process.stdout.write(`Kafka ${options.version} jars in ${lib}\n`);
      return 0;
    }
    case 'start': {
      const started = await startBroker(options);
      const how = started.alreadyRunning ? 'already running' : 'started';
      process.stderr.write(`[kafka] ${how}: Kafka ${options.version}${started.pid === undefined ? '' : `, pid ${started.pid}`}\n`);
      // The bootstrap address alone on stdout, so scripts can capture it.
      process.stdout.write(`${started.bootstrap}\n`);
      return 0;
    }
    case 'stop': {
      const stopped = await stopBroker(options);
      process.stdout.write(stopped.wasRunning ? 'Kafka broker stopped\n' : 'Kafka broker was not running\n');
      return 0;
    }
    case 'status': {
      const status = await brokerStatus(options);
      process.stdout.write(
        status.running
          ? `running (pid ${status.pid}) on ${status.bootstrap}, ${status.answering ? 'answering' : 'not answering yet'}\n`
          : 'not running\n',
      );
      return status.answering ? 0 : 1;
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof BrokerError) {
      process.stderr.write(`[kafka] error: ${error.message}\n`);
      if (error.logTail) process.stderr.write(`[kafka] last lines of the log:\n${error.logTail}\n`);
    } else {
      process.stderr.write(`[kafka] unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  },
);
