/**
 * Runs pipeline processes in this Node.js process until a signal or until one of them stops by
 * itself: checks every variable first (one message listing every problem, exit 2), starts one ops
 * server for all of them (`/metrics`, `/healthz`, `/readyz` on `OPS_PORT`) before they start,
 * prints `RUNNING` once all have started, and on SIGTERM / SIGINT stops them in reverse order.
 *
 * Resolves with the exit code (see `exit-codes.ts`); the caller exits with it.
 */
import type { Writable } from 'node:stream';
import { LOG_LEVEL, OPS_HOST, OPS_PORT } from '../config/variables.ts';
import { loadEnvironment, type Environment } from '../config/environment.ts';
import { checkConfig } from '../config/read-config.ts';
import { formatProblems } from '../config/problems.ts';
import { redactSecrets } from '../errors/redact.ts';
import { toError } from '../errors/streams-error.ts';
import { startOpsServerFromEnv } from '../observability/ops-from-env.ts';
import type { OpsServer } from '../observability/ops-server.ts';
import type { HealthCheck } from '../observability/health-checks.ts';
import { StreamsMetrics } from '../observability/streams-metrics.ts';
import { defaultLogger } from '../runtime/logger.ts';
import { EXIT, exitCodeOf, type ExitCode } from './exit-codes.ts';
import type { PipelineProcess, ProcessEnd, ProcessHost } from './pipeline-process.ts';

/** What the host itself reads, beside the variables of its processes. */
export const HOST_VARIABLES = { LOG_LEVEL, OPS_PORT, OPS_HOST };

/** How long stopping may take before the host gives up and exits 1 (Kubernetes' grace period is 60 s here). */
const STOP_DEADLINE_MS = 50_000;
/** Signals closer together than this are one Ctrl-C delivered twice (the terminal's group and npm). */
const SAME_SIGNAL_MS = 1_000;

export interface RunProcessesOptions {
  /** What the messages start with; default `rating-streams`. */
  readonly label?: string;
  /** Default: `process.env` over `.env` of the working directory. */
  readonly env?: Environment;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Stops the processes as SIGTERM does; given, the host leaves the process's signals alone (embedding, tests). */
  readonly stop?: AbortSignal;
}

interface Registration {
  readonly name: string;
  stop(): Promise<void>;
}

