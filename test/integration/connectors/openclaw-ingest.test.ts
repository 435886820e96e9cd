/**
 * OpenClaw ingest end to end on a real broker and a real HTTP server on loopback (the simulator):
 * with every fault enabled, and with the poller SIGKILLed mid-run, a read_committed consumer finds
 * each valid rating exactly once in `ratings` and each invalid one in the dead-letter topic with its
 * reasons; a refused key stops the poller with a clear message that does not hold the key; a flood of
 * invalid ratings sends one alert to the webhook.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ratingEventType, type RatingEvent } from '../../../src/connectors/openclaw/rating-event.ts';
import { startOpenClawSimulator, type OpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { readDeadLetterHeaders } from '../../../src/errors/dead-letter.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { TransportConsumer } from '../../../src/transport/transport.ts';
import { openClawIngest, type OpenClawIngest } from '../../../topologies/openclaw-ingest.ts';
import { startWorker, waitFor, type WorkerProcess } from '../../support/app-processes.ts';
import { hasKafka, hasSchemaRegistry, kafkaBrokers, schemaRegistryUrl, uniqueName } from '../../support/services.ts';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createTopics } from '../../support/streams-harness.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const INGEST = fileURLToPath(new URL('../../../topologies/openclaw-ingest.ts', import.meta.url));

interface Seen {
  readonly valid: Map<string, number>;
  readonly invalid: Map<string, { count: number; reason: string | undefined; correlation: string | undefined }>;
  stop(): Promise<void>;
}

/** Counts every rating id in `ratings` (Avro) and every key in the dead-letter topic, read_committed. */
async function watch(transport: KafkaTransport, ratings: string, dlq: string): Promise<Seen> {
  const valid = new Map<string, number>();
  const invalid = new Map<string, { count: number; reason: string | undefined; correlation: string | undefined }>();
  const consumer: TransportConsumer = transport.consumer({ groupId: uniqueName('ingest-reader'), isolationLevel: 'read_committed' });
  await consumer.connect();
  await consumer.subscribe({ topics: [ratings, dlq], fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        if (batch.topic === ratings) {
          // A record that does not decode (or whose key is not its id) is counted under a name that fails the comparison.
          let id: string;
          try {
            const rating = ratingEventType().fromBuffer(record.value as Buffer) as RatingEvent;
            id = record.key?.toString() === rating.id ? rating.id : `<key ${record.key?.toString()} != id ${rating.id}>`;
          } catch (error) {
            id = `<undecodable at ${record.partition}:${record.offset}: ${(error as Error).message}>`;
          }
          valid.set(id, (valid.get(id) ?? 0) + 1);
        } else {
          const id = record.key?.toString() ?? '<null>';
          const headers = readDeadLetterHeaders(record.headers);
          const before = invalid.get(id);
          invalid.set(id, { count: (before?.count ?? 0) + 1, reason: headers.errorMessage, correlation: headers.correlationId });
        }
      }
    },
  });
  return { valid, invalid, stop: () => consumer.disconnect() };
}

/** The environment of an ingest worker process against `sim`; plain Avro unless the caller sets SCHEMA_REGISTRY_URL. */
function ingestEnv(sim: OpenClawSimulator, names: { readonly ratings: string; readonly dlq: string; readonly name: string }): Record<string, string> {
  return {
    OPENCLAW_URL: sim.url,
    OPENCLAW_API_KEY: sim.apiKey,
    KAFKA_BROKERS: kafkaBrokers().join(','),
    INGEST_NAME: names.name,
    RATINGS_TOPIC: names.ratings,
    RATINGS_DLQ_TOPIC: names.dlq,
    POLL_INTERVAL_MS: '50',
    LOG_LEVEL: 'silent',
    // The test run's own SCHEMA_REGISTRY_URL must not switch the worker to the wire format.
    SCHEMA_REGISTRY_URL: '',
  };
}

