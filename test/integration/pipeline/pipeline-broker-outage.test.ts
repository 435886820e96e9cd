/**
 * Acceptance of the rating pipeline (issue 9): the broker is killed (SIGKILL) mid-run and started
 * again 20 s later, on a broker of this test's own. Ingest, users CDC and enrichment recover by
 * themselves (nobody restarts them): every valid rating is once in `ratings` and once in
 * `ratings_enriched` (read_committed, decoded with plain avsc and the schema file), every invalid
 * one once in the dead-letter topic, every PostgreSQL change made while the broker was away is on
 * `users` once and in order, every profile joined is one PostgreSQL committed (never older than
 * the one before for the user, and the final one behind a barrier after the restart), and the AI
 * agent received every enriched rating (at least once: HTTP is at-least-once).
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { subscribeRuntimeEvents, type AppState } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { startAiAgentServer } from '../../support/ai-agent-server.ts';
import { startOwnBroker, type OwnBroker } from '../../support/own-broker.ts';
import {
  ReleaseClock,
  TopicTail,
  UsersTable,
  placeBarrier,
  pipelineNames,
  profileViolations,
  ratingsAfter,
  drainRun,
  exactlyOnceViolations,
  NO_VIOLATIONS,
  plain,
  sorted,
  waitUntil,
  startPipeline,
  userId,
} from '../../support/rating-pipeline.ts';
import { databaseUrl, hasKafka, hasPostgres } from '../../support/services.ts';

const RATE = 25;
const USERS = 20;
const SEEDED = 18;
const OUTAGE_MS = 20_000;
/** Ratings released at the start, when the broker goes away, after the barrier that follows its return. */
const SEGMENTS = [200, 200, 100] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const allUsers = Array.from({ length: USERS }, (_, i) => userId(i + 1));


describe.skipIf(!hasKafka || !hasPostgres)('the rating pipeline through a broker outage (issue 9; a broker of its own)', () => {
  let broker: OwnBroker;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    broker = await startOwnBroker();
  }, 120_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  it(`recovers by itself from a ${OUTAGE_MS / 1000} s broker outage: nothing lost, each valid rating once in ratings_enriched`, { timeout: 240_000 }, async () => {
    const transport = new KafkaTransport({ brokers: [broker.bootstrap], clientId: 'pipeline-outage', logLevel: 'nothing' });
    const users = await UsersTable.create(databaseUrl());
    cleanups.push(() => users.drop());
    await users.seed(allUsers.slice(0, SEEDED));
    const clock = new ReleaseClock(Date.now(), RATE);
    cleanups.push(async () => clock.stop());
    let released = SEGMENTS[0];
    clock.release(released);
    const sim = await startOpenClawSimulator({ apiKey: 'outage-openclaw-key', seed: 8, users: USERS, invalidRate: 0.05, ratePerSecond: RATE, startTimestamp: clock.startTimestamp, now: clock.now });
    cleanups.push(() => sim.stop());
    const agent = await startAiAgentServer();
    cleanups.push(() => agent.stop());
    const names = pipelineNames();
    const pipeline = await startPipeline({ transport, names, users, simulator: sim, maxInFlight: 200, aiAgent: { url: agent.url, timeoutMs: 2_000, halfOpenAfterMs: 1_000 } });
    cleanups.push(() => pipeline.stop());
    const { app } = pipeline;
    const states: AppState[] = [];
    app.onStateChange((state) => states.push(state));
    let transactionErrors = 0;
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.app === names.applicationId && event.type === 'error') transactionErrors += 1;
    });
    cleanups.push(async () => unsubscribe());
    const tail = await TopicTail.start(transport, [names.ratings, names.dlq, names.users, names.enriched, names.repartition]);
    cleanups.push(() => tail.stop());

    // Mid-run: the join has committed work and is taking more.
    await waitUntil(() => agent.accepted.size >= 60 && tail.records(names.enriched).length >= 60, 60_000, () => `60 enriched ratings (${agent.accepted.size} at the agent)`);
    const enrichedAtKill = tail.records(names.enriched).length;

    await broker.kill();
    const downSince = Date.now();
    // While it is away: ratings keep coming, users change in PostgreSQL (an update, a delete, a new user).
    released += SEGMENTS[1];
    clock.release(released);
    await users.upsert(userId(1));
    await users.remove(userId(2));
    await users.upsert(userId(19));
    // The outage itself: nothing to wait for but time.
    await sleep(Math.max(0, downSince + OUTAGE_MS - Date.now()));
    expect(app.state).toBe('running');
    expect(['polling', 'backing-off']).toContain(pipeline.ingest.poller.health().state);
    await broker.restart();

    // Back: the CDC publishes what changed and the table applies it; every rating released after
    // this barrier must carry each user's final state.
    const barrier = await placeBarrier({ name: 'after-outage', transport, tail, names, app, users, userIds: allUsers, timeoutMs: 120_000 });
    released += SEGMENTS[2];
    clock.release(released);

    const { run, validIds, invalidIds, partitions } = await drainRun({ transport, tail, names, sim, released, pipeline });

    // The outage hit a run in progress; nobody restarted anything.
    expect(enrichedAtKill).toBeLessThan(validIds.length);
    expect(states).not.toContain('failed');
    expect(run.undecodable).toEqual([]);

    // Each valid rating once in ratings, once in the join's input, once in ratings_enriched, unaltered.
    expect(exactlyOnceViolations(run, validIds, new Map(sim.ratings().map((rating) => [rating.id, rating])))).toEqual(NO_VIOLATIONS);

    // Every change made in PostgreSQL while the broker was away is on `users`, once, in order.
    for (const id of allUsers) expect(run.userChanges.get(id) ?? [], id).toEqual(users.states(id).filter((state, index) => index > 0 || state !== null));

    // Profiles: committed by PostgreSQL, never going back per user, the final ones behind the barrier.
    expect(profileViolations(run, users, [barrier])).toEqual([]);
    const written = ratingsAfter(run, barrier);
    expect(allUsers.filter((id) => (written.get(id) ?? 0) === 0)).toEqual([]);

    // Dead letters: the invalid ratings (ingest) and the barrier markers (enrichment), once each.
    const markers = [...run.otherInput.keys()];
    expect(markers).toHaveLength(partitions.get(names.ratings) ?? 0);
    expect(sorted(run.deadLetters.keys())).toEqual(sorted([...invalidIds, ...markers]));
    expect([...run.deadLetters].filter(([, copies]) => copies.length !== 1).map(([key]) => key)).toEqual([]);

    // The AI agent: every enriched rating at least once, among them the body the topic holds.
    expect(sorted(agent.accepted.keys())).toEqual(sorted(validIds));
    const missing = [...agent.accepted].filter(([id, bodies]) => !bodies.some((body) => isDeepStrictEqual(body, plain(run.enriched.get(id)?.[0]))));
    expect(missing.map(([id]) => id)).toEqual([]);
    // The app's transactions failed with the broker and its tasks started again from their commits.
    expect(transactionErrors).toBeGreaterThan(0);
  });
});
