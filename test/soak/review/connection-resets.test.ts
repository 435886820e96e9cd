/**
 * Review 2: ordinary network faults (TCP connections reset, as a load balancer, a NAT timeout or a
 * broker restart does) against an app in its own process, through test/support/tcp-proxy.ts.
 *
 * README "Exactly-once": "A failed transaction (fenced, broker away) restarts that task alone from
 * its last commit, with capped backoff, for as long as the app runs; a 15 s broker outage does not
 * stop the app." README "Lifecycle": SIGTERM with stopOnSignals() stops gracefully. Brief: after
 * the fault the app must come back, not die or end `failed`.
 * Expected: the process survives the resets, every id reaches the read_committed output once, and
 * SIGTERM then exits 0 (within 20 s; the worker's shutdownTimeoutMs is 5 s: "Every step is bounded,
 * so an unreachable broker cannot make it hang").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import type { IncomingRecord } from '../../../src/transport/transport.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics, produce } from '../../support/streams-harness.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const WORKER = fileURLToPath(new URL('../../fixtures/workers/proxied-worker.ts', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!hasKafka)('review2: connection resets against an app process', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  for (const guarantee of ['exactly-once', 'at-least-once'] as const) {
    it(`${guarantee}: connections reset every 700 ms for 12 s; the process survives and every id comes through`, { timeout: 150_000 }, async () => {
      const [host = '127.0.0.1', port = '9092'] = (kafkaBrokers()[0] ?? '').split(':');
      const proxy = await TcpProxy.start({ host, port: Number(port) });
      cleanups.push(() => proxy.close());
      const direct = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-direct', logLevel: 'nothing' });
      const input = uniqueName('r2-rst-in');
      const output = uniqueName('r2-rst-out');
      await createTopics(direct, [
        { topic: input, partitions: 6 },
        { topic: output, partitions: 6 },
      ]);
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
        env: { ...process.env, BROKERS: kafkaBrokers().join(','), PROXY_PORT: String(proxy.address.port), INPUT: input, OUTPUT: output, APP_ID: uniqueName('r2-rst-app'), INSTANCE_ID: 'w', GUARANTEE: guarantee, SHUTDOWN_MS: '5000' },
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
      let next = 0;
      const feed = async (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end && child.exitCode === null) {
          await produce(direct, Array.from({ length: 20 }, (_, i) => ({ topic: input, key: Buffer.from(`k${(next + i) % 31}`), value: Buffer.from(JSON.stringify({ id: next + i })) })));
          next += 20;
          await sleep(25);
        }
      };
      await feed(2_000);
      const cutting = (async () => {
        const end = Date.now() + 12_000;
        while (Date.now() < end && child.exitCode === null) {
          await sleep(700);
          proxy.cut();
        }
      })();
      await feed(12_000);
      await cutting;
      await feed(1_000);
      const total = next;

      const counts = new Map<number, number>();
      const reader = direct.consumer({ groupId: uniqueName('r2-rst-reader'), isolationLevel: 'read_committed' });
      await reader.connect();
      cleanups.push(() => reader.disconnect());
      await reader.subscribe({ topics: [output], fromBeginning: true });
      await reader.run({
        eachBatch: async (batch) => {
          for (const r of batch.records as readonly IncomingRecord[]) {
            const id = (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id;
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
        },
      });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && counts.size < total && child.exitCode === null) await sleep(200);
      await sleep(2_000);
      const alive = child.exitCode === null && child.signalCode === null;
      const crash = alive ? '' : stderr.split('\n').filter((l) => /Error|error/.test(l)).slice(0, 3).join(' | ');
      if (alive) child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(20_000).then(() => 'no exit within 20 s')]);
      const duplicates = guarantee === 'exactly-once' ? [...counts.values()].filter((n) => n > 1).length : 0;
      expect({ aliveAfterResets: alive, crash, delivered: counts.size, duplicates, exitCodeOnSigterm: code }).toEqual({
        aliveAfterResets: true,
        crash: '',
        delivered: total,
        duplicates: 0,
        exitCodeOnSigterm: 0,
      });
    });
  }
});
