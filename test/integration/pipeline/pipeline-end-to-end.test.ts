/**
 * Acceptance of the rating pipeline (issue 9) on the real broker, real PostgreSQL and a real HTTP
 * server as the AI agent: OpenClaw simulator → ingest → `ratings`; a PostgreSQL users table →
 * users CDC → `users`; enrichment (exactly-once, users table in PostgreSQL behind an 8-entry LRU) →
 * `ratings_enriched` and the AI agent. One run, in segments the test releases:
 *
 * 1. Exactly once, end to end: read back read_committed and decoded with plain avsc and the schema
 *    file, every valid rating is in `ratings_enriched` once, with its own fields and a profile
 *    PostgreSQL committed for its user (never a mix of two versions, never older than the profile
 *    an earlier rating of the user was joined with); every invalid one, and every record the test
 *    wrote that is no rating, is in the dead-letter topic once; the AI agent accepted every
 *    enriched rating under its id, with the body the topic holds. Users are updated, deleted,
 *    re-inserted and created mid-run; at each barrier the test waits until the enrichment's table
 *    holds every user's PostgreSQL state, writes a marker to every `ratings` partition, and only
 *    then releases the next ratings: every rating behind a marker must carry that state or a later
 *    one (a deleted user's: none).
 * 2. The AI agent goes away for 30 s (connections refused, then 503) and comes back: the sink's
 *    circuit opens and calls wait at it; the join's committed offsets stand still; while the
 *    ingest keeps writing hundreds of ratings the enrichment's input lag grows by all of them but
 *    `maxInFlight`, and no more than `maxInFlight` are in flight; afterwards every rating is
 *    delivered, none is dead-lettered for it, and the app never failed.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenClawSimulator } from '../../../src/connectors/openclaw/simulator.ts';
import { subscribeRuntimeEvents, type AppState } from '../../../src/index.ts';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { startAiAgentServer } from '../../support/ai-agent-server.ts';
import {
  ReleaseClock,
  TEST_INPUT_PREFIX,
  TopicTail,
  UsersTable,
  placeBarrier,
  pipelineNames,
  profileViolations,
  ratingType,
  ratingsAfter,
  drainRun,
  exactlyOnceViolations,
  NO_VIOLATIONS,
  plain,
  sorted,
  waitUntil,
  startPipeline,
  userId,
  type Barrier,
  type Enriched,
} from '../../support/rating-pipeline.ts';
import { databaseUrl, hasKafka, hasPostgres, kafkaBrokers, uniqueName } from '../../support/services.ts';

const RATE = 40;
/** Simulator users `u000001`..`u000020`; the last two are not in PostgreSQL at the start. */
const USERS = 20;
const SEEDED = 18;
const MAX_IN_FLIGHT = 100;
/** Ratings released at the start, after barrier 1, after barrier 2 (they keep coming through the outage), after barrier 3. */
const SEGMENTS = [400, 200, 1_280, 240] as const;
const REFUSED_MS = 15_000;
const UNAVAILABLE_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (offsets: ReadonlyMap<number, number>) => [...offsets.values()].reduce((total, offset) => total + offset, 0);
const allUsers = Array.from({ length: USERS }, (_, i) => userId(i + 1));