describe.skipIf(!hasKafka)('OpenClaw ingest on a real broker', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  const transport = () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'openclaw-ingest-test', logLevel: 'nothing' });

  async function topics(): Promise<{ ratings: string; dlq: string; name: string }> {
    const ratings = uniqueName('ratings');
    const dlq = uniqueName('ratings-dlq');
    await createTopics(transport(), [{ topic: ratings, partitions: 3 }, { topic: dlq, partitions: 1 }]);
    return { ratings, dlq, name: uniqueName('ingest') };
  }

  async function simulator(options: Parameters<typeof startOpenClawSimulator>[0]): Promise<OpenClawSimulator> {
    const sim = await startOpenClawSimulator(options);
    cleanups.push(() => sim.stop());
    return sim;
  }

  function expectExactlyOnce(seen: Seen, sim: OpenClawSimulator): void {
    const valid = sim.expectedValid();
    const invalid = sim.expectedInvalid();
    expect([...seen.valid.keys()].sort()).toEqual([...valid].sort());
    expect([...seen.valid.values()].filter((count) => count !== 1)).toEqual([]);
    expect([...seen.invalid.keys()].sort()).toEqual([...invalid].sort());
    expect([...seen.invalid.values()].filter((entry) => entry.count !== 1)).toEqual([]);
    for (const entry of seen.invalid.values()) {
      expect(entry.reason).toMatch(/score|productId|userId|timestamp/);
      expect(entry.correlation).toMatch(/^[0-9a-f-]{36}$/);
    }
  }

  it('with every fault enabled: each valid rating once in ratings, each invalid one in the DLQ with its reasons', async () => {
    const { ratings, dlq, name } = await topics();
    const sim = await simulator({
      apiKey: 'sim-key-0001',
      total: 1_500,
      seed: 11,
      invalidRate: 0.08,
      retryAfterSeconds: 1,
      slowDelayMs: 300,
      faults: { serverError: 0.1, tooManyRequests: 0.05, slow: 0.1, malformedJson: 0.08, wrongShape: 0.05, duplicate: 0.2, overlap: 0.2 },
    });
    const seen = await watch(transport(), ratings, dlq);
    cleanups.push(() => seen.stop());
    const ingest: OpenClawIngest = openClawIngest({
      transport: transport(),
      url: sim.url,
      apiKey: sim.apiKey,
      ratingsTopic: ratings,
      deadLetterTopic: dlq,
      name,
      intervalMs: 50,
      pageSize: 60,
      timeoutMs: 2_000,
      backoff: { initialMs: 20, maxMs: 200 },
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    const total = sim.expectedValid().length + sim.expectedInvalid().length;
    await waitFor(() => seen.valid.size + seen.invalid.size >= total, 120_000, () => `${seen.valid.size} valid + ${seen.invalid.size} invalid of ${total}`);
    // Let repeats, if any, arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expectExactlyOnce(seen, sim);
    const faults = sim.stats().faults;
    for (const fault of ['serverError', 'tooManyRequests', 'slow', 'malformedJson', 'wrongShape', 'duplicate', 'overlap'] as const) expect(faults[fault], fault).toBeGreaterThan(0);
    expect(ingest.poller.stats()).toMatchObject({ malformedResponses: expect.any(Number) as number });
    expect(ingest.poller.stats().duplicatesDropped).toBeGreaterThan(0);
    expect(ingest.poller.health().healthy).toBe(true);
  }, 180_000);

  it('SIGKILLed three times mid-run and restarted: still exactly once', async () => {
    const { ratings, dlq, name } = await topics();
    const sim = await simulator({ apiKey: 'sim-key-0002', total: 4_000, seed: 5, invalidRate: 0.05, slowDelayMs: 150, faults: { slow: 0.3, serverError: 0.05, overlap: 0.1 } });
    const seen = await watch(transport(), ratings, dlq);
    cleanups.push(() => seen.stop());
    const env = {
      ...ingestEnv(sim, { ratings, dlq, name }),
      POLL_PAGE_SIZE: '40',
    };
    const total = sim.expectedValid().length + sim.expectedInvalid().length;
    let killsMidRun = 0;
    for (let round = 0; round < 3; round++) {
      const worker: WorkerProcess = startWorker(INGEST, env);
      cleanups.push(async () => worker.child.kill('SIGKILL'));
      await worker.running;
      const before = seen.valid.size + seen.invalid.size;
      await waitFor(() => seen.valid.size + seen.invalid.size >= before + 300, 60_000, () => `progress in round ${round}`);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 400)));
      if (seen.valid.size + seen.invalid.size < total) killsMidRun += 1;
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    expect(killsMidRun).toBe(3);
    const last = startWorker(INGEST, env);
    cleanups.push(async () => last.child.kill('SIGKILL'));
    await last.running;
    await waitFor(() => seen.valid.size + seen.invalid.size >= total, 120_000, () => `${seen.valid.size + seen.invalid.size} of ${total}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    expectExactlyOnce(seen, sim);
  }, 300_000);

  it('the broker connection cut every 500 ms, then stalled for 5 s mid-run: still exactly once, and polling again afterwards', async () => {
    const { ratings, dlq, name } = await topics();
    const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
    const proxy = await TcpProxy.start({ host, port: Number(port) });
    cleanups.push(async () => {
      proxy.resume();
      await proxy.close();
    });
    const sim = await simulator({ apiKey: 'sim-key-0005', total: 3_000, seed: 6, invalidRate: 0.05, slowDelayMs: 100, faults: { slow: 0.3 } });
    const seen = await watch(transport(), ratings, dlq);
    cleanups.push(() => seen.stop());
    const ingest = openClawIngest({
      transport: new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'ingest-flaky', logLevel: 'nothing', routeBroker: () => proxy.address }),
      url: sim.url,
      apiKey: sim.apiKey,
      ratingsTopic: ratings,
      deadLetterTopic: dlq,
      name,
      intervalMs: 50,
      pageSize: 30,
      backoff: { initialMs: 50, maxMs: 500 },
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    const total = sim.expectedValid().length + sim.expectedInvalid().length;
    await waitFor(() => seen.valid.size + seen.invalid.size >= 300, 60_000, () => 'progress before the faults');
    let cuts = 0;
    for (let round = 0; round < 8; round++) {
      cuts += proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    proxy.pause();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const beforeResume = seen.valid.size + seen.invalid.size;
    proxy.resume();
    expect(cuts).toBeGreaterThan(0);
    // The faults hit a run in progress: ratings were still to come when the stall ended.
    expect(beforeResume).toBeLessThan(total);
    await waitFor(() => seen.valid.size + seen.invalid.size >= total, 180_000, () => `${seen.valid.size + seen.invalid.size} of ${total}: ${JSON.stringify(ingest.poller.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expectExactlyOnce(seen, sim);
    expect(ingest.poller.health().healthy).toBe(true);
  }, 300_000);

  it('401: the poller stops, reports unhealthy, and says why without the key (process exits 3, credentials refused)', async () => {
    const { ratings, dlq, name } = await topics();
    const sim = await simulator({ apiKey: 'sim-key-secret-9f3a', total: 50, seed: 2 });
    sim.revokeKey(401);
    const worker = startWorker(INGEST, {
      ...ingestEnv(sim, { ratings, dlq, name }),
      LOG_LEVEL: 'info',
    });
    let stdout = '';
    worker.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    cleanups.push(async () => worker.child.kill('SIGKILL'));
    expect(await worker.exited).toBe(3);
    expect(worker.stderr()).toMatch(/answered 401: the API key was refused; set a valid key \(OPENCLAW_API_KEY\) and restart the poller/);
    expect(stdout).toMatch(/the API refused the credentials/);
    expect(stdout + worker.stderr()).not.toContain('sim-key-secret-9f3a');
    // It stopped instead of hammering the API.
    expect(sim.stats().byStatus[401]).toBeLessThanOrEqual(2);
  }, 60_000);

  it.skipIf(!hasSchemaRegistry)('registry mode: records in ratings decode with the schema the real registry holds', async () => {
    const { ratings, dlq, name } = await topics();
    const sim = await simulator({ apiKey: 'sim-key-0004', total: 200, seed: 4 });
    const worker = startWorker(INGEST, {
      ...ingestEnv(sim, { ratings, dlq, name }),
      SCHEMA_REGISTRY_URL: schemaRegistryUrl(),
    });
    cleanups.push(async () => worker.child.kill('SIGKILL'));
    await worker.running;
    // A client of its own, knowing nothing but the registry: the schema comes from the registry by the id in each record.
    const registry = new SchemaRegistry({ host: schemaRegistryUrl() });
    const decoded: RatingEvent[] = [];
    const ids = new Set<number>();
    const consumer = transport().consumer({ groupId: uniqueName('registry-reader'), isolationLevel: 'read_committed' });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topics: [ratings], fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        for (const record of batch.records) {
          const value = record.value as Buffer;
          expect(value[0]).toBe(0);
          ids.add(value.readInt32BE(1));
          decoded.push((await registry.decode(value)) as RatingEvent);
        }
      },
    });
    await waitFor(() => decoded.length >= sim.expectedValid().length, 60_000, () => `${decoded.length} of ${sim.expectedValid().length} decoded`);
    expect(decoded.map((rating) => rating.id).sort()).toEqual([...sim.expectedValid()].sort());
    expect(ids.size).toBe(1);
    const registered = await registry.getLatestSchemaId(`${ratings}-value`);
    expect([...ids]).toEqual([registered]);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 90_000);

  it('a flood of invalid ratings sends one rate-limited alert to the webhook, with counts and no payloads', async () => {
    const { ratings, dlq, name } = await topics();
    const sim = await simulator({ apiKey: 'sim-key-0003', total: 600, seed: 3, invalidRate: 0.3 });
    const received: string[] = [];
    const hook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(body);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => hook.close(() => resolve())));
    const lines: string[] = [];
    const ingest = openClawIngest({
      transport: transport(),
      url: sim.url,
      apiKey: sim.apiKey,
      ratingsTopic: ratings,
      deadLetterTopic: dlq,
      name,
      intervalMs: 50,
      pageSize: 50,
      alerts: { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/T000/secret-path`, threshold: 20, windowMs: 60_000, minIntervalMs: 600_000 },
      logger: pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) })),
    });
    cleanups.push(() => ingest.stop());
    const seen = await watch(transport(), ratings, dlq);
    cleanups.push(() => seen.stop());
    await ingest.start();
    await waitFor(() => seen.valid.size + seen.invalid.size >= 600, 60_000, () => `${seen.valid.size + seen.invalid.size} of 600`);
    await ingest.alerts?.flush();
    expect(sim.expectedInvalid().length).toBeGreaterThan(40);
    expect(received.length).toBe(1);
    const text = (JSON.parse(received[0] as string) as { text: string }).text;
    expect(text).toMatch(new RegExp(`^${name}: \\d+ of \\d+ records in the last 60 s were dead-lettered to ${dlq} \\(by field: `));
    // No payloads: no user or product ids, no comments.
    const served = sim.ratings();
    expect(served.some((rating) => typeof rating.userId === 'string' && rating.userId !== '' && text.includes(rating.userId))).toBe(false);
    expect(lines.join('\n')).not.toContain('secret-path');
  }, 120_000);
});
