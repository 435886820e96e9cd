/**
 * What the broker and registry scripts share: a JVM started detached with a pid file, checked,
 * stopped (SIGTERM, then SIGKILL after a grace period) and waited for until its ports are free.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

export const sleep = (ms: number) => new Promise<void>((resolvePromise) => setTimeout(resolvePromise, ms));

/** A TCP port from the environment, or `fallback`; `invalid` builds the error for a bad value. */
export function parsePort(name: string, raw: string | undefined, fallback: number, invalid: (message: string) => Error): number {
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw invalid(`${name}=${JSON.stringify(raw)} is not a TCP port; use a whole number from 1 to 65535.`);
  }
  return port;
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolvePromise(true));
    });
  });
}

/** The last `lines` lines of a log file, or `missing` when there is none yet. */
export function logTail(file: string, lines: number, missing: string): string {
  if (!existsSync(file)) return missing;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export interface StopOptions {
  readonly pidFile: string;
  /** e.g. `broker`, for the log line when it has to be killed. */
  readonly label: string;
  readonly graceMs: number;
  /** Ports to wait for until they are free (at most 10 s each). */
  readonly ports: readonly number[];
  readonly log: (line: string) => void;
}

/** Stops the process of `pidFile`: SIGTERM, SIGKILL after `graceMs`, then waits for its ports. */
export async function stopDetached(options: StopOptions): Promise<{ readonly wasRunning: boolean }> {
  const pid = readPid(options.pidFile);
  if (pid === undefined || !isAlive(pid)) {
    rmSync(options.pidFile, { force: true });
    return { wasRunning: false };
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + options.graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    options.log(`${options.label} (pid ${pid}) did not stop within ${options.graceMs / 1000}s; killing it`);
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(100);
  }
  rmSync(options.pidFile, { force: true });
  for (const port of options.ports) {
    const portDeadline = Date.now() + 10_000;
    while (!(await portIsFree(port)) && Date.now() < portDeadline) await sleep(200);
  }
  return { wasRunning: true };
}
