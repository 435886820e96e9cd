/**
 * Review 2: dead letters under exactly-once across SIGKILL and SIGSTOP of app processes, under
 * continuous input.
 *
 * README "Exactly-once": "Outputs and dead letters go into the task's open transaction as they are
 * produced ... a transaction holds exactly the outputs of the offsets it commits."
 * Expected: in the read_committed output every good id exactly once, in the read_committed
 * dead-letter topic every bad id exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../support/services.ts';
import { createTopics, produce } from '../support/streams-harness.ts';

const WORKER = fileURLToPath(new URL('../fixtures/workers/proxied-worker.ts', import.meta.url));
const BAD_EVERY = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasKafka)('review2: dead letters under exactly-once with crashing instances', () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('SIGKILL/SIGSTOP rounds: every bad id dead-lettered once, every good id output once (read_committed)', { timeout: 200_000 }, async () => {
    const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
    const input = uniqueName('r2-dl-in');
    const output = uniqueName('r2-dl-out');
    const appId = uniqueName('r2-dl-app');
    await createTopics(direct, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 4 },
    ]);
    const launch = async (instance: string) => {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
        env: { ...process.env, BROKERS: kafkaBrokers().join(','), INPUT: input, OUTPUT: output, APP_ID: appId, INSTANCE_ID: instance, GUARANTEE: 'exactly-once', BAD_EVERY: String(BAD_EVERY), SESSION_MS: '6000' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('RUNNING') && resolve());
        void exited.then((code) => reject(new Error(`worker exited (${code}) before it ran: ${stderr}`)));
      });
      return { child, exited };
    };
    let next = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        await produce(direct, Array.from({ length: 10 }, (_, i) => ({ topic: input, key: Buffer.from(`k${(next + i) % 17}`), value: Buffer.from(JSON.stringify({ id: next + i })) })));
        next += 10;
        await sleep(20);
      }
    })();
    cleanups.push(async () => {
      feeding = false;
      await feeder;
    });
    const workers = [await launch('a'), await launch('b')];
    await sleep(4_000);
    for (let round = 0; round < 4; round++) {
      const index = round % 2;
      const victim = workers[index] as { child: ChildProcess; exited: Promise<number | null> };
      if (round % 2 === 0) {
        victim.child.kill('SIGKILL');
        await victim.exited;
        await sleep(1_000);
        workers[index] = await launch(index === 0 ? 'a' : 'b');
      } else {
        victim.child.kill('SIGSTOP');
        await sleep(10_000);
        victim.child.kill('SIGCONT');
      }
      await sleep(4_000);
    }
    feeding = false;
    await feeder;
    const total = next;

    const read = async (topic: string) => {
      const counts = new Map<number, number>();
      const reader = direct.consumer({ groupId: uniqueName('r2-dl-reader'), isolationLevel: 'read_committed' });
      await reader.connect();
      cleanups.push(() => reader.disconnect());
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await reader.run({
        eachBatch: async (batch) => {
          for (const r of batch.records as readonly IncomingRecord[]) {
            const id = (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id;
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
        },
      });
      return counts;
    };
    const out = await read(output);
    const dlq = await read(`${appId}-dlq`);
    const good = Array.from({ length: total }, (_, id) => id).filter((id) => id % BAD_EVERY !== 0);
    const bad = Array.from({ length: total }, (_, id) => id).filter((id) => id % BAD_EVERY === 0);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && (good.some((id) => !out.has(id)) || bad.some((id) => !dlq.has(id)))) await sleep(250);
    await sleep(3_000);
    expect({
      outMissing: good.filter((id) => !out.has(id)).length,
      outDuplicates: [...out.values()].filter((n) => n > 1).length,
      outUnexpected: [...out.keys()].filter((id) => id % BAD_EVERY === 0).length,
      dlqMissing: bad.filter((id) => !dlq.has(id)).length,
      dlqDuplicates: [...dlq].filter(([, n]) => n > 1).slice(0, 5),
    }).toEqual({ outMissing: 0, outDuplicates: 0, outUnexpected: 0, dlqMissing: 0, dlqDuplicates: [] });
  });
});
