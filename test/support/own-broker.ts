/**
 * A Kafka broker of a test's own, for tests that take the broker away: started with the project's
 * broker script on free ports and a temporary data directory, killed (SIGKILL, as a crash or a pulled
 * plug would), started again on the same data, and stopped and deleted at the end. The shared broker
 * of the run is never touched.
 *
 * @example
 * const broker = await startOwnBroker();
 * try {
 *   broker.kill();
 *   await broker.restart();
 * } finally {
 *   await broker.stop();
 * }
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerAnswers, brokerOptionsFromEnv, startBroker, stopBroker, type BrokerOptions } from '../../scripts/kafka/broker.ts';
import { isAlive, readPid } from '../../scripts/lib/detached-process.ts';

export interface OwnBroker {
  /** `127.0.0.1:<port>`, for `brokers: [broker.bootstrap]`. */
  readonly bootstrap: string;
  readonly options: BrokerOptions;
  /** SIGKILLs the broker's JVM and waits until it is gone; its data stays. */
  kill(): Promise<void>;
  /** Starts the broker again on its existing data and waits until it answers (at most 90 s). */
  restart(): Promise<void>;
  /** Stops the broker (if it runs) and deletes its data; safe to call twice. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts a fresh single-node broker on free ports; throws with the broker's own log lines if it cannot. */
export async function startOwnBroker(): Promise<OwnBroker> {
  const runDir = mkdtempSync(join(tmpdir(), 'kafka-own-'));
  const port = await freePort();
  const controllerPort = await freePort();
  const options: BrokerOptions = {
    ...brokerOptionsFromEnv({ ...process.env, KAFKA_RUN_DIR: runDir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort) }),
    log: () => undefined,
  };
  const pidFile = join(runDir, 'broker.pid');
  try {
    await startBroker(options);
  } catch (error) {
    await stopBroker(options).catch(() => undefined);
    rmSync(runDir, { recursive: true, force: true });
    // The script's error keeps the broker's own words apart; show them.
    throw new Error(`${(error as Error).message}\n${(error as { logTail?: string }).logTail ?? ''}`, { cause: error });
  }
  let stopped = false;

  return {
    bootstrap: `127.0.0.1:${port}`,
    options,
    async kill() {
      const pid = readPid(pidFile);
      if (pid === undefined || !isAlive(pid)) throw new Error(`the broker of ${runDir} is not running`);
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    async restart() {
      // The script's start formats fresh storage; this starts the JVM the way it does, on the data there is.
      const lib = join(options.cacheDir, options.version, 'lib');
      const log4j2 = join(runDir, 'log4j2.properties');
      const loggingFlag = existsSync(log4j2) ? `-Dlog4j2.configurationFile=${log4j2}` : `-Dlog4j.configuration=file:${join(runDir, 'log4j.properties')}`;
      const out = openSync(join(runDir, 'broker.log'), 'a');
      const child = spawn(
        'java',
        [`-Xmx${options.heap}`, `-Xms${options.heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', loggingFlag, '-cp', `${lib}/*`, 'kafka.Kafka', join(runDir, 'server.properties')],
        { detached: true, stdio: ['ignore', out, out] },
      );
      closeSync(out);
      child.unref();
      // So that the script's stop finds and stops it.
      writeFileSync(pidFile, `${child.pid}\n`);
      const deadline = Date.now() + 90_000;
      while (!(await brokerAnswers(`127.0.0.1:${port}`))) {
        if (child.pid === undefined || !isAlive(child.pid)) throw new Error(`the restarted broker exited; see ${join(runDir, 'broker.log')}`);
        if (Date.now() > deadline) throw new Error('the restarted broker did not answer within 90 s');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopBroker(options, 10_000).catch(() => undefined);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
