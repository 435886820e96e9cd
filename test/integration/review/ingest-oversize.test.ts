/**
 * Hostile review on the real broker: one rating whose serialized record exceeds the broker's
 * max message size (1 MiB by default) in a page of ordinary ones.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { openClawIngest } from '../../../topologies/openclaw-ingest.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics } from '../../support/streams-harness.ts';

describe.skipIf(!hasKafka)('review: oversize rating on Kafka', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.race([cleanup().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  });
  const transport = () => new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review-oversize', logLevel: 'nothing' });

  it('a rating larger than the broker accepts does not block every rating after it', async () => {
    // Expected: "every rating reaches Kafka once" and invalid ones go to the dead-letter topic "with
    // reasons" (openclaw-ingest header). A single 2 MB comment (an ordinary, if abusive, API answer)
    // makes every transaction of its page fail; the poller retries the same page forever, so the
    // ratings behind it never arrive. It should be dead-lettered (truncated) or at least skipped
    // with an error, not wedge the ingest.
    const sim = await startOpenClawSimulator({ apiKey: 'k', total: 6, seed: 2 });
    const served = sim.ratings();
    await sim.stop();
    const items = served.map((rating, i) => (i === 1 ? { ...rating, comment: 'x'.repeat(process.env['REVIEW_CONTROL'] ? 10 : 2 * 1024 * 1024) } : rating));
    const api = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      const since = url.searchParams.has('since') ? Number(url.searchParams.get('since')) : -Infinity;
      const afterId = url.searchParams.get('after_id') ?? '';
      const page = items.filter((r) => r.timestamp > since || (r.timestamp === since && r.id > afterId)).slice(0, Number(url.searchParams.get('limit') ?? 100));
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(page));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => { api.closeAllConnections(); api.close(() => resolve()); }));
    const ratings = uniqueName('review-ratings');
    const dlq = uniqueName('review-dlq');
    await createTopics(transport(), [{ topic: ratings, partitions: 1 }, { topic: dlq, partitions: 1 }]);
    const seen = new Set<string>();
    const consumer = transport().consumer({ groupId: uniqueName('review-reader'), isolationLevel: 'read_committed' });
    await consumer.connect();
    await consumer.subscribe({ topics: [ratings, dlq], fromBeginning: true });
    await consumer.run({ eachBatch: async (batch) => { for (const record of batch.records) seen.add(record.key?.toString() ?? '<null>'); } });
    cleanups.push(() => consumer.disconnect());
    const ingest = openClawIngest({
      transport: transport(), url: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, apiKey: 'k', format: 'json',
      ratingsTopic: ratings, deadLetterTopic: dlq, name: uniqueName('review-ingest'), pageSize: 2, intervalMs: 50,
      backoff: { initialMs: 20, maxMs: 200 }, logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => ingest.stop());
    await ingest.start();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && seen.size < items.length) await new Promise((r) => setTimeout(r, 200));
    const others = items.filter((_, i) => i !== 1).map((r) => r.id);
    expect(others.filter((id) => !seen.has(id)), JSON.stringify({ state: ingest.poller.state, stats: ingest.poller.stats() })).toEqual([]);
  }, 60_000);
});
