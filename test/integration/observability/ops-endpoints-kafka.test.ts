/**
 * The ops endpoints of an app on a real broker: `/readyz` answers 503 while a table of 60,000
 * profiles is restored and 200 once it is (never 200 in between), and `/metrics` shows consumer lag
 * per partition, commits and committed offsets, records in and out per node, dead letters by stage
 * and reason, the latency histogram, the store's cache and the HTTP sink's requests and circuit,
 * with the values the run produced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, StreamsMetrics, appAlive, appReady, brokerConnected, httpCircuitClosed, silentLogger, startOpsServer, type HealthReport } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { get, parsePrometheus, select, total, type Sample } from '../../support/prometheus-text.ts';
import { TestServer } from '../../support/recording-server.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const PROFILES = 60_000;
const RATINGS = 200;
/** Every 20th rating has a score outside 1..5 (dead-lettered by the topology), and one more does not decode. */
const outOfRange = (i: number) => i % 20 === 7;
const VALID = Array.from({ length: RATINGS }, (_, i) => i).filter((i) => !outOfRange(i)).length;
const m = (name: string) => `rating_streams_${name}`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Calls `probe` again and again (one at a time) until stopped; returns what each call gave. */
function keepProbing<T>(probe: () => Promise<T>): { stop(): Promise<T[]> } {
  const seen: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      seen.push(await probe());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

describe.skipIf(!hasKafka)('ops endpoints on a real broker', () => {
  it('/readyz is 503 while the table restores and 200 after; /metrics shows lag, commits, records per node, dead letters, latency, the cache and the HTTP sink', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'ops-endpoints', logLevel: 'nothing' });
    const [profiles, ratings, out] = [uniqueName('profiles'), uniqueName('ratings'), uniqueName('enriched')];
    await createTopics(transport, [
      { topic: profiles, partitions: 2 },
      { topic: ratings, partitions: 2 },
      { topic: out, partitions: 2 },
    ]);
    await produce(transport, Array.from({ length: PROFILES }, (_, i) => ({ topic: profiles, key: Buffer.from(`u${i}`), value: Buffer.from(JSON.stringify({ name: `user ${i}`, city: 'Lyon' })) })), 5_000);
    await produce(transport, [
      ...Array.from({ length: RATINGS }, (_, i) => ({ topic: ratings, key: Buffer.from(`u${i * 7}`), value: Buffer.from(JSON.stringify({ id: `r${i}`, score: outOfRange(i) ? 9 : 1 + (i % 5) })) })),
      { topic: ratings, key: Buffer.from('u3'), value: Buffer.from('{not json') },
    ]);
    const agent = new TestServer((_request, res) => void res.writeHead(200).end('{}'));
    await agent.start();
    cleanups.push(() => agent.stop());

    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table<string, { name: string }>(profiles, { name: 'profiles-table', store: { name: 'profiles', cache: { maxEntries: 1_000 } } });
    const { ok, bad } = builder
      .stream<string, { id: string; score: number }>(ratings, { name: 'ratings-source' })
      .split({ name: 'check' })
      .branch((_user, rating) => rating.score >= 1 && rating.score <= 5, { name: 'ok' })
      .defaultBranch({ name: 'bad' });
    bad.deadLetter({ name: 'reject', reason: (_user, rating) => `score ${rating.score} is outside 1..5` });
    const joined = ok.leftJoin(users, (rating, user) => ({ ...rating, user: user?.name ?? null }), { name: 'join-user' });
    joined.to(out, { name: 'out-sink' });
    const sink = joined.toHttp({ name: 'agent', url: agent.url });
    const applicationId = uniqueName('ops-app');
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 200 });
    cleanups.push(() => app.stop());
    const metrics = new StreamsMetrics({ apps: [applicationId] });
    cleanups.push(() => metrics.close());
    metrics.watchApp(app);
    metrics.watchStores(() => app.storeStats(), applicationId);
    metrics.watchHttpSink(sink);
    const ops = await startOpsServer({ port: 0, metrics, checks: { live: [appAlive(app)], ready: [appReady(app), brokerConnected(transport), httpCircuitClosed(sink)] } });
    cleanups.push(() => ops.close());

    const readiness = keepProbing(async () => {
      const { status, body } = await get(`${ops.url}/readyz`);
      return { status, report: JSON.parse(body) as HealthReport };
    });
    const scrapes = keepProbing(async () => parsePrometheus((await get(`${ops.url}/metrics`)).body));
    await app.start();
    await consumeCount(transport, out, VALID, 120_000);
    await waitForCommitted(transport, applicationId, ratings);
    expect(app.state).toBe('running');
    // A few more answers once everything is done.
    const settled = (await get(`${ops.url}/readyz`)).status;
    const probes = await readiness.stop();
    const during: Sample[][] = await scrapes.stop();

    const restoring = probes.findIndex((probe) => probe.report.checks.some((c) => c.name === `app:${applicationId}:ready` && (c.detail ?? '').startsWith('restoring tables')));
    expect(restoring, 'a readiness probe during the restoration').toBeGreaterThanOrEqual(0);
    expect(probes[restoring]?.status).toBe(503);
    expect(probes[restoring]?.report.failing).toContain(`app:${applicationId}:ready`);
    const firstReady = probes.findIndex((probe) => probe.status === 200);
    expect(firstReady).toBeGreaterThan(restoring);
    // Ready only after the restoration: never 200 before a probe that saw it restoring.
    expect(probes.slice(0, restoring).every((probe) => probe.status === 503)).toBe(true);
    expect(settled).toBe(200);

    // Scraped during the restoration: what is left to restore, and the state.
    expect(during.some((samples) => total(samples, m('restore_remaining_offsets'), { app: applicationId, store: 'profiles' }) > 0)).toBe(true);
    expect(during.some((samples) => total(samples, m('app_state'), { app: applicationId, state: 'restoring' }) === 1)).toBe(true);

    // Scraped while the app runs: lag per partition of both topics, commits and committed offsets.
    const samples = parsePrometheus((await get(`${ops.url}/metrics`)).body);
    expect(new Set(select(samples, m('consumer_lag'), { app: applicationId, topic: profiles }).map((s) => s.labels['partition']))).toEqual(new Set(['0', '1']));
    expect(new Set(select(samples, m('consumer_lag'), { app: applicationId, topic: ratings }).map((s) => s.labels['partition']))).toEqual(new Set(['0', '1']));
    expect(total(samples, m('consumer_lag'), { app: applicationId, topic: ratings })).toBe(0);
    expect(total(samples, m('commits_total'), { app: applicationId })).toBeGreaterThanOrEqual(1);
    expect(total(samples, m('committed_offset'), { app: applicationId, topic: ratings })).toBe(RATINGS + 1);
    expect(total(samples, m('records_in_total'), { app: applicationId, topic: profiles })).toBe(PROFILES);
    expect(total(samples, m('restore_remaining_offsets'), { app: applicationId, store: 'profiles' })).toBe(0);
    expect(total(samples, m('store_entries'), { app: applicationId, store: 'profiles' })).toBe(PROFILES);
    expect(total(samples, m('app_state'), { app: applicationId, state: 'running' })).toBe(1);

    // Records in and out per node, dead letters by stage and reason, latency of every input record.
    expect(total(samples, m('records_in_total'), { app: applicationId, topic: ratings })).toBe(RATINGS + 1);
    expect(total(samples, m('node_records_out_total'), { app: applicationId, node: 'ratings-source' })).toBe(RATINGS);
    expect(total(samples, m('node_records_out_total'), { app: applicationId, node: 'join-user' })).toBe(VALID);
    expect(total(samples, m('dead_letters_total'), { app: applicationId, node: 'reject', stage: 'processing', code: 'RECORD_REJECTED' })).toBe(RATINGS - VALID);
    expect(total(samples, m('dead_letters_total'), { app: applicationId, stage: 'deserialization', code: 'DESERIALIZATION_FAILED' })).toBe(1);
    expect(total(samples, m('record_latency_seconds_count'), { app: applicationId, topic: ratings })).toBe(RATINGS + 1);
    expect(total(samples, m('record_latency_seconds_sum'), { app: applicationId, topic: ratings })).toBeGreaterThan(0);
    // The store's cache saw one lookup per joined rating.
    expect(total(samples, m('store_cache_hits_total'), { store: 'profiles' }) + total(samples, m('store_cache_misses_total'), { store: 'profiles' })).toBe(VALID);
    // The HTTP sink: one 200 per valid rating, each timed, the circuit closed.
    expect(total(samples, m('http_requests_total'), { sink: 'agent', status: '200' })).toBe(VALID);
    expect(total(samples, m('http_request_duration_seconds_count'), { sink: 'agent' })).toBe(VALID);
    expect(total(samples, m('http_deliveries_total'), { sink: 'agent', outcome: 'delivered' })).toBe(VALID);
    expect(total(samples, m('http_circuit_state'), { sink: 'agent', state: 'closed' })).toBe(1);
    expect(agent.received).toHaveLength(VALID);
  });
});
