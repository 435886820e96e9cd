/**
 * Secrets given to an app, a poller or an HTTP sink never reach the JSON log lines, also when an
 * error carrying them (in its message, or in the request config an HTTP client error holds) is
 * logged; the default logger censors secret-looking fields on its own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, RestPoller, StreamsApp, StreamsBuilder, defaultLogger, type ErrorPolicies, type Logger } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A default logger (pino, JSON lines) whose output is kept in `text()`. */
function capturedLogger(options: { secrets?: readonly string[] } = {}): { logger: Logger; text(): string; lines(): Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = defaultLogger('secrets-test', { level: 'debug', destination, ...options });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => handler(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`gave up waiting for ${what}`);
}

/** An error as an HTTP client throws it: the request config, Authorization header included, hangs off it. */
function clientError(message: string, authorization: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_BAD_RESPONSE', config: { url: 'http://127.0.0.1/x', headers: { Authorization: authorization } } });
}

async function failingApp(options: { secrets?: readonly string[]; errorPolicy: ErrorPolicies; logger: Logger; build: (builder: StreamsBuilder, input: string) => void }): Promise<StreamsApp> {
  const transport = new MemoryTransport();
  const input = uniqueName('in');
  await createTopics(transport, [{ topic: input }, { topic: 'out' }]);
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  options.build(builder, input);
  const app = new StreamsApp(builder.build(), {
    applicationId: uniqueName('secrets-app'),
    transport,
    logger: options.logger,
    errorPolicy: options.errorPolicy,
    commitIntervalMs: 20,
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  cleanups.push(() => app.stop());
  await app.start();
  await produce(transport, [{ topic: input, key: Buffer.from('k'), value: Buffer.from('1') }]);
  return app;
}

describe('secrets in logs', () => {
  it('the default logger censors secret fields, scrubs given values and token patterns, and logs errors without their request config', () => {
    const given = 'given-secret-7c1f9a';
    const { logger, text } = capturedLogger({ secrets: [given] });
    logger.child({ component: 'x' }).info(
      { headers: { authorization: 'Bearer hdr-token-1' }, password: 'pw-field-2', apiKey: 'key-field-3', db: 'postgres://app:pw-url-4@127.0.0.1:5432/db', note: `it was ${given}` },
      `calling with ${given}`,
    );
    logger.error({ err: clientError(`request failed for ${given}`, 'Bearer cfg-token-5') }, 'request failed');
    logger.warn({ cause: clientError('nested', 'Bearer cfg-token-6'), attempts: [{ token: 'tok-field-7' }] }, 'retrying');
    const logged = text();
    expect(logged).toContain('calling with [REDACTED]');
    expect(logged).toContain('request failed for [REDACTED]');
    expect(logged).toContain('ERR_BAD_RESPONSE');
    expect(logged).toContain('postgres://app:[REDACTED]@127.0.0.1:5432/db');
    for (const secret of [given, 'hdr-token-1', 'pw-field-2', 'key-field-3', 'pw-url-4', 'cfg-token-5', 'cfg-token-6', 'tok-field-7']) expect(logged).not.toContain(secret);
  });

  it('an app given a secret never logs it, also when an error carrying it stops the app or a record is skipped for it', async () => {
    const secret = 'app-secret-5d2e8b';
    const thrower = (builder: StreamsBuilder, input: string) =>
      builder
        .stream<string, number>(input)
        .mapValues((): number => {
          throw clientError(`enrichment refused key ${secret}`, `Bearer ${secret}`);
        }, { name: 'enrich' })
        .to('out');

    const fatal = capturedLogger();
    const failed = await failingApp({ secrets: [secret], errorPolicy: { processing: 'fail' }, logger: fatal.logger, build: thrower });
    await until('the app to fail', () => failed.state === 'failed');
    expect(fatal.lines().some((line) => line['msg'] === 'stopping after a fatal error' && JSON.stringify(line['err']).includes('enrichment refused key [REDACTED]'))).toBe(true);
    expect(fatal.text()).not.toContain(secret);

    const skipping = capturedLogger();
    const skipped = await failingApp({ secrets: [secret], errorPolicy: { processing: 'continue' }, logger: skipping.logger, build: thrower });
    await until('the record to be skipped', () => skipping.text().includes('record skipped after an error'));
    expect(skipped.state).toBe('running');
    expect(skipping.text()).toContain('enrichment refused key [REDACTED]');
    expect(skipping.text()).not.toContain(secret);
  });

  it("an HTTP sink's auth never reaches the logs, also when the endpoint echoes it in an error answer that stops the app", async () => {
    const token = 'sink-token-91a3c4';
    const base = await serve((request, response) => response.writeHead(400).end(`bad request; you sent ${String(request.headers.authorization)}`));
    const { logger, text, lines } = capturedLogger();
    const app = await failingApp({
      errorPolicy: { production: 'fail' },
      logger,
      build: (builder, input) => void builder.stream<string, number>(input).toHttp({ name: 'agent', url: `${base}/ratings`, auth: `Bearer ${token}` }),
    });
    await until('the app to fail', () => app.state === 'failed');
    expect(lines().some((line) => line['msg'] === 'stopping after a fatal error' && JSON.stringify(line['err']).includes('answered 400'))).toBe(true);
    expect(text()).not.toContain(token);
  });

  it("a poller's API key never reaches the logs when the API refuses it", async () => {
    const apiKey = 'poller-key-3b7d02';
    const base = await serve((request, response) => response.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: `key ${String(request.headers.authorization)} refused` })));
    const { logger, text } = capturedLogger();
    const poller = new RestPoller({
      name: uniqueName('poller'),
      transport: new MemoryTransport(),
      baseUrl: base,
      apiKey,
      intervalMs: 10,
      logger,
      cursorOf: () => undefined,
      idOf: () => undefined,
      toRecords: () => [],
    });
    cleanups.push(() => poller.stop());
    await poller.start();
    await until('the poller to stop as unauthorized', () => poller.state === 'unauthorized');
    expect(text()).toContain('the API refused the credentials');
    expect(text()).not.toContain(apiKey);
  });
});
