/**
 * Hostile review (pipeline): an AI-agent outage longer than kafkajs' 60 s transaction timeout, under
 * exactly-once, on the real broker. The acceptance test covers 30 s.
 *
 * README: "while the endpoint is down ... calls wait ... (backpressure, no dead letters for an
 * outage)"; Topic contract "Delivery": "a read_committed consumer sees each rating of `ratings`
 * enriched once"; "What does not hold": "a transaction left open past kafkajs' 60 s transaction
 * timeout is aborted and its work redone". So after a 75 s outage: every rating enriched exactly
 * once on `ratings_enriched`, every rating accepted by the agent, no dead letters, app running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { StreamsApp, silentLogger } from '../../src/index.ts';
import { KafkaTransport } from '../../src/transport/kafka/index.ts';
import { ratingsEnrichment } from '../../topologies/ratings-enrichment.ts';
import { startAiAgentServer, type AiAgentServer } from '../support/ai-agent-server.ts';
import { enrichedType } from '../support/rating-pipeline.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../support/services.ts';
import { consumeUntil, createTopics, produce } from '../support/streams-harness.ts';

describe.skipIf(!hasKafka)('review: AI agent down for longer than the transaction timeout (exactly-once)', () => {
  let agent: AiAgentServer | undefined;
  let app: StreamsApp | undefined;
  afterAll(async () => {
    await app?.stop().catch(() => undefined);
    await agent?.stop();
  });

  it('enriches every rating once and delivers each to the agent after a 75 s outage', async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'review9-outage', logLevel: 'nothing' });
    const names = { ratings: uniqueName('ratings'), users: uniqueName('users'), enriched: uniqueName('enriched'), dlq: uniqueName('dlq'), app: uniqueName('enrich') };
    await createTopics(transport, [
      { topic: names.ratings, partitions: 2 },
      { topic: names.users, partitions: 2 },
      { topic: names.enriched, partitions: 2 },
      { topic: names.dlq, partitions: 2 },
    ]);
    agent = await startAiAgentServer();
    agent.mode = 'unavailable';
    const enrichment = ratingsEnrichment({
      ratingsTopic: names.ratings,
      usersTopic: names.users,
      enrichedTopic: names.enriched,
      ratingFormat: 'json',
      aiAgent: { url: agent.url, halfOpenAfterMs: 2_000, backoff: { initialMs: 50, maxMs: 500 } },
    });
    app = new StreamsApp(enrichment.topology, {
      applicationId: names.app,
      transport,
      processingGuarantee: 'exactly-once',
      deadLetterTopic: names.dlq,
      logger: silentLogger(),
      transactionRetryBackoff: { initialMs: 200, maxMs: 2_000 },
      shutdownTimeoutMs: 10_000,
    });
    await app.start();
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await produce(
      transport,
      ids.map((id, i) => ({
        topic: names.ratings,
        key: Buffer.from(id),
        value: Buffer.from(JSON.stringify({ id, productId: 'p1', userId: `u${i % 4}`, score: 3, comment: null, timestamp: Date.now() })),
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 75_000));
    const stateDuringOutage = app.state;
    agent.mode = 'ok';
    const deadline = Date.now() + 45_000;
    while (agent.accepted.size < ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    // Let the next commit land.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const enriched = await consumeUntil(transport, names.enriched, (rs) => rs.length >= ids.length, { timeoutMs: 30_000 }).catch(() => [] as never[]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const counts: Record<string, number> = {};
    for (const record of enriched) {
      const id = (enrichedType.fromBuffer(record.value as Buffer) as { id: string }).id;
      counts[id] = (counts[id] ?? 0) + 1;
    }
    const dead = await consumeUntil(transport, names.dlq, () => true, { timeoutMs: 5_000 }).catch(() => []);
    expect({
      stateDuringOutage,
      state: app.state,
      acceptedByAgent: agent.accepted.size,
      enrichedIds: Object.keys(counts).length,
      duplicates: Object.entries(counts).filter(([, n]) => n > 1),
      deadLetters: dead.length,
    }).toEqual({ stateDuringOutage: 'running', state: 'running', acceptedByAgent: 20, enrichedIds: 20, duplicates: [], deadLetters: 0 });
  }, 240_000);
});
