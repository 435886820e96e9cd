/**
 * The host behind `rating-streams run` and the topology mains, with stand-in processes: the order
 * of starts and stops, probes during a start, the exit code of a process that ends by itself or
 * cannot start, and configuration problems that start nothing.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EXIT, type ExitCode } from '../../../src/cli/exit-codes.ts';
import { pipelineProcess, runsUntilStopped, type PipelineProcess, type ProcessEnd } from '../../../src/cli/pipeline-process.ts';
import { runProcesses } from '../../../src/cli/process-host.ts';
import { OPENCLAW_API_KEY } from '../../../src/config/variables.ts';
import { ConfigError, StreamsError } from '../../../src/errors/streams-error.ts';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface StandIn {
  readonly process: PipelineProcess;
  readonly started: Promise<void>;
}

/** A process that logs its start and stop, starts when `gate` opens, and ends when `end` resolves. */
function standIn(name: string, log: string[], options: { gate?: Promise<void>; end?: Promise<ProcessEnd>; failStart?: unknown; ready?: () => boolean } = {}): StandIn {
  const started = deferred();
  return {
    started: started.promise,
    process: pipelineProcess({
      name,
      variables: {},
      run: async (_config, host) => {
        host.register({
          name,
          checks: { ready: [{ name: `${name}:ready`, check: () => ({ ok: options.ready?.() ?? true }) }] },
          stop: async () => void log.push(`stop ${name}`),
        });
        log.push(`start ${name}`);
        await options.gate;
        if (options.failStart !== undefined) throw options.failStart;
        started.resolve();
        return { ended: options.end ?? runsUntilStopped() };
      },
    }),
  };
}

function host(processes: readonly PipelineProcess[], env: Record<string, string> = { OPS_PORT: '0' }) {
  const stdout = new Captured();
  const stderr = new Captured();
  const stop = new AbortController();
  const code: Promise<ExitCode> = runProcesses(processes, { env, stdout, stderr, stop: stop.signal, label: 'test-host' });
  return { stdout, stderr, stop, code };
}

describe('runProcesses', () => {
  it('starts the processes in order, prints RUNNING once all run, and on the stop signal stops them last first with exit code 0', async () => {
    const log: string[] = [];
    const a = standIn('a', log);
    const b = standIn('b', log);
    const run = host([a.process, b.process]);
    await b.started;
    await expect.poll(() => run.stdout.text).toBe('RUNNING\n');
    run.stop.abort();
    expect(await run.code).toBe(EXIT.ok);
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('answers /readyz 503 while a process starts and 200 once all have, with every registered check', async () => {
    const port = await freePort();
    const gate = deferred();
    const log: string[] = [];
    const run = host([standIn('a', log).process, standIn('b', log, { gate: gate.promise }).process], { OPS_PORT: String(port), OPS_HOST: '127.0.0.1' });
    await expect.poll(() => log).toEqual(['start a', 'start b']);
    const starting = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(starting.status).toBe(503);
    expect(((await starting.json()) as { failing: string[] }).failing).toEqual(['started']);
    gate.resolve();
    await expect.poll(() => run.stdout.text).toBe('RUNNING\n');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { name: string }[] }).checks.map((c) => c.name)).toEqual(['started', 'a:ready', 'b:ready']);
    run.stop.abort();
    expect(await run.code).toBe(EXIT.ok);
  });

  it('ends with the code of a process that stops by itself, stopping the others, and says why without its secrets', async () => {
    const log: string[] = [];
    const end = deferred<ProcessEnd>();
    const secret = pipelineProcess({
      name: 'keyed',
      variables: { OPENCLAW_API_KEY },
      run: async (_config, host) => {
        host.register({ name: 'keyed', stop: async () => void log.push('stop keyed') });
        return { ended: end.promise };
      },
    });
    const run = host([standIn('a', log).process, secret], { OPS_PORT: '0', OPENCLAW_API_KEY: 'k-very-secret-1' });
    await expect.poll(() => run.stdout.text).toBe('RUNNING\n');
    end.resolve({ code: EXIT.unauthorized, reason: 'the API refused Bearer k-very-secret-1' });
    expect(await run.code).toBe(EXIT.unauthorized);
    expect(log).toEqual(['start a', 'stop keyed', 'stop a']);
    expect(run.stderr.text).toBe('test-host: keyed stopped: the API refused Bearer [REDACTED]\n');
  });

  it('stops what started when a process cannot start: exit 2 for a configuration error, 1 for anything else', async () => {
    for (const [failure, code] of [
      [new ConfigError('topics x do not exist'), EXIT.usage],
      [new StreamsError('broker unreachable', { code: 'TRANSPORT_FAILED' }), EXIT.failure],
    ] as const) {
      const log: string[] = [];
      const run = host([standIn('a', log).process, standIn('b', log, { failStart: failure }).process, standIn('c', log).process]);
      expect(await run.code).toBe(code);
      expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
      expect(run.stdout.text).toBe('');
      expect(run.stderr.text).toBe(`test-host: b did not start: ${failure.message}\n`);
    }
  });

  it('a stop signal during a start stops every process registered so far, the starting one included', async () => {
    const log: string[] = [];
    const gate = deferred();
    const b = standIn('b', log, { gate: gate.promise });
    const run = host([standIn('a', log).process, b.process]);
    await expect.poll(() => log).toEqual(['start a', 'start b']);
    run.stop.abort();
    expect(await run.code).toBe(EXIT.ok);
    expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
    expect(run.stdout.text).toBe('');
    gate.resolve();
  });

  it('starts nothing when a variable is wrong: exit code 2 and one message', async () => {
    const log: string[] = [];
    const run = host([standIn('a', log).process, pipelineProcess({ name: 'keyed', variables: { OPENCLAW_API_KEY }, run: async () => ({ ended: runsUntilStopped() }) })], { OPS_PORT: 'none' });
    expect(await run.code).toBe(EXIT.usage);
    expect(log).toEqual([]);
    expect(run.stderr.text).toContain('test-host: the configuration of a, keyed has 2 problems:\n');
    expect(run.stderr.text).toContain('  - OPS_PORT must be a port number from 0 to 65535, 0 for no ops server (got none)\n');
    expect(run.stderr.text).toContain('  - OPENCLAW_API_KEY is not set');
  });
});
