/**
 * What `npm start` runs, from its command-line options (node:util parseArgs) and the environment.
 * Each service is embedded unless its variable points at a real one, independently of the others:
 *
 * | variable | when set | when not |
 * |---|---|---|
 * | `KAFKA_BROKERS` | that Kafka cluster (comma-separated host:port), exactly-once | the in-memory transport |
 * | `DATABASE_URL` | that PostgreSQL | an embedded PGlite |
 * | `OPENCLAW_URL` + `OPENCLAW_API_KEY` | that OpenClaw Rating API | the OpenClaw simulator |
 * | `AI_AGENT_ENDPOINT` (+ `AI_AGENT_TOKEN`) | POSTs go there | a local AI-agent stub |
 *
 * Errors name the option or variable to fix and never echo a secret.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// Imported from its own file, not the index: main.ts reads the options before loading the engine.
import { ConfigError } from '../../src/errors/streams-error.ts';

export interface PipelineConfig {
  /** Milliseconds between summary lines. */
  readonly summaryMs: number;
  /** Ratings per second the simulator makes. */
  readonly rate: number;
  /** Users `u000001`..: the simulator rates them, and the embedded database is seeded with them. */
  readonly users: number;
  /** Stop by itself after this long; `undefined`: run until a signal. */
  readonly durationMs: number | undefined;
  /** Changes per second to the demo users. */
  readonly churnPerSecond: number;
  /** Port of the embedded PostgreSQL; 0 picks a free one. */
  readonly pgPort: number;
  /** Where the embedded PostgreSQL keeps its prepared data directory. */
  readonly pgliteCacheDir: string;
  /** Seed and change the demo users also in a database given by DATABASE_URL. */
  readonly demoUsers: boolean;
  readonly kafka: { readonly brokers: readonly string[] } | undefined;
  readonly databaseUrl: string | undefined;
  readonly openClaw: { readonly url: string; readonly apiKey: string } | undefined;
  readonly aiAgent: { readonly url: string; readonly token: string | undefined } | undefined;
  readonly help: boolean;
}

/** The repository's `.cache/pglite` (gitignored), wherever the command is run from. */
export const DEFAULT_PGLITE_CACHE_DIR = fileURLToPath(new URL('../../.cache/pglite/', import.meta.url));

export const USAGE = `Usage: npm start -- [options]

Runs the whole rating pipeline in one process and prints a summary line every few seconds.
Embedded by default (in-memory transport, PGlite, OpenClaw simulator, AI-agent stub); each of
KAFKA_BROKERS, DATABASE_URL, OPENCLAW_URL with OPENCLAW_API_KEY, AI_AGENT_ENDPOINT switches one
part to a real service.

Options:
  --summary-ms <ms>     milliseconds between summary lines (default 5000)
  --rate <n>            simulated ratings per second (default 100)
  --users <n>           users u000001.. rated and seeded (default 3000)
  --churn <n>           changes per second to the demo users (default 4; 0 for none)
  --duration-ms <ms>    stop by itself after this long (default: run until Ctrl-C)
  --pg-port <port>      port of the embedded PostgreSQL (default 0: a free one)
  --pglite-cache <dir>  where the embedded PostgreSQL keeps its prepared data (default .cache/pglite)
  --demo-users          seed and change the demo users also in the DATABASE_URL database
  -h, --help            this text
`;

