/**
 * The simulator's command-line flags, declared once for `rating-streams simulator` (commander) and
 * `scripts/openclaw-simulator.ts`: their help text, and how their string values become
 * `OpenClawSimulatorOptions`.
 */
import { FAULT_NAMES, type FaultName, type FaultProbabilities, type OpenClawSimulatorOptions } from './simulator.ts';

export interface SimulatorFlag {
  /** Without the leading `--`. */
  readonly name: string;
  readonly value: string;
  readonly help: string;
}

const FAULT_FLAGS: Readonly<Record<FaultName, string>> = {
  serverError: 'server-error-rate',
  tooManyRequests: 'too-many-requests-rate',
  slow: 'slow-rate',
  malformedJson: 'malformed-json-rate',
  wrongShape: 'wrong-shape-rate',
  duplicate: 'duplicate-rate',
  overlap: 'overlap-rate',
};

const FAULT_HELP: Readonly<Record<FaultName, string>> = {
  serverError: 'answers 500, 502 or 503',
  tooManyRequests: 'answers 429 with Retry-After',
  slow: 'waits --slow-ms before answering',
  malformedJson: 'answers a JSON body cut in half',
  wrongShape: 'answers an object instead of an array',
  duplicate: 'lists one rating of the page twice',
  overlap: 'starts the page with 1..3 ratings from before the cursor',
};

export const SIMULATOR_FLAGS: readonly SimulatorFlag[] = [
  { name: 'port', value: 'N', help: 'port to listen on (8080; 0 = any free port)' },
  { name: 'host', value: 'H', help: 'address to listen on (127.0.0.1)' },
  { name: 'api-key', value: 'K', help: 'the valid bearer key (dev-key)' },
  { name: 'rate', value: 'R', help: 'ratings per second of wall time (50); with --total, timestamp spacing (2500)' },
  { name: 'total', value: 'N', help: 'serve a fixed set of N ratings, all available at once' },
  { name: 'users', value: 'N', help: 'distinct users (1000)' },
  { name: 'products', value: 'N', help: 'distinct products (200)' },
  { name: 'seed', value: 'N', help: 'seed for ratings and faults (1)' },
  { name: 'start-timestamp', value: 'MS', help: 'timestamp of the first rating, epoch ms (now)' },
  {
    name: 'fault-rate',
    value: 'P',
    help: `spread P over the ${FAULT_NAMES.length} request faults (each P/${FAULT_NAMES.length}) and the invalid-rating rate (P/${FAULT_NAMES.length})`,
  },
  ...FAULT_NAMES.map((fault) => ({ name: FAULT_FLAGS[fault], value: 'P', help: `probability per request that it ${FAULT_HELP[fault]}; overrides --fault-rate` })),
  { name: 'invalid-rate', value: 'P', help: 'share of ratings that are invalid, by id' },
  { name: 'retry-after', value: 'S', help: 'Retry-After of a 429, seconds (1)' },
  { name: 'slow-ms', value: 'MS', help: 'delay of a slow response (1000)' },
];

export class SimulatorFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorFlagError';
  }
}

function numberFlag(values: Readonly<Record<string, string | undefined>>, flag: string): number | undefined {
  const text = values[flag];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new SimulatorFlagError(`--${flag} must be a number, got ${JSON.stringify(text)}`);
  return value;
}

/** Simulator options from flag values keyed by flag name (`fault-rate`, ...); unset flags are absent or undefined. */
export function simulatorOptionsFromFlags(values: Readonly<Record<string, string | undefined>>): OpenClawSimulatorOptions {
  const num = (flag: string): number | undefined => numberFlag(values, flag);
  const faultRate = num('fault-rate');
  const share = faultRate === undefined ? undefined : faultRate / FAULT_NAMES.length;
  const faults: Partial<Record<FaultName, number>> = {};
  for (const name of FAULT_NAMES) {
    const value = num(FAULT_FLAGS[name]) ?? share;
    if (value !== undefined) faults[name] = value;
  }
  const invalidRate = num('invalid-rate') ?? share;
  const optional = <K extends keyof OpenClawSimulatorOptions>(key: K, value: OpenClawSimulatorOptions[K] | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    port: num('port') ?? 8080,
    ...optional('host', values['host']),
    ...optional('apiKey', values['api-key']),
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
