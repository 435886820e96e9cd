import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsBuilder, type HttpSinkOptions } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { TestServer, type Handler, type Received } from '../../support/recording-server.ts';


const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
const SECRET = 'Bearer s3cr3t-token-value-9f8e7d';
const servers: TestServer[] = [];
const drivers: TopologyTestDriver[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const server = new TestServer(handler);
  servers.push(server);
  await server.start();
  return server;
}

function ok(_request: Received, res: ServerResponse): void {
  res.writeHead(200).end('{}');
}

function pipeline(options: HttpSinkOptions<string, { n: number }>) {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  const sink = builder.stream<string, { n: number }>('in').toHttp({ name: 'http', auth: SECRET, backoff: { initialMs: 10, maxMs: 50 }, ...options });
  const driver = new TopologyTestDriver(builder.build());
  drivers.push(driver);
  return { sink, driver, input: driver.createInputTopic<string, { n: number }>('in', serdes) };
}

afterEach(async () => {
  for (const driver of drivers.splice(0)) driver.close();
  for (const server of servers.splice(0)) await server.stop();
});

describe('KStream.toHttp', () => {
  it('POSTs every record as JSON with its key as Idempotency-Key and the auth header', async () => {
    const server = await serve(ok);
    const { driver, input, sink } = pipeline({ url: server.url, headers: (record) => ({ 'X-Source-Offset': String(record.source.offset) }) });
    for (const n of [1, 2, 3]) input.pipeInput(`k${n}`, { n });
    await driver.settle();
    const byKey = new Map(server.received.map((r) => [r.headers['idempotency-key'], r]));
    expect([...byKey.keys()].sort()).toEqual(['k1', 'k2', 'k3']);
    expect(server.received.every((r) => r.method === 'POST' && r.headers.authorization === SECRET && r.headers['content-type'] === 'application/json')).toBe(true);
    expect(JSON.parse(byKey.get('k2')?.body ?? 'null')).toEqual({ n: 2 });
    expect(byKey.get('k3')?.headers['x-source-offset']).toBe('2');
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.stats()).toMatchObject({ requests: 3, delivered: 3, failed: 0, retries: 0, byStatus: { '200': 3 }, circuit: 'closed' });
  });

  it('retries 5xx answers until one succeeds, without dead letters', async () => {
    let failuresLeft = 2;
    const server = await serve((_request, res) => {
      if (failuresLeft-- > 0) res.writeHead(503).end('busy');
      else res.writeHead(201).end();
    });
    const { driver, input, sink } = pipeline({ url: server.url });
    input.pipeInput('k1', { n: 1 });
    await driver.settle();
    expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual(['k1', 'k1', 'k1']);
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.stats()).toMatchObject({ requests: 3, retries: 2, delivered: 1, byStatus: { '503': 2, '201': 1 } });
  });

  it('waits as long as Retry-After asks after a 429', async () => {
    let limited = true;
    const server = await serve((_request, res) => {
      if (limited) {
        limited = false;
        res.writeHead(429, { 'Retry-After': '1' }).end();
      } else res.writeHead(200).end();
    });
    const { driver, input } = pipeline({ url: server.url });
    input.pipeInput('k1', { n: 1 });
    await driver.settle();
    expect(server.received).toHaveLength(2);
    const [first, second] = server.received;
    // The backoff alone (10 ms) would retry far sooner.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(driver.deadLetters()).toEqual([]);
  });

  it('dead-letters a permanent 4xx at once with the status and a scrubbed, short body excerpt', async () => {
    const server = await serve((request, res) => {
      // An endpoint that echoes the credentials it got, followed by a long explanation.
      res.writeHead(400).end(`invalid rating; you sent Authorization: ${request.headers.authorization ?? ''} ${'x'.repeat(500)}`);
    });
    const { driver, input, sink } = pipeline({ url: server.url });
    input.pipeInput('k1', { n: 1 });
    await driver.settle();
    expect(server.received).toHaveLength(1);
    const [dead] = driver.deadLetters();
    expect(dead?.error).toMatchObject({ node: 'http', errorCode: 'SINK_FAILED', errorStage: 'production' });
    const message = dead?.error.errorMessage ?? '';
    expect(message).toContain('400');
    expect(message).toContain('invalid rating');
    const excerpt = message.slice(message.indexOf('400: ') + 5);
    expect(excerpt.startsWith('invalid rating')).toBe(true);
    expect(excerpt.endsWith('x…')).toBe(true);
    expect(excerpt.length).toBe(201);
    expect(sink.stats()).toMatchObject({ failed: 1, retries: 0, byStatus: { '400': 1 } });
    const everything = Object.entries(dead?.headers ?? {})
      .map(([name, value]) => `${name}=${value.toString('utf8')}`)
      .join('\n');
    expect(everything).toContain('invalid rating');
    expect(everything).not.toContain('s3cr3t-token-value');
  });

  it('keeps calls waiting while the server is down and delivers everything once it is back, without dead letters', async () => {
    const server = await serve(ok);
    const port = server.port;
    await server.stop();
    const { driver, input, sink } = pipeline({ url: `http://127.0.0.1:${port}/ratings`, maxAttempts: 3, breakerThreshold: 3, halfOpenAfterMs: 100, concurrency: 2 });
    for (const n of [1, 2, 3, 4, 5]) input.pipeInput(`k${n}`, { n });
    // Far more than maxAttempts attempts' worth of backoff: without the circuit wait they would be dead letters by now.
    await new Promise((resolve) => setTimeout(resolve, 800));
    // An outage outlasting a forEach's usual 30 s call timeout must not turn into dead letters either.
    driver.advanceWallClockTime(10 * 60_000);
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.stats().circuitOpened).toBeGreaterThanOrEqual(1);
    expect(sink.stats().byStatus['network']).toBeGreaterThanOrEqual(3);
    expect(sink.stats().delivered).toBe(0);
    await server.start(port);
    await driver.settle(10_000);
    expect(driver.deadLetters()).toEqual([]);
    expect(new Set(server.received.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['k1', 'k2', 'k3', 'k4', 'k5']));
    expect(sink.stats()).toMatchObject({ delivered: 5, failed: 0, circuit: 'closed', waitingForCircuit: 0 });
  });

  it('holds a call at an open circuit until the task closes, which ends the wait', async () => {
    const server = await serve((request, res) => {
      res.writeHead(500).end(`boom for ${request.headers.authorization ?? ''}`);
    });
    const { driver, input, sink } = pipeline({ url: server.url, maxAttempts: 2, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
    input.pipeInput('k1', { n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Two failures opened the circuit: the record waits instead of failing.
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.stats()).toMatchObject({ circuit: 'open', waitingForCircuit: 1, requests: 2 });
    driver.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.stats().waitingForCircuit).toBe(0);
  });
});
