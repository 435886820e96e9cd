import type { Writable } from 'node:stream';
import type { Environment } from '../config/environment.ts';
import { loadEnvironment } from '../config/environment.ts';

/** What the commands write to and read from; tests give their own. */
export interface CliContext {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** The environment with `.env` under it; read when a command first needs it. */
  environment(): Environment;
  /** Set by a command's action; the process exits with it. */
  exitCode: number;
}

export function processContext(): CliContext {
  let env: Environment | undefined;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    environment: () => (env ??= loadEnvironment()),
    exitCode: 0,
  };
}