describe.skipIf(!hasKafka || !hasPostgres)('the rating pipeline end to end (issue 9)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('exactly once into ratings_enriched with the profile current when joined, every bad record dead-lettered once, and a 30 s AI-agent outage that only pauses it', { timeout: 240_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: uniqueName('pipeline-e2e'), logLevel: 'nothing' });
    const users = await UsersTable.create(databaseUrl());
    cleanups.push(() => users.drop());
    await users.seed(allUsers.slice(0, SEEDED));

    const clock = new ReleaseClock(Date.now(), RATE);
    cleanups.push(async () => clock.stop());
    let released = SEGMENTS[0];
    clock.release(released);
    const sim = await startOpenClawSimulator({ apiKey: 'e2e-openclaw-key', seed: 3, users: USERS, invalidRate: 0.05, ratePerSecond: RATE, startTimestamp: clock.startTimestamp, now: clock.now });
    cleanups.push(() => sim.stop());
    const agent = await startAiAgentServer();
    cleanups.push(() => agent.stop());
    const names = pipelineNames();
    const pipeline = await startPipeline({
      transport,
      names,
      users,
      simulator: sim,
      maxInFlight: MAX_IN_FLIGHT,
      aiAgent: { url: agent.url, timeoutMs: 2_000, halfOpenAfterMs: 1_000, backoff: { initialMs: 50, maxMs: 500 } },
    });
    cleanups.push(() => pipeline.stop());
    const { app, enrichment } = pipeline;
    const sink = enrichment.aiSink;
    if (sink === undefined) throw new Error('the topology has no AI-agent sink');
    const states: AppState[] = [];
    app.onStateChange((state) => states.push(state));
    const tail = await TopicTail.start(transport, [names.ratings, names.dlq, names.users, names.enriched, names.repartition]);
    cleanups.push(() => tail.stop());
    const barrier = (name: string) => placeBarrier({ name, transport, tail, names, app, users, userIds: allUsers });
    const barriers: Barrier[] = [];

    // A rating the schema accepts and the rules do not, written straight to `ratings`: the enrichment's own validation.
    const rejectKey = `${TEST_INPUT_PREFIX}reject-score-9`;
    const producer = transport.producer();
    await producer.connect();
    try {
      await producer.send([{ topic: names.ratings, key: Buffer.from(rejectKey), value: ratingType.toBuffer({ id: rejectKey, productId: 'p000001', userId: userId(1), score: 9, comment: null, timestamp: Date.now() }) }]);
    } finally {
      await producer.disconnect();
    }

    const progress = () =>
      `simulator ${JSON.stringify(sim.stats().byStatus)}, ingest ${JSON.stringify(pipeline.ingest.poller.stats())} ${JSON.stringify(pipeline.ingest.poller.health())}, ` +
      `app ${app.state} (${app.inFlight} in flight), read ${names.ratings}: ${tail.records(names.ratings).length}, ${names.enriched}: ${tail.records(names.enriched).length}, AI agent: ${agent.accepted.size} ${JSON.stringify(sink.stats())}`;
    await waitUntil(() => agent.accepted.size >= 150, 60_000, () => `150 ratings at the AI agent: ${progress()}`);

    // Barrier 1: an update, a delete, a user created mid-run.
    await users.upsert(userId(1));
    await users.remove(userId(2));
    await users.upsert(userId(19));
    barriers.push(await barrier('1'));
    released += SEGMENTS[1];
    clock.release(released);

    // Changes racing the ratings (no barrier of their own): three versions in a row; a delete and a re-insert.
    for (let i = 0; i < 3; i++) await users.upsert(userId(5));
    await users.remove(userId(6));
    await users.upsert(userId(6));
    // Barrier 2: a third version, a second user updated, another deleted.
    await users.upsert(userId(1));
    await users.upsert(userId(3));
    await users.remove(userId(4));
    barriers.push(await barrier('2'));
    released += SEGMENTS[2];
    clock.release(released);

    // --- The AI agent goes away: connections refused, then 503, then back. ---
    const deadLetterEvents: string[] = [];
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (event.app === names.applicationId && event.type === 'dead-letter') deadLetterEvents.push(`${event.node}/${event.stage}/${event.code}`);
    });
    cleanups.push(async () => unsubscribe());
    const admin = transport.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    /** The join's committed offsets, the end offsets of `ratings`, and the enrichment's input lag (`ratings` and the re-keyed ratings). */
    const offsets = async () => {
      const ratingsEnd = await admin.endOffsets(names.ratings);
      const ratingsCommitted = await admin.committedOffsets(names.applicationId, names.ratings);
      const joinEnd = await admin.endOffsets(names.repartition);
      const joinCommitted = await admin.committedOffsets(names.applicationId, names.repartition);
      return { ratingsEnd, joinCommitted, lag: sum(ratingsEnd) - sum(ratingsCommitted) + sum(joinEnd) - sum(joinCommitted) };
    };
    const seen = { circuits: new Set<string>(), maxWaiting: 0, maxInFlight: 0 };
    const sampler = setInterval(() => {
      const stats = sink.stats();
      seen.circuits.add(stats.circuit);
      seen.maxWaiting = Math.max(seen.maxWaiting, stats.waitingForCircuit);
      seen.maxInFlight = Math.max(seen.maxInFlight, app.inFlight);
    }, 100);
    cleanups.push(async () => clearInterval(sampler));

    const wentDown = Date.now();
    await agent.close();
    // Once the circuit is open, calls under way when the agent went away have failed, and commits
    // under way have landed a moment later: from then on nothing taken in can finish until it is back.
    await waitUntil(() => sink.stats().circuit === 'open', 30_000, () => `the circuit to open: ${JSON.stringify(sink.stats())}`);
    await sleep(1_000);
    const acceptedBefore = agent.accepted.size;
    const atStop = await offsets();

    await sleep(Math.max(0, wentDown + REFUSED_MS - Date.now()));
    agent.mode = 'unavailable';
    await agent.reopen();
    await waitUntil(() => (agent.answered['503'] ?? 0) > 0, 30_000, () => 'a probe of the circuit answered 503');
    await sleep(Math.max(0, wentDown + REFUSED_MS + UNAVAILABLE_MS - Date.now()));

    const stillDown = sink.stats();
    const atEnd = await offsets();
    agent.mode = 'ok';

    // While it was down, nothing got through and nothing was given up: no rating accepted, none
    // dead-lettered, and the join committed nothing (its records were still in flight), ...
    expect(agent.accepted.size).toBe(acceptedBefore);
    expect(deadLetterEvents.filter((entry) => entry.startsWith('ai-agent/'))).toEqual([]);
    expect(atEnd.joinCommitted).toEqual(atStop.joinCommitted);
    // ... while the ingest kept writing, the enrichment's input lag (ratings and re-keyed ratings)
    // grew by all of it but what intake may hold (maxInFlight), ...
    const written = sum(atEnd.ratingsEnd) - sum(atStop.ratingsEnd);
    expect(written).toBeGreaterThan(3 * MAX_IN_FLIGHT);
    expect(atEnd.lag - atStop.lag).toBeGreaterThanOrEqual(written - MAX_IN_FLIGHT);
    expect(seen.maxInFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    // ... the sink's circuit was open and calls waited at it, and the app kept running.
    expect(stillDown.circuit).not.toBe('closed');
    expect(seen.circuits.has('open')).toBe(true);
    expect(seen.maxWaiting).toBeGreaterThan(0);
    expect(stillDown.failed).toBe(0);
    expect(app.state).toBe('running');

    // It comes back by itself: the backlog drains, the circuit closes.
    await waitUntil(() => sink.stats().circuit === 'closed' && agent.accepted.size > acceptedBefore, 60_000, () => `the sink to recover: ${JSON.stringify(sink.stats())}`);

    // Barrier 3, after the outage: a last update; then every user's rating must carry the final state.
    await users.upsert(userId(7));
    await users.upsert(userId(2));
    barriers.push(await barrier('3'));
    released += SEGMENTS[3];
    clock.release(released);

    // The end: every released rating ingested, every input of the enrichment committed.
    const { run, validIds, invalidIds } = await drainRun({ transport, tail, names, sim, released, pipeline });
    expect(states).not.toContain('failed');
    expect(run.undecodable).toEqual([]);

    // 1a. Exactly once: each valid rating once in ratings, once in the join's input, once in ratings_enriched.
    expect(exactlyOnceViolations(run, validIds, new Map(sim.ratings().map((rating) => [rating.id, rating])))).toEqual(NO_VIOLATIONS);

    // 1b. The profile: one PostgreSQL committed, never going back per user, current at each barrier.
    expect(profileViolations(run, users, barriers)).toEqual([]);
    // The barrier checks rest on ratings written after each marker, for every user.
    for (const written of barriers.map((b) => ratingsAfter(run, b))) expect(allUsers.filter((id) => (written.get(id) ?? 0) === 0)).toEqual([]);
    // Not a pipeline that answers null: the seeded users' ratings carry profiles, and a user absent all along has none.
    const profiles = (id: string) => [...run.enriched.values()].map((copies) => copies[0] as Enriched).filter((value) => value.userId === id).map((value) => value.userProfile?.name ?? null);
    expect(new Set(profiles(userId(10)))).toEqual(new Set(['v1']));
    expect(new Set(profiles(userId(20)))).toEqual(new Set([null]));
    expect(new Set(profiles(userId(5))).has('v4')).toBe(true);

    // 1c. Dead letters: each invalid rating (from the ingest) and each test record that is no rating (from the enrichment) once, nothing else.
    const markers = [...run.otherInput.keys()].filter((key) => key !== rejectKey);
    expect(markers).toHaveLength(3 * barriers.length);
    expect(sorted(run.deadLetters.keys())).toEqual(sorted([...invalidIds, ...markers, rejectKey]));
    expect([...run.deadLetters].filter(([, copies]) => copies.length !== 1).map(([key]) => key)).toEqual([]);
    const letter = (key: string) => run.deadLetters.get(key)?.[0] ?? {};
    for (const id of invalidIds) expect(letter(id)['dlq.node'], id).toBe(names.ingest);
    for (const key of markers) expect([letter(key)['dlq.error.stage'], letter(key)['dlq.source.topic']], key).toEqual(['deserialization', names.ratings]);
    expect(letter(rejectKey)['dlq.error.code']).toBe('RECORD_REJECTED');
    expect(letter(rejectKey)['dlq.error.message']).toContain('score: 9 is outside 1..5');

    // 1d / 2. The AI agent: every enriched rating accepted under its id with the topic's body; none dead-lettered for the outage.
    expect(sorted(agent.accepted.keys())).toEqual(sorted(validIds));
    const differing = [...agent.accepted].filter(([id, bodies]) => bodies.some((body) => !isDeepStrictEqual(body, plain(run.enriched.get(id)?.[0]))));
    expect(differing.map(([id]) => id)).toEqual([]);
    expect(sink.stats().failed).toBe(0);
    expect(deadLetterEvents.filter((entry) => !entry.startsWith('ratings-source/') && !entry.startsWith('invalid-rating/'))).toEqual([]);
    expect(agent.answered['bad'] ?? 0).toBe(0);
  });
});
