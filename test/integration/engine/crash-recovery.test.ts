/**
 * Crash test on real Kafka: a child process running a topology is killed with SIGKILL at random
 * points while its slow sink is busy, then started again. After the restarts every input record's
 * outputs must be there (at-least-once); in exactly-once mode a read_committed consumer must see
 * each Kafka output exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { consumeUntil, createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const WORKER = fileURLToPath(new URL('../../fixtures/workers/crash-worker.ts', import.meta.url));
const TOTAL = 1_200;
const KILLS = 3;

const idOf = (record: IncomingRecord) => (JSON.parse(record.value?.toString() ?? '{}') as { id: number }).id;

function sinkIds(file: string): number[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

function startWorker(env: Record<string, string>): { child: ChildProcess; running: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('RUNNING')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before it ran: ${stderr.slice(-2_000)}`)));
  });
  return { child, running, exited };
}

/** Reads the whole topic: proving that no duplicate exists needs a read that stops only when nothing more comes. */
async function readUntilQuiet(
  transport: KafkaTransport,
  topic: string,
  quietMs: number,
): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  let lastArrival = Date.now();
  const consumer = transport.consumer({ groupId: uniqueName('quiet-reader'), isolationLevel: 'read_committed' });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        records.push(...batch.records);
        lastArrival = Date.now();
      },
    });
    await waitFor(() => records.length > 0 && Date.now() - lastArrival >= quietMs, 120_000, `${topic} to go quiet`);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!hasKafka)('crash recovery on a real broker (SIGKILL while the sink is busy)', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    it(`${guarantee}: every input's outputs are present after ${KILLS} kills`, { timeout: 300_000 }, async () => {
      const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'crash-test', logLevel: 'nothing' });
      const input = uniqueName('crash-in');
      const output = uniqueName('crash-out');
      const appId = uniqueName('crash-app');
      const dir = mkdtempSync(join(tmpdir(), 'crash-'));
      dirs.push(dir);
      const sinkFile = join(dir, 'sink.log');
      await createTopics(transport, [
        { topic: input, partitions: 3 },
        { topic: output, partitions: 3 },
      ]);
      await produce(
        transport,
        Array.from({ length: TOTAL }, (_, id) => ({ topic: input, key: Buffer.from(`k${id % 31}`), value: Buffer.from(JSON.stringify({ id })) })),
      );
      const env = {
        BROKERS: kafkaBrokers().join(','),
        INPUT: input,
        OUTPUT: output,
        APP_ID: appId,
        INSTANCE_ID: 'crash-worker-0',
        GUARANTEE: guarantee,
        SINK_FILE: sinkFile,
        SINK_DELAY_MS: '10',
      };

      for (let kill = 0; kill < KILLS; kill++) {
        const worker = startWorker(env);
        children.push(worker.child);
        await worker.running;
        // Kill only once the slow sink is busy with this run's records, at a random moment.
        const before = sinkIds(sinkFile).length;
        await waitFor(() => sinkIds(sinkFile).length >= before + 20, 60_000, 'the sink to get busy');
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 400)));
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
      expect(new Set(sinkIds(sinkFile)).size).toBeLessThan(TOTAL);

      const last = startWorker(env);
      children.push(last.child);
      await last.running;
      await waitFor(() => new Set(sinkIds(sinkFile)).size >= TOTAL, 180_000, 'the sink to see every record');
      await waitForCommitted(transport, appId, input, 60_000);
      last.child.kill('SIGTERM');
      expect(await last.exited).toBe(0);

      expect(new Set(sinkIds(sinkFile))).toEqual(new Set(Array.from({ length: TOTAL }, (_, id) => id)));
      // The kills interrupted real work: some records went through the (at-least-once) sink twice.
      expect(sinkIds(sinkFile).length, 'the kills did not interrupt any uncommitted work').toBeGreaterThan(TOTAL);
      const outputs = await consumeUntil(transport, output, (records) => new Set(records.map(idOf)).size >= TOTAL, { timeoutMs: 60_000 });
      expect(new Set(outputs.map(idOf)).size).toBe(TOTAL);
      if (guarantee === 'exactly-once') {
        expect(outputs).toHaveLength(TOTAL);
        // A duplicate could also come after the last new id: read on until the topic stays quiet.
        const everything = await readUntilQuiet(transport, output, 3_000);
        const counts = new Map<number, number>();
        for (const id of everything.map(idOf)) counts.set(id, (counts.get(id) ?? 0) + 1);
        expect(counts.size).toBe(TOTAL);
        expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
      }
    });
  }
});