const OPTIONS = {
  'summary-ms': { type: 'string' },
  rate: { type: 'string' },
  users: { type: 'string' },
  churn: { type: 'string' },
  'duration-ms': { type: 'string' },
  'pg-port': { type: 'string' },
  'pglite-cache': { type: 'string' },
  'demo-users': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Reads the options and the environment; throws a `ConfigError` naming what to fix. */
export function pipelineConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): PipelineConfig {
  const parse = () => parseArgs({ args: [...args], options: OPTIONS, allowPositionals: false });
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse());
  } catch (error) {
    throw new ConfigError(`${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  const number = (option: keyof typeof OPTIONS, fallback: number, min: number, max: number, integer = true): number => {
    const text = values[option];
    if (text === undefined) return fallback;
    const value = typeof text === 'string' && /^\s*[\d.]+\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new ConfigError(`--${option} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got ${String(text)})`);
    }
    return value;
  };
  const durationMs = values['duration-ms'] === undefined ? undefined : number('duration-ms', 0, 1, 2 ** 31 - 1);
  return {
    summaryMs: number('summary-ms', 5_000, 100, 3_600_000),
    rate: number('rate', 100, 1, 5_000, false),
    users: number('users', 3_000, 1, 999_999),
    churnPerSecond: number('churn', 4, 0, 1_000, false),
    durationMs,
    pgPort: number('pg-port', 0, 0, 65_535),
    pgliteCacheDir: values['pglite-cache'] ?? DEFAULT_PGLITE_CACHE_DIR,
    demoUsers: values['demo-users'] ?? false,
    help: values.help ?? false,
    ...services(env),
  };
}

function services(env: Readonly<Record<string, string | undefined>>): Pick<PipelineConfig, 'kafka' | 'databaseUrl' | 'openClaw' | 'aiAgent'> {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const brokersText = get('KAFKA_BROKERS');
  let kafka: PipelineConfig['kafka'];
  if (brokersText !== undefined) {
    const brokers = brokersText.split(',').map((b) => b.trim()).filter(Boolean);
    const bad = brokers.find((b) => !/^[^\s:/]+:\d{1,5}$/.test(b));
    if (brokers.length === 0 || bad !== undefined) throw new ConfigError(`KAFKA_BROKERS must be comma-separated host:port pairs, e.g. 127.0.0.1:9092 (got ${JSON.stringify(bad ?? brokersText)})`);
    kafka = { brokers };
  }
  const databaseUrl = get('DATABASE_URL');
  // The URL may hold a password: the message names the variable, never its value.
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(databaseUrl)) throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  const openClawUrl = get('OPENCLAW_URL');
  const apiKey = get('OPENCLAW_API_KEY');
  if ((openClawUrl === undefined) !== (apiKey === undefined)) {
    throw new ConfigError(openClawUrl === undefined ? 'OPENCLAW_API_KEY is set but OPENCLAW_URL is not: set both to poll a real OpenClaw API, or neither for the simulator' : 'OPENCLAW_URL is set but OPENCLAW_API_KEY is not: the OpenClaw API needs its bearer key');
  }
  if (openClawUrl !== undefined) httpUrl('OPENCLAW_URL', openClawUrl);
  const aiUrl = get('AI_AGENT_ENDPOINT');
  if (aiUrl !== undefined) httpUrl('AI_AGENT_ENDPOINT', aiUrl);
  return {
    kafka,
    databaseUrl,
    openClaw: openClawUrl === undefined || apiKey === undefined ? undefined : { url: openClawUrl, apiKey },
    aiAgent: aiUrl === undefined ? undefined : { url: aiUrl, token: get('AI_AGENT_TOKEN') },
  };
}

function httpUrl(name: string, value: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError(`${name} must be an http:// or https:// URL`);
}

/** The values to scrub from anything printed: the API key, the agent's token, the database password. */
export function configSecrets(config: PipelineConfig): string[] {
  const secrets: string[] = [];
  if (config.openClaw) secrets.push(config.openClaw.apiKey);
  if (config.aiAgent?.token) secrets.push(config.aiAgent.token);
  if (config.databaseUrl) {
    try {
      const password = decodeURIComponent(new URL(config.databaseUrl).password);
      if (password) secrets.push(password);
    } catch {
      // Not parsable as a URL: pg will refuse it; the generic URL pattern still scrubs it.
    }
  }
  return secrets;
}

/** A URL to print: scheme, host, port and path, without credentials or query. */
export function displayUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
