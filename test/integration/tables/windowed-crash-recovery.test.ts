/**
 * Crash test of windowed state on a real broker: an exactly-once worker counting and summing
 * ratings per user and one-minute window is SIGKILLed mid-stream, twice, and started again. Its
 * window store must come back from the compacted changelog exactly as committed: the last value
 * of every window equals the count and sum of that window's input (nothing counted twice, nothing
 * lost), and each rating left exactly one read_committed output.
 *
 * It found a kafkajs bug: read_committed readers were handed records of aborted transactions when
 * several transactional producers write one partition (see `src/transport/kafka/aborted-filter-fix.ts`);
 * a killed task's aborted outputs then showed up next to the re-processed ones.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { OutgoingRecord } from '../../../src/transport/transport.ts';
import type { Rating, WindowStats } from '../../fixtures/workers/windowed-worker.ts';
import { continuousInput, idOf, outputReader, startWorker, waitFor, type WorkerProcess } from '../../support/app-processes.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, waitForCommitted } from '../../support/streams-harness.ts';

const WORKER = fileURLToPath(new URL('../../fixtures/workers/windowed-worker.ts', import.meta.url));
const TOTAL = 6_000;
const USERS = 12;
const WINDOWS = 4;
const KILLS = 2;
const MINUTE = 60_000;
/** A whole minute, so windows start on it. */
const BASE = Date.UTC(2024, 0, 1);

/**
 * Rating `id`: timestamps rise with the id across WINDOWS minutes, so every partition is in time
 * order and no rating is late for the grace-0 windows. Keyed by user, so the repartition by user
 * keeps each user's ratings in one partition, in order.
 */
function rating(id: number): Rating & { readonly timestamp: number } {
  return { id, userId: `u${id % USERS}`, score: 1 + ((id * 7) % 5), timestamp: BASE + Math.floor((id * WINDOWS * MINUTE) / TOTAL) };
}

const windowKey = (r: ReturnType<typeof rating>) => `${r.userId}@${r.timestamp - (r.timestamp % MINUTE)}`;

function expectedStats(): Record<string, { count: number; sum: number }> {
  const expected: Record<string, { count: number; sum: number }> = {};
  for (let id = 0; id < TOTAL; id++) {
    const r = rating(id);
    const stats = (expected[windowKey(r)] ??= { count: 0, sum: 0 });
    stats.count += 1;
    stats.sum += r.score;
  }
  return expected;
}

async function unprocessedInput(transport: KafkaTransport, groupId: string, topic: string): Promise<number> {
  const admin = transport.admin();
  await admin.connect();
  try {
    const ends = await admin.endOffsets(topic);
    const committed = await admin.committedOffsets(groupId, topic);
    return [...ends].reduce((left, [partition, end]) => left + end - (committed.get(partition) ?? 0), 0);
  } finally {
    await admin.disconnect();
  }
}

describe.skipIf(!hasKafka)('windowed aggregation state survives SIGKILL (exactly-once, real broker)', () => {
  const workers: WorkerProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  });

  it(`the last value of every window is its exact count and sum after ${KILLS} kills mid-stream`, { timeout: 300_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'windowed-crash-test', logLevel: 'nothing' });
    const input = uniqueName('windowed-in');
    const output = uniqueName('windowed-out');
    const appId = uniqueName('windowed-app');
    const store = 'window-stats';
    await createTopics(transport, [
      { topic: input, partitions: 3 },
      { topic: output, partitions: 3 },
    ]);
    const reader = await outputReader(transport, output);

    cleanups.push(() => reader.close());
    const toRecord = (id: number): OutgoingRecord => {
      const { timestamp, ...value } = rating(id);
      return { topic: input, key: Buffer.from(value.userId), value: Buffer.from(JSON.stringify(value)), timestamp };
    };
    // About 250 ratings a second: the input is still arriving when the worker is killed.
    const feed = continuousInput(transport, input, { limit: TOTAL, batch: 10, intervalMs: 40, record: toRecord });
    cleanups.push(() => feed.stop());
    const env = { BROKERS: kafkaBrokers().join(','), INPUT: input, OUTPUT: output, APP_ID: appId, INSTANCE_ID: 'windowed-worker-0', STORE: store };

    const leftAtKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const worker = startWorker(WORKER, env);
      workers.push(worker);
      await worker.running;
      // Kill only after this run committed real progress, at a random moment.
      const before = reader.counts.size;
      await waitFor(() => reader.counts.size >= before + 100, 120_000, () => `run ${kill} to commit output (${reader.counts.size} ids so far): ${worker.stderr().slice(-2_000)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
      worker.child.kill('SIGKILL');
      await worker.exited;
      leftAtKill.push(await unprocessedInput(transport, appId, input));
    }
    // Every kill interrupted work: input was waiting that the killed worker had not committed.
    expect(leftAtKill.every((left) => left > 0), `unprocessed input at each kill: ${leftAtKill.join(', ')}`).toBe(true);

    const last = startWorker(WORKER, env);
    workers.push(last);
    await last.running;
    await feed.finished;
    await waitFor(() => reader.hasAllBelow(TOTAL), 180_000, () => `every rating's output (${reader.counts.size} of ${TOTAL}): ${last.stderr().slice(-2_000)}`);
    await waitForCommitted(transport, appId, input, 60_000);
    // A duplicate could come after the last new id: wait until the output stays quiet.
    await waitFor(() => reader.quietFor(3_000), 30_000, () => 'the output to go quiet');
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    // The last committed value of each window is the exact count and sum of its input.
    const records = await consumeUntil(transport, output, (got) => new Set(got.map(idOf)).size >= TOTAL, { timeoutMs: 60_000 });
    const latest: Record<string, { count: number; sum: number }> = {};
    for (const record of records) {
      const stats = JSON.parse(record.value?.toString() ?? 'null') as WindowStats;
      latest[record.key?.toString() ?? ''] = { count: stats.count, sum: stats.sum };
    }
    const expected = expectedStats();
    expect(Object.keys(expected)).toHaveLength(USERS * WINDOWS);
    expect(latest).toEqual(expected);

    // The state lives in a compacted changelog that the worker wrote to.
    const changelog = `${appId}-${store}-changelog`;
    const admin = transport.admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).toContain(changelog);
      expect((await admin.topicConfig(changelog))['cleanup.policy']).toBe('compact');
      const ends = await admin.endOffsets(changelog);
      expect([...ends.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
    // Exactly once: every rating produced one committed update, none twice.
    expect(reader.counts.size).toBe(TOTAL);
    expect([...reader.counts].filter(([, n]) => n !== 1)).toEqual([]);
  });
});
