/**
 * The fault-injecting proxy against the real broker: each control (pause, resume, cut, cut by
 * predicate, delay) must really do to a Kafka client what it says, or tests built on it prove
 * nothing.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeCount, createTopics } from '../../support/streams-harness.ts';
import { KAFKA_API, TcpProxy } from '../../support/tcp-proxy.ts';

const METADATA = 3;

function brokerTarget(): { host: string; port: number } {
  const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
  return { host, port: Number(port) };
}

/** Settles to 'pending' if `promise` has not settled within `ms`: proving that nothing happens needs a bound. */
async function stateAfter(promise: Promise<unknown>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  const settled = promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  const timer = new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms));
  return Promise.race([settled, timer]);
}

describe.skipIf(!hasKafka)('TcpProxy in front of the real broker', () => {
  let proxy: TcpProxy;
  const admins: Admin[] = [];

  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerTarget());
  });
  afterEach(async () => {
    proxy.resume();
    for (const admin of admins.splice(0)) await admin.disconnect().catch(() => undefined);
    await proxy.close();
  });

  /** A kafkajs admin whose every connection goes through the proxy, without retries so a fault shows. */
  async function proxiedAdmin(clientId: string): Promise<Admin> {
    const kafka = new Kafka({
      clientId,
      brokers: kafkaBrokers(),
      socketFactory: proxy.kafkaSocketFactory(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      requestTimeout: 30_000,
    });
    const admin = kafka.admin();
    admins.push(admin);
    await admin.connect();
    await admin.fetchTopicMetadata();
    return admin;
  }

  it('routes bootstrap and advertised broker addresses through the proxy with the routeBroker option', async () => {
    const clientId = uniqueName('routed');
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId, logLevel: 'nothing', routeBroker: () => proxy.address });
    const topic = uniqueName('proxy-routed');
    await createTopics(transport, [{ topic, partitions: 1 }]);
    const producer = transport.producer();
    await producer.connect();
    try {
      const produced = proxy.nextRequest((request) => request.apiKey === KAFKA_API.Produce && request.connection.clientId === clientId);
      await producer.send([{ topic, key: Buffer.from('k'), value: Buffer.from('through the proxy') }]);
      // Produce goes to the partition leader, whose address comes from metadata: the advertised one.
      await produced;
    } finally {
      await producer.disconnect();
    }
    const fetched = proxy.nextRequest((request) => request.apiKey === KAFKA_API.Fetch);
    const [record] = await consumeCount(transport, topic, 1);
    await fetched;
    expect(record?.value?.toString()).toBe('through the proxy');
  });

  it('pause stalls requests without closing connections; resume lets them complete', async () => {
    const admin = await proxiedAdmin(uniqueName('paused'));
    const before = proxy.open.map((connection) => connection.id);
    expect(before.length).toBeGreaterThan(0);

    proxy.pause();
    const seen = proxy.nextRequest((request) => request.apiKey === METADATA);
    const metadata = admin.fetchTopicMetadata();
    await seen;
    expect(await stateAfter(metadata, 1_000)).toBe('pending');
    expect(proxy.open.map((connection) => connection.id)).toEqual(before);

    proxy.resume();
    await expect(metadata).resolves.toHaveProperty('topics');
    expect(proxy.open.map((connection) => connection.id)).toEqual(before);
  });

  it('pause holds both directions, each released in order on resume', async () => {
    const server = createServer();
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const echo = await TcpProxy.start({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    try {
      const client = connect(echo.address);
      await once(client, 'connect');
      const [serverSide] = await accepted;
      // The proxy resets both sides when it closes; that is expected here.
      for (const socket of [client, serverSide]) socket.on('error', () => undefined);
      echo.pause();
      const heldUp = once(echo, 'held');
      client.write('up-1;');
      client.write('up-2;');
      await heldUp;
      const heldDown = once(echo, 'held');
      serverSide.write('down-1;');
      await heldDown;
      let upstreamGot = '';
      let clientGot = '';
      serverSide.on('data', (chunk: Buffer) => (upstreamGot += chunk.toString()));
      client.on('data', (chunk: Buffer) => (clientGot += chunk.toString()));
      expect(await stateAfter(once(serverSide, 'data'), 300)).toBe('pending');
      expect([upstreamGot, clientGot]).toEqual(['', '']);

      const bothArrived = Promise.all([once(serverSide, 'data'), once(client, 'data')]);
      echo.resume();
      await bothArrived;
      expect(clientGot).toBe('down-1;');
      // Both writes were held; they may arrive as one chunk but never out of order.
      await vi.waitFor(() => expect(upstreamGot).toBe('up-1;up-2;'));
      client.destroy();
    } finally {
      await echo.close();
      server.close();
    }
  });

  it('cut drops every open connection: an in-flight request fails with a connection error', async () => {
    const admin = await proxiedAdmin(uniqueName('cut-all'));
    proxy.pause();
    const seen = proxy.nextRequest((request) => request.apiKey === METADATA);
    const metadata = admin.fetchTopicMetadata();
    await seen;
    const cutIds = proxy.open.map((connection) => connection.id);
    expect(proxy.cut()).toBe(cutIds.length);
    // kafkajs' admin sometimes turns the connection error into a TypeError of its own; either way it fails.
    await expect(metadata).rejects.toThrow();
    expect(proxy.open).toEqual([]);
    proxy.resume();
    // kafkajs reconnects on the next request: the proxy was only a broken path, not a dead broker.
    const next = proxy.nextRequest((request) => request.apiKey === METADATA);
    await expect(admin.fetchTopicMetadata()).resolves.toHaveProperty('topics');
    expect(cutIds).not.toContain((await next).connection.id);
  });

  it('cut with a predicate drops only the matching connections', async () => {
    const victimId = uniqueName('victim');
    const bystanderId = uniqueName('bystander');
    const victim = await proxiedAdmin(victimId);
    const bystander = await proxiedAdmin(bystanderId);
    proxy.pause();
    const seen = Promise.all([
      proxy.nextRequest((request) => request.apiKey === METADATA && request.connection.clientId === victimId),
      proxy.nextRequest((request) => request.apiKey === METADATA && request.connection.clientId === bystanderId),
    ]);
    const victimCall = victim.fetchTopicMetadata();
    const bystanderCall = bystander.fetchTopicMetadata();
    await seen;
    const cut = proxy.cut((connection) => connection.clientId === victimId);
    expect(cut).toBeGreaterThan(0);
    expect(proxy.open.every((connection) => connection.clientId === bystanderId)).toBe(true);
    proxy.resume();
    await expect(victimCall).rejects.toThrow();
    await expect(bystanderCall).resolves.toHaveProperty('topics');
  });

  it('delay holds every chunk back in both directions', async () => {
    const admin = await proxiedAdmin(uniqueName('delayed'));
    proxy.delay(400);
    const started = Date.now();
    await admin.fetchTopicMetadata();
    // The request and its response are each delayed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    proxy.delay(0);
    const fast = Date.now();
    await admin.fetchTopicMetadata();
    expect(Date.now() - fast).toBeLessThan(400);
  });
});
