/**
 * The whole metrics path on the memory transport: a topology with a dead-letter branch, a table
 * join and an HTTP sink whose endpoint answers 503 until told otherwise, its metrics scraped from
 * `/metrics` over HTTP as Prometheus would, and `/readyz` following the sink's circuit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryTransport,
  StreamsApp,
  StreamsBuilder,
  StreamsMetrics,
  appAlive,
  appReady,
  brokerConnected,
  httpCircuitClosed,
  silentLogger,
  startOpsServer,
  type HealthReport,
  type OpsServer,
} from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { get, scrape, select, total, type Sample } from '../../support/prometheus-text.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An endpoint answering 503 while `failing`, 200 afterwards. */
async function agentEndpoint(): Promise<{ url: string; setFailing(value: boolean): void }> {
  let failing = true;
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(failing ? 503 : 200).end(failing ? 'busy' : '{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ratings`, setFailing: (value) => (failing = value) };
}

async function until(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const m = (name: string) => `rating_streams_${name}`;

describe('metrics on /metrics', () => {
  it('reports records in and out, dead letters by reason, latency, commits, lag, state, store and HTTP sink metrics with the values sent', async () => {
    const transport = new MemoryTransport();
    const [input, profiles, out] = [uniqueName('ratings'), uniqueName('profiles'), uniqueName('out')];
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: profiles, partitions: 2 },
      { topic: out, partitions: 2 },
    ]);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    // u5 lands in partition 1, the others in partition 0.
    await produce(transport, ['u0', 'u5', 'u2'].map((id) => ({ topic: profiles, key: Buffer.from(id), value: json({ name: `user ${id}` }) })));
    const valid = ['u0', 'u5', 'u2', 'u0', 'u5', 'u9'];
    await produce(transport, [
      ...valid.map((user, i) => ({ topic: input, key: Buffer.from(user), value: json({ score: 1 + (i % 5) }) })),
      { topic: input, key: Buffer.from('u5'), value: json({ score: 9 }) },
      { topic: input, key: Buffer.from('u2'), value: json({ score: 0 }) },
      { topic: input, key: Buffer.from('u0'), value: Buffer.from('{not json') },
    ]);
    const agent = await agentEndpoint();

    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const table = builder.table<string, { name: string }>(profiles, { name: 'profiles-table', store: { name: 'profiles', cache: { maxEntries: 100 } } });
    const { ok, bad } = builder
      .stream<string, { score: number }>(input, { name: 'ratings-source' })
      .split({ name: 'check' })
      .branch((_user, rating) => rating.score >= 1 && rating.score <= 5, { name: 'ok' })
      .defaultBranch({ name: 'bad' });
    bad.deadLetter({ name: 'reject', reason: (_user, rating) => `score ${rating.score} is outside 1..5` });
    const joined = ok.leftJoin(table, (rating, profile) => ({ ...rating, user: profile?.name ?? null }), { name: 'join-profile' });
    joined.to(out, { name: 'out-sink' });
    const sink = joined.toHttp({ name: 'agent', url: agent.url, auth: 'Bearer metrics-test-secret', breakerThreshold: 1, halfOpenAfterMs: 40, backoff: { initialMs: 5, maxMs: 10 } });

    const applicationId = uniqueName('metrics-app');
    const metrics = new StreamsMetrics({ apps: [applicationId] });
    cleanups.push(() => metrics.close());
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 50 });
    cleanups.push(() => app.stop());
    metrics.watchApp(app);
    metrics.watchStores(() => app.storeStats(), applicationId);
    metrics.watchHttpSink(sink);
    const ops: OpsServer = await startOpsServer({
      port: 0,
      metrics,
      checks: { live: [appAlive(app)], ready: [appReady(app), brokerConnected(transport), httpCircuitClosed(sink)] },
    });
    cleanups.push(() => ops.close());
    await app.start();

    // The endpoint refuses: the circuit opens, readiness says which check fails.
    let samples: Sample[] = [];
    await until('the circuit to open', async () => {
      samples = await scrape(ops.url);
      return total(samples, m('http_circuit_opened_total'), { sink: 'agent' }) >= 1;
    });
    expect(total(samples, m('http_circuit_state'), { sink: 'agent', state: 'closed' })).toBe(0);
    expect(total(samples, m('http_circuit_state'), { sink: 'agent' })).toBe(1);
    expect(total(samples, m('http_requests_total'), { sink: 'agent', status: '503' })).toBeGreaterThanOrEqual(1);
    const notReady = await get(`${ops.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect((JSON.parse(notReady.body) as HealthReport).failing).toEqual(['http:agent:circuit']);

    agent.setFailing(false);
    await until('every record delivered', () => sink.stats().delivered === valid.length);
    await consumeCount(transport, out, valid.length);
    await waitForCommitted(transport, applicationId, input);
    samples = await scrape(ops.url);

    // Records in per topic and partition, out per node.
    expect(total(samples, m('records_in_total'), { app: applicationId, topic: input })).toBe(9);
    expect(total(samples, m('records_in_total'), { topic: profiles })).toBe(3);
    const admin = transport.admin();
    await admin.connect();
    const ends = await admin.endOffsets(input);
    await admin.disconnect();
    expect([...ends.values()].every((end) => end > 0)).toBe(true);
    for (const [partition, end] of ends) {
      expect(total(samples, m('records_in_total'), { topic: input, partition: String(partition) })).toBe(end);
    }
    expect(total(samples, m('node_records_out_total'), { node: 'ratings-source' })).toBe(8);
    expect(total(samples, m('node_records_out_total'), { node: 'join-profile' })).toBe(valid.length);
    expect(total(samples, m('records_written_total'))).toBe(valid.length + 3);
    // Dead letters by node, stage and reason code.
    expect(total(samples, m('dead_letters_total'), { node: 'reject', stage: 'processing', code: 'RECORD_REJECTED' })).toBe(2);
    expect(total(samples, m('dead_letters_total'), { stage: 'deserialization', code: 'DESERIALIZATION_FAILED' })).toBe(1);
    expect(total(samples, m('dead_letters_total'))).toBe(3);
    // Every input record completed, and its latency was observed.
    expect(total(samples, m('record_latency_seconds_count'), { topic: input })).toBe(9);
    expect(total(samples, m('record_latency_seconds_count'), { topic: profiles })).toBe(3);
    expect(total(samples, m('record_latency_seconds_sum'), { topic: input })).toBeGreaterThan(0);
    // Commits, committed offsets and lag per partition, rebalances, in-flight, state.
    expect(total(samples, m('commits_total'))).toBeGreaterThanOrEqual(1);
    expect(total(samples, m('commit_failures_total'))).toBe(0);
    expect(total(samples, m('committed_offset'), { topic: input })).toBe(9);
    expect(select(samples, m('consumer_lag'), { topic: input }).length).toBeGreaterThanOrEqual(1);
    expect(total(samples, m('consumer_lag'), { topic: input })).toBe(0);
    expect(total(samples, m('rebalances_total'), { change: 'assigned' })).toBeGreaterThanOrEqual(1);
    expect(total(samples, m('in_flight_records'), { app: applicationId })).toBe(0);
    expect(total(samples, m('app_state'), { app: applicationId, state: 'running' })).toBe(1);
    expect(total(samples, m('app_state'), { app: applicationId })).toBe(1);
    // The table: its size, and the join's lookups through its cache.
    expect(total(samples, m('store_entries'), { store: 'profiles' })).toBe(3);
    expect(total(samples, m('store_cache_hits_total'), { store: 'profiles' }) + total(samples, m('store_cache_misses_total'), { store: 'profiles' })).toBe(valid.length);
    expect(total(samples, m('store_cache_misses_total'), { store: 'profiles' })).toBeGreaterThanOrEqual(1);
    for (const ratio of select(samples, m('store_cache_hit_ratio'), { store: 'profiles' })) expect(ratio.value).toBeGreaterThanOrEqual(0);
    expect(select(samples, m('store_cache_hit_ratio'), { store: 'profiles' }).some((ratio) => ratio.value > 0)).toBe(true);
    // The HTTP sink: attempts by status, their durations, the circuit closed again.
    expect(total(samples, m('http_requests_total'), { sink: 'agent', status: '200' })).toBe(valid.length);
    expect(total(samples, m('http_request_duration_seconds_count'), { sink: 'agent' })).toBe(total(samples, m('http_requests_total'), { sink: 'agent' }));
    expect(total(samples, m('http_circuit_state'), { sink: 'agent', state: 'closed' })).toBe(1);
    expect(total(samples, m('http_deliveries_total'), { sink: 'agent', outcome: 'delivered' })).toBe(valid.length);
    expect(total(samples, m('http_deliveries_total'), { sink: 'agent', outcome: 'failed' })).toBe(0);
    expect(total(samples, m('http_waiting_for_circuit'), { sink: 'agent' })).toBe(0);

    const ready = await get(`${ops.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ok', failing: [] });
    expect((await get(`${ops.url}/healthz`)).status).toBe(200);
    // Nothing the sink was given as a secret, nor its URL, is in the metrics.
    const text = (await get(`${ops.url}/metrics`)).body;
    expect(text).not.toContain('metrics-test-secret');
    expect(text).not.toContain(agent.url);
  });
});
