/**
 * `tsx scripts/openclaw-simulator.ts [flags]`: the OpenClaw Rating API simulator on a port, for the
 * pipeline to poll. Prints the base URL (the pipeline's OPENCLAW_URL) on stdout, details on
 * stderr; stops on SIGTERM or SIGINT and prints its stats. See src/connectors/openclaw/simulator.ts.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  FAULT_NAMES,
  startOpenClawSimulator,
  type FaultName,
  type FaultProbabilities,
  type OpenClawSimulatorOptions,
} from '../src/connectors/openclaw/simulator.ts';

const USAGE = `usage: tsx scripts/openclaw-simulator.ts [flags]

  --port N               port to listen on (8080; 0 = any free port)
  --host H               address to listen on (127.0.0.1)
  --api-key K            the valid bearer key (dev-key)
  --rate R               ratings per second of wall time (50); with --total, timestamp spacing (2500)
  --total N              serve a fixed set of N ratings, all available at once
  --users N              distinct users (1000)
  --products N           distinct products (200)
  --seed N               seed for ratings and faults (1)
  --start-timestamp MS   timestamp of the first rating, epoch ms (now)
  --fault-rate P         spread P over the ${FAULT_NAMES.length} request faults (each P/${FAULT_NAMES.length}) and the invalid-rating rate (P/${FAULT_NAMES.length})
  --server-error-rate P  --too-many-requests-rate P  --slow-rate P  --malformed-json-rate P
  --wrong-shape-rate P   --duplicate-rate P          --overlap-rate P
                         each fault's probability per request; overrides --fault-rate
  --invalid-rate P       share of ratings that are invalid, by id
  --retry-after S        Retry-After of a 429, seconds (1)
  --slow-ms MS           delay of a slow response (1000)
  -h, --help`;

const FAULT_FLAGS: Record<FaultName, string> = {
  serverError: 'server-error-rate',
  tooManyRequests: 'too-many-requests-rate',
  slow: 'slow-rate',
  malformedJson: 'malformed-json-rate',
  wrongShape: 'wrong-shape-rate',
  duplicate: 'duplicate-rate',
  overlap: 'overlap-rate',
};

const STRING_FLAGS = [
  'port',
  'host',
  'api-key',
  'rate',
  'total',
  'users',
  'products',
  'seed',
  'start-timestamp',
  'fault-rate',
  'invalid-rate',
  'retry-after',
  'slow-ms',
  ...Object.values(FAULT_FLAGS),
] as const;

class UsageError extends Error {}

function numberFlag(values: Record<string, string | boolean | undefined>, flag: string): number | undefined {
  const text = values[flag];
  if (typeof text !== 'string') return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

export function optionsFromArgs(args: string[]): OpenClawSimulatorOptions | 'help' {
  const { values: parsed } = parseArgs({
    args,
    options: {
      ...Object.fromEntries(STRING_FLAGS.map((flag) => [flag, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
  });
  // Flags are built from a list, so parseArgs cannot type them; every one but help is a string.
  const values = parsed as Record<string, string | boolean | undefined>;
  if (values['help'] === true) return 'help';
  const num = (flag: string): number | undefined => numberFlag(values, flag);
  const faultRate = num('fault-rate');
  const share = faultRate === undefined ? undefined : faultRate / FAULT_NAMES.length;
  const faults: Partial<Record<FaultName, number>> = {};
  for (const name of FAULT_NAMES) {
    const value = num(FAULT_FLAGS[name]) ?? share;
    if (value !== undefined) faults[name] = value;
  }
  const invalidRate = num('invalid-rate') ?? share;
  const optional = <K extends keyof OpenClawSimulatorOptions>(key: K, value: OpenClawSimulatorOptions[K] | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    port: num('port') ?? 8080,
    ...optional('host', typeof values['host'] === 'string' ? values['host'] : undefined),
    ...optional('apiKey', typeof values['api-key'] === 'string' ? values['api-key'] : undefined),
    ...optional('ratePerSecond', num('rate')),
    ...optional('total', num('total')),
    ...optional('users', num('users')),
    ...optional('products', num('products')),
    ...optional('seed', num('seed')),
    ...optional('startTimestamp', num('start-timestamp')),
    ...optional('invalidRate', invalidRate),
    ...optional('retryAfterSeconds', num('retry-after')),
    ...optional('slowDelayMs', num('slow-ms')),
    faults: faults satisfies Partial<FaultProbabilities>,
  };
}

async function main(): Promise<number> {
  let options: OpenClawSimulatorOptions | 'help';
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const simulator = await startOpenClawSimulator(options);
  process.stdout.write(`${simulator.url}\n`);
  const mode = options.total === undefined ? `${simulator.generator.ratePerSecond} ratings/s` : `${options.total} ratings`;
  const active = Object.entries(options.faults ?? {}).filter(([, p]) => p > 0);
  process.stderr.write(
    `OpenClaw simulator: GET ${simulator.url}/api/ratings (Authorization: Bearer <key>), ${mode}, seed ${simulator.generator.seed}` +
      `, invalid rate ${simulator.generator.invalidRate}, faults ${active.length === 0 ? 'none' : active.map(([n, p]) => `${n}=${p}`).join(' ')}\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await simulator.stop();
  process.stderr.write(`OpenClaw simulator stopped on ${signal}: ${JSON.stringify(simulator.stats())}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
