/**
 * Hostile review (pipeline): the AI-agent sink `toHttp()` against ordinary misbehaving endpoints.
 *
 * README "HTTP sink: toHttp()": POSTs each record with an `Idempotency-Key` header (the record key);
 * "429 (after its `Retry-After`) ... retried"; "A permanent 4xx goes to the production error policy
 * (dead letter) with the status and a 200-character body excerpt, secrets scrubbed. The `auth` value
 * is a secret: never logged." Topic contract: the rating id is "UTF-8" and "the `Idempotency-Key`
 * sent to the AI agent".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsBuilder, type HttpSinkOptions } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { TestServer, type Handler } from '../../support/recording-server.ts';


const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
const TOKEN = 's3cr3t-token-value-9f8e7d';
const servers: TestServer[] = [];
const drivers: TopologyTestDriver[] = [];
const timers: NodeJS.Timeout[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const server = new TestServer(handler);
  servers.push(server);
  await server.start();
  return server;
}

function pipeline(options: HttpSinkOptions<string, { id: string }>) {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const sink = builder.stream<string, { id: string }>('in').toHttp({ name: 'ai-agent', auth: `Bearer ${TOKEN}`, idempotencyKey: (r) => r.value.id, ...options });
  const driver = new TopologyTestDriver(builder.build());
  drivers.push(driver);
  return { sink, driver, input: driver.createInputTopic<string, { id: string }>('in', serdes) };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const driver of drivers.splice(0)) driver.close();
  for (const server of servers.splice(0)) await server.stop();
});

describe('review: toHttp against odd endpoints', () => {
  // Valid ratings whose ids (UTF-8, non-empty, as the contract allows) hold characters outside
  // Latin-1. axios silently drops those characters from header values, so '評価-1' and '評判-1' are
  // both sent with `Idempotency-Key: -1`: an agent that deduplicates by the key (what the key is
  // for) takes the second rating for a retry of the first and drops it.
  it('sends each rating with an Idempotency-Key that identifies it (non-Latin-1 UTF-8 ids)', async () => {
    const server = await serve((_request, res) => res.writeHead(200).end('{}'));
    const { driver, input } = pipeline({ url: server.url });
    input.pipeInput('評価-1', { id: '評価-1' });
    input.pipeInput('評判-1', { id: '評判-1' });
    await driver.settle(5_000);
    // Whatever the encoding (raw UTF-8 bytes, or an escape), two ratings must not share a key.
    const keys = server.received.map((r) => String(r.headers['idempotency-key']));
    expect({ requests: keys.length, distinctKeys: new Set(keys).size, keys }).toEqual({ requests: 2, distinctKeys: 2, keys: expect.any(Array) });
  }, 20_000);

  // Same class, ASCII only: axios trims header values (and drops CR/LF), so the valid, distinct ids
  // 'r-7' and ' r-7 ' (validation only refuses ids that are blank) share `Idempotency-Key: r-7`.
  it('sends distinct Idempotency-Keys for ids that differ only in surrounding whitespace', async () => {
    const server = await serve((_request, res) => res.writeHead(200).end('{}'));
    const { driver, input } = pipeline({ url: server.url });
    input.pipeInput('r-7', { id: 'r-7' });
    input.pipeInput(' r-7 ', { id: ' r-7 ' });
    await driver.settle(5_000);
    const keys = server.received.map((r) => String(r.headers['idempotency-key']));
    expect({ requests: keys.length, distinctKeys: new Set(keys).size, keys }).toEqual({ requests: 2, distinctKeys: 2, keys: expect.any(Array) });
  }, 20_000);

  // A 429 with `Retry-After: 30` must not be retried before 30 s. When the failures open the circuit,
  // the record whose failure opened it skips its Retry-After wait, waits only for the half-open
  // probe (halfOpenAfterMs, default 5 s) and is sent again after ~5-10 s.
  // Known break, not fixed yet (README, known limits): `it.fails` turns red once it is fixed.
  it.fails('honours Retry-After also when the 429s open the circuit (default options)', async () => {
    const server = await serve((_request, res) => res.writeHead(429, { 'Retry-After': '30' }).end('slow down'));
    const { driver, input } = pipeline({ url: server.url });
    for (let i = 0; i < 5; i++) input.pipeInput(`r${i}`, { id: `r${i}` });
    await wait(12_000); // the open circuit lets a probe through 5 s after it opened; waiters wake every 2.5-5 s
    const first = server.received[0]?.at ?? 0;
    const early = server.received.filter((r) => r.at - first < 29_000);
    expect(driver.deadLetters()).toEqual([]);
    // One request per record is all Retry-After allows in the first 30 s.
    expect(early.length, `requests at (ms after the first 429): ${early.map((r) => r.at - first).join(", ")}`).toBe(5);
  }, 20_000);

  // A 400 whose (large) body arrives more slowly than timeoutMs: the status is known as soon as the
  // headers arrive, but the sink reads the whole body into memory first (no size bound), hits the
  // attempt timeout and retries the permanent 4xx as a "timeout"; the retries open the circuit and
  // the record then waits for ever instead of being dead-lettered with its status.
  // Known break, not fixed yet (README, known limits): `it.fails` turns red once it is fixed.
  it.fails('dead-letters a 4xx with a large, slow body with its status, without retrying it', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.write('invalid rating: ');
      const timer = setInterval(() => res.write('x'.repeat(64 * 1024)), 50);
      timers.push(timer);
      res.on('close', () => clearInterval(timer));
    });
    const { driver, input, sink } = pipeline({ url: server.url, timeoutMs: 1_000, backoff: { initialMs: 10, maxMs: 20 } });
    input.pipeInput('r1', { id: 'r1' });
    await wait(7_000);
    const outcome = { requests: server.received.length, deadLetters: driver.deadLetters().map((d) => (d.error.errorMessage ?? "").slice(0, 80)), byStatus: sink.stats().byStatus, circuit: sink.stats().circuit };
    expect(outcome).toMatchObject({ requests: 1, deadLetters: [expect.stringContaining('400')] });
  }, 20_000);

  // The endpoint tells the client which credential it refused: the token without the "Bearer "
  // prefix. Only the whole `auth` value is treated as a secret, and the generic patterns need
  // "bearer " or "token=" in front, so the token reaches the dead-letter headers.
  it('never puts the auth token into the dead letter, also when the body echoes it without its scheme', async () => {
    const server = await serve((_request, res) => res.writeHead(401).end(`{"error":"credential ${TOKEN} is revoked"}`));
    const { driver, input } = pipeline({ url: server.url });
    input.pipeInput('r1', { id: 'r1' });
    await driver.settle(5_000);
    const [dead] = driver.deadLetters();
    expect(dead?.error.errorMessage).toContain('401');
    const everything = [dead?.error.errorMessage ?? '', ...Object.values(dead?.headers ?? {}).map((v) => v.toString('utf8'))].join('\n');
    expect(everything).not.toContain(TOKEN);
  }, 20_000);

  // Holds (kept as a check): an endpoint that resets the connection mid-response, then recovers.
  it('retries a connection reset mid-response and delivers without dead letters', async () => {
    let resets = 3;
    const server = await serve((_request, res) => {
      if (resets-- > 0) {
        res.writeHead(200, { 'Content-Length': '100' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.resetAndDestroy(), 20);
      } else res.writeHead(200).end('{}');
    });
    const { driver, input, sink } = pipeline({ url: server.url, backoff: { initialMs: 10, maxMs: 20 } });
    input.pipeInput('r1', { id: 'r1' });
    await driver.settle(5_000);
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.stats()).toMatchObject({ delivered: 1 });
  }, 20_000);

  // 301/302: a moved endpoint (http -> https, a trailing slash) is not a rejection of the record;
  // README lists only "a permanent 4xx" as a dead letter and calls an outage backpressure. Every
  // record is dead-lettered at once instead, i.e. a redirect drains the whole stream into the DLQ.
  // Known break, not fixed yet (README, known limits): `it.fails` turns red once it is fixed.
  it.fails('does not dead-letter records because the endpoint answers a redirect', async () => {
    const server = await serve((_request, res) => res.writeHead(308, { Location: 'https://127.0.0.1:1/ratings' }).end());
    const { driver, input } = pipeline({ url: server.url, backoff: { initialMs: 10, maxMs: 20 } });
    for (let i = 0; i < 3; i++) input.pipeInput(`r${i}`, { id: `r${i}` });
    await driver.settle(5_000);
    await wait(500);
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([]);
  }, 20_000);
});