export async function runProcesses(processes: readonly PipelineProcess[], options: RunProcessesOptions = {}): Promise<ExitCode> {
  const label = options.label ?? 'rating-streams';
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  let secrets: readonly string[] = [];
  const complain = (message: string) => void stderr.write(`${label}: ${redactSecrets(message, secrets)}\n`);

  let env: Environment;
  try {
    env = options.env ?? loadEnvironment();
  } catch (error) {
    complain(toError(error).message);
    return EXIT.usage;
  }

  // Every variable of every process first, so one message lists all that is wrong.
  const problems: string[] = [];
  const hostCheck = checkConfig(HOST_VARIABLES, env);
  if (!hostCheck.ok) problems.push(...hostCheck.problems);
  const configured = processes.map((p) => ({ process: p, configured: p.configure(env) }));
  for (const { configured: c } of configured) if (!c.ok) problems.push(...c.problems);
  const apps = processes.filter((p) => p.streamsApp).map((p) => p.name);
  if (apps.length > 1 && env['APPLICATION_ID']) {
    problems.push(`APPLICATION_ID is set, but ${apps.join(' and ')} would share it (one consumer group for different topologies): unset it, or run them as separate processes`);
  }
  if (!hostCheck.ok || problems.length > 0) {
    stderr.write(`${formatProblems(`${label}: the configuration of ${processes.map((p) => p.name).join(', ')}`, [...new Set(problems)])}\n`);
    return EXIT.usage;
  }
  secrets = configured.flatMap(({ configured: c }) => (c.ok ? c.secrets : []));
  const logLevel = hostCheck.config.LOG_LEVEL;

  const registrations: Registration[] = [];
  const live: HealthCheck[] = [];
  let started = false;
  const ready: HealthCheck[] = [{ name: 'started', check: () => (started ? { ok: true } : { ok: false, detail: 'starting' }) }];
  const metrics = new StreamsMetrics({ processMetrics: true });
  const host: ProcessHost = {
    metrics,
    logger: (name) => defaultLogger(name, { level: logLevel, secrets }),
    register: (registration) => {
      registrations.push(registration);
      live.push(...(registration.checks?.live ?? []));
      ready.push(...(registration.checks?.ready ?? []));
    },
  };
  const logger = host.logger(label);

  const signalled = options.stop === undefined ? waitForSignal(complain) : aborted(options.stop);
  let server: OpsServer | undefined;
  const stop = (code: ExitCode) => shutdown({ registrations, server, checks: [...live, ...ready], metrics, complain }, code);
  let code: ExitCode = EXIT.ok;
  try {
    // The checks arrays are read on every request, so processes registered later are probed too.
    server = await startOpsServerFromEnv({ logger, metrics, checks: { live, ready }, env: { ...env } });
    const ends: Promise<ProcessEnd & { readonly name: string }>[] = [];
    for (const { process: p, configured: c } of configured) {
      if (!c.ok) continue;
      // A signal during a start stops what has registered; a process that fails to start ends the host.
      const outcome = await Promise.race([
        c.run(host).then(
          (running) => ({ running }),
          (error: unknown) => ({ error }),
        ),
        signalled.then(() => 'signal' as const),
      ]);
      if (outcome === 'signal') return await stop(EXIT.ok);
      if ('error' in outcome) {
        complain(`${p.name} did not start: ${toError(outcome.error).message}`);
        return await stop(exitCodeOf(outcome.error));
      }
      ends.push(outcome.running.ended.then((end) => ({ ...end, name: p.name })));
    }
    started = true;
    stdout.write('RUNNING\n');
    const first = await Promise.race([signalled.then(() => undefined), ...ends]);
    if (first !== undefined) {
      complain(`${first.name} stopped: ${first.reason}`);
      code = first.code;
    }
  } catch (error) {
    complain(toError(error).message);
    code = exitCodeOf(error);
  }
  return stop(code);
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function waitForSignal(complain: (message: string) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      const now = Date.now();
      if (first === undefined) {
        first = now;
        resolve(signal);
      } else if (now - first > SAME_SIGNAL_MS) {
        complain(`${signal} again while stopping: exiting now`);
        process.exit(EXIT.failure);
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

interface Owned {
  readonly registrations: readonly Registration[];
  readonly server: OpsServer | undefined;
  readonly checks: readonly HealthCheck[];
  readonly metrics: StreamsMetrics;
  readonly complain: (message: string) => void;
}

/** Stops the processes (last started first), then the ops server and what the checks hold. */
async function shutdown(owned: Owned, code: ExitCode): Promise<ExitCode> {
  const { registrations, server, checks, metrics, complain } = owned;
  let result = code;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_DEADLINE_MS);
    timer.unref();
  });
  const stopAll = (async () => {
    for (const registration of [...registrations].reverse()) {
      try {
        await registration.stop();
      } catch (error) {
        complain(`${registration.name} did not stop cleanly: ${toError(error).message}`);
        if (result === EXIT.ok) result = EXIT.failure;
      }
    }
  })();
  if ((await Promise.race([stopAll.then(() => 'stopped' as const), deadline])) === 'timeout') {
    complain(`stopping took longer than ${STOP_DEADLINE_MS / 1_000} s; exiting anyway`);
    result = EXIT.failure;
  }
  clearTimeout(timer);
  await server?.close().catch(() => undefined);
  await Promise.all([...new Set(checks)].map((check) => check.close?.().catch(() => undefined)));
  metrics.close();
  return result;
}
