/**
 * Runs `rating-streams` as a user would: `node --import tsx src/cli/main.ts ...` in a child
 * process, with an environment built from scratch (the test run's own KAFKA_BROKERS or
 * SCHEMA_REGISTRY_URL never leak in) and, by default, an empty temporary working directory (so a
 * developer's `.env` is not read).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** The tsx loader by absolute URL: the child's working directory has no node_modules. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliRunOptions {
  /** Added to PATH and HOME. */
  readonly env?: Readonly<Record<string, string>>;
  /** Default: a new empty temporary directory. */
  readonly cwd?: string;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Resolves when it printed RUNNING; rejects with its output if it exits first. */
  readonly running: Promise<void>;
  readonly result: Promise<CliResult>;
  stdout(): string;
  stderr(): string;
}

export const emptyDirectory = (): string => mkdtempSync(join(tmpdir(), 'rating-streams-cli-'));

function baseEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...extra };
}

/** Starts the CLI with `args`; see `CliProcess`. */
export function startCli(args: readonly string[], options: CliRunOptions = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', TSX, CLI_MAIN, ...args], { cwd: options.cwd ?? emptyDirectory(), env: baseEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', () => {
      if (/^RUNNING$/m.test(stdout)) resolve();
    });
    void result.then(({ code }) => reject(new Error(`the CLI exited (${String(code)}) before RUNNING:\n${stdout.slice(-2_000)}\n${stderr.slice(-2_000)}`)));
  });
  running.catch(() => undefined);
  return { child, running, result, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the CLI with `args` to its end. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

/** The pipeline's topic and connector-name variables, each under `prefix`, so a test's run collides with no other. */
export function pipelineTopicNames(prefix: string) {
  return {
    RATINGS_TOPIC: `${prefix}-ratings`,
    RATINGS_DLQ_TOPIC: `${prefix}-dlq`,
    USERS_TOPIC: `${prefix}-users`,
    RATINGS_ENRICHED_TOPIC: `${prefix}-enriched`,
    PRODUCT_STATS_TOPIC: `${prefix}-stats`,
    RATING_ALERTS_TOPIC: `${prefix}-alerts`,
    INGEST_NAME: `${prefix}-ingest`,
    USERS_CDC_NAME: `${prefix}-cdc`,
  };
}
