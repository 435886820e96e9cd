/**
 * The ops endpoints of an app on a real broker: `/readyz` answers 503 while a table of 60,000
 * profiles is restored and 200 once it is (never 200 in between), and `/metrics` shows consumer lag
 * per partition, commits and committed offsets during the run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { StreamsApp, StreamsBuilder, StreamsMetrics, appAlive, appReady, brokerConnected, silentLogger, startOpsServer, type HealthReport } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { get, parsePrometheus, select, total, type Sample } from '../../support/prometheus-text.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeCount, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const PROFILES = 60_000;
const RATINGS = 200;
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
  it('/readyz is 503 while the table restores and 200 after; /metrics shows lag per partition and commits', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'ops-endpoints', logLevel: 'nothing' });
    const [profiles, ratings, out] = [uniqueName('profiles'), uniqueName('ratings'), uniqueName('enriched')];
    await createTopics(transport, [
      { topic: profiles, partitions: 2 },
      { topic: ratings, partitions: 2 },
      { topic: out, partitions: 2 },
    ]);
    await produce(transport, Array.from({ length: PROFILES }, (_, i) => ({ topic: profiles, key: Buffer.from(`u${i}`), value: Buffer.from(JSON.stringify({ name: `user ${i}`, city: 'Lyon' })) })), 5_000);
    await produce(transport, Array.from({ length: RATINGS }, (_, i) => ({ topic: ratings, key: Buffer.from(`u${i * 7}`), value: Buffer.from(JSON.stringify({ id: `r${i}`, score: 1 + (i % 5) })) })));

    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const users = builder.table<string, { name: string }>(profiles, { name: 'profiles-table', store: { name: 'profiles', cache: { maxEntries: 1_000 } } });
    builder
      .stream<string, { id: string; score: number }>(ratings, { name: 'ratings-source' })
      .leftJoin(users, (rating, user) => ({ ...rating, user: user?.name ?? null }), { name: 'join-user' })
      .to(out, { name: 'out-sink' });
    const applicationId = uniqueName('ops-app');
    const app = new StreamsApp(builder.build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 200 });
    cleanups.push(() => app.stop());
    const metrics = new StreamsMetrics({ apps: [applicationId] });
    cleanups.push(() => metrics.close());
    metrics.watchApp(app);
    metrics.watchStores(() => app.storeStats(), applicationId);
    const ops = await startOpsServer({ port: 0, metrics, checks: { live: [appAlive(app)], ready: [appReady(app), brokerConnected(transport)] } });
    cleanups.push(() => ops.close());

    const readiness = keepProbing(async () => {
      const { status, body } = await get(`${ops.url}/readyz`);
      return { status, report: JSON.parse(body) as HealthReport };
    });
    const scrapes = keepProbing(async () => parsePrometheus((await get(`${ops.url}/metrics`)).body));
    await app.start();
    await consumeCount(transport, out, RATINGS, 120_000);
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
    expect(total(samples, m('committed_offset'), { app: applicationId, topic: ratings })).toBe(RATINGS);
    expect(total(samples, m('records_in_total'), { app: applicationId, topic: profiles })).toBe(PROFILES);
    expect(total(samples, m('restore_remaining_offsets'), { app: applicationId, store: 'profiles' })).toBe(0);
    expect(total(samples, m('store_entries'), { app: applicationId, store: 'profiles' })).toBe(PROFILES);
    expect(total(samples, m('app_state'), { app: applicationId, state: 'running' })).toBe(1);
  });
});
