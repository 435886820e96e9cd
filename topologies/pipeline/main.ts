/**
 * `npm start`: the whole rating pipeline in one process, embedded by default, printing a summary
 * line every few seconds; see `config.ts` for the options and the variables that switch a part to
 * a real service, and `pipeline.ts` for what runs.
 *
 * Output: lines for the user on stdout (start-up, summaries); component logs as JSON on stderr at
 * `LOG_LEVEL` (default `warn`, so a healthy run writes nothing there).
 *
 * Signals: the first SIGINT / SIGTERM stops every component in order and exits 0 (1 when one did
 * not stop cleanly); another one more than half a second later forces the exit. Repeats within that
 * half second are the same Ctrl-C arriving twice: the terminal signals the whole process group and
 * npm forwards what it receives to this process too.
 *
 * Exit codes: 0 stopped as asked (a signal, `--duration-ms`), 1 a component failed, 2 bad options.
 */
// Light imports only: the signal handlers below must be in place before the engine, kafkajs and
// PGlite load (about a second), so a Ctrl-C during that second still stops cleanly.
import { pino } from 'pino';
import { redactSecrets } from '../../src/errors/redact.ts';
import { toError } from '../../src/errors/streams-error.ts';
import type { Logger } from '../../src/runtime/logger.ts';
import { USAGE, configSecrets, pipelineConfig, type PipelineConfig } from './config.ts';
import { prefetchDump } from './pglite-dump.ts';
import type { Pipeline } from './pipeline.ts';

/** Signals closer together than this are one Ctrl-C delivered twice (terminal group + npm). */
const SAME_SIGNAL_MS = 500;
/** Past this, a stop that hangs is given up on and the process exits 1. */
const STOP_DEADLINE_MS = 90_000;

const print = (line: string) => void process.stdout.write(`${line}\n`);

let config: PipelineConfig;
try {
  config = pipelineConfig(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`rating pipeline: ${toError(error).message}\n`);
  process.exit(2);
}
if (config.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const secrets = configSecrets(config);
const complain = (message: string) => void process.stderr.write(`rating pipeline: ${redactSecrets(message, secrets)}\n`);
const logger: Logger = pino({ name: 'rating-pipeline', level: process.env['LOG_LEVEL'] ?? 'warn' }, pino.destination({ dest: 2, sync: true }));

let exitCode = 0;
let stopping: Promise<void> | undefined;
let pipeline: Pipeline | undefined;
/** A first start's initdb is running (in its child process). */
let preparingDump = false;
/** The dump's prefetch while it runs (not after: its result holds the 40 MB dump). */
let prefetching: Promise<void> | undefined;

function shutdown(code: number): void {
  exitCode = Math.max(exitCode, code);
  stopping ??= (async () => {
    const began = performance.now();
    setTimeout(() => {
      complain(`stopping took longer than ${STOP_DEADLINE_MS / 1000} s; exiting anyway`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    if (preparingDump) print('embedded PostgreSQL: letting initdb finish first (a few seconds), so that later starts can skip it');
    // Before the pipeline exists (still loading) there is nothing to stop but a first start's initdb to let finish.
    const failed = pipeline === undefined ? [] : await pipeline.stop();
    if (pipeline === undefined && prefetching !== undefined) await Promise.race([prefetching, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    if (failed.length > 0) {
      complain(`did not stop cleanly: ${failed.join(', ')}`);
      exitCode = Math.max(exitCode, 1);
    }
    print(`rating pipeline: stopped${exitCode === 0 ? ' cleanly' : ''} in ${((performance.now() - began) / 1000).toFixed(1)} s`);
    process.exit(exitCode);
  })();
}

let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const now = performance.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      print(`rating pipeline: ${signal}, stopping (Ctrl-C again to force)`);
      shutdown(0);
    } else if (now - firstSignalAt > SAME_SIGNAL_MS) {
      complain(`${signal} again: exiting without waiting for the components`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  });
}
process.on('unhandledRejection', (reason) => {
  complain(`unexpected failure: ${toError(reason).message}`);
  shutdown(1);
});

if (config.durationMs !== undefined) setTimeout(() => shutdown(0), config.durationMs).unref();

// The embedded PostgreSQL's data directory: a first start's initdb (a child process) begins now,
// on the other core while the engine loads; a later start reads the saved one meanwhile.
if (config.databaseUrl === undefined) {
  const firstStart = (dumpPath: string) => {
    preparingDump = true;
    print(`embedded PostgreSQL: first start, creating its data directory once (initdb, a few seconds); later starts load ${dumpPath}`);
  };
  prefetching = prefetchDump(config.pgliteCacheDir, firstStart).then(
    () => undefined,
    () => undefined,
  );
  void prefetching.then(() => {
    preparingDump = false;
    prefetching = undefined;
  });
}

const { Pipeline: PipelineClass } = await import('./pipeline.ts');
const { StoppedDuringStart } = await import('./lifecycle.ts');
if (stopping === undefined) {
  pipeline = new PipelineClass({
    config,
    print,
    logger,
    onFailure: (error) => {
      // Once stopping, a component tripping over another's teardown is no reason to fail the exit:
      // what did not stop cleanly is reported by the stop itself.
      if (stopping !== undefined) return logger.warn({ err: error }, 'a component failed while stopping');
      complain(error.message);
      shutdown(1);
    },
  });
  try {
    await pipeline.start();
  } catch (error) {
    // A stop asked for during start-up is no failure; anything else is.
    if (!(error instanceof StoppedDuringStart)) {
      complain(`could not start: ${toError(error).message}`);
      shutdown(1);
    }
  }
}
