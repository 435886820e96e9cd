/**
 * Exactly-once zombie scenarios with instances in child processes (test/fixtures/workers/eos-worker.ts)
 * and input arriving continuously: what `test/integration/engine/exactly-once-zombies.test.ts` and
 * the soak rounds in `test/soak/exactly-once-zombie-rounds.test.ts` share.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { KafkaTransport } from '../../src/transport/kafka/index.ts';
import { continuousInput, outputReader, startWorker, waitFor, type WorkerProcess } from './app-processes.ts';
import { kafkaBrokers, uniqueName } from './services.ts';
import { createTopics } from './streams-harness.ts';

const WORKER = fileURLToPath(new URL('../fixtures/workers/eos-worker.ts', import.meta.url));
const PARTITIONS = 4;

/** Call inside a `describe`: kills leftover children and closes readers after each test; returns the set-up. */
export function eosZombieScenario() {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  });
  return async function setUp() {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'eos-zombie-test', logLevel: 'nothing' });
    const input = uniqueName('eos-in');
    const output = uniqueName('eos-out');
    await createTopics(transport, [
      { topic: input, partitions: PARTITIONS },
      { topic: output, partitions: PARTITIONS },
    ]);
    const env = { BROKERS: kafkaBrokers().join(','), INPUT: input, OUTPUT: output, APP_ID: uniqueName('eos-app') };
    const launch = async (instance: string) => {
      const worker = startWorker(WORKER, { ...env, INSTANCE_ID: instance });
      children.push(worker.child);
      await worker.running;
      return worker;
    };
    const reader = await outputReader(transport, output);
    cleanups.push(() => reader.close());
    const inputs = continuousInput(transport, input);
    cleanups.push(() => inputs.stop());
    /**
     * Waits until 200 more ids were written (they reach every partition) and every id written so
     * far is in the output: all partitions are processed by the instances that run now.
     */
    const caughtUp = async (what: string) => {
      const fresh = inputs.written() + 200;
      await waitFor(() => inputs.written() >= fresh, 30_000, () => 'fresh input');
      const mark = inputs.written();
      await waitFor(() => reader.hasAllBelow(mark), 90_000, () => `ids below ${mark} in the output (${what}); have ${reader.counts.size}`);
    };
    const verify = async (workers: readonly WorkerProcess[]) => {
      const total = await inputs.stop();
      await waitFor(() => reader.hasAllBelow(total), 90_000, () => `all ${total} ids in the output; have ${reader.counts.size}`);
      // A duplicate could come after the last new id: read on until the topic stays quiet.
      await waitFor(() => reader.quietFor(3_000), 60_000, () => 'the output to go quiet');
      const duplicates = [...reader.counts].filter(([, n]) => n > 1);
      const missing = Array.from({ length: total }, (_, id) => id).filter((id) => !reader.counts.has(id));
      expect({ missing: missing.length, duplicates: duplicates.length, firstDuplicates: duplicates.slice(0, 5) }).toEqual({
        missing: 0,
        duplicates: 0,
        firstDuplicates: [],
      });
      expect(reader.counts.size).toBe(total);
      for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
      for (const worker of workers) expect(await worker.exited).toBe(0);
    };
    return { launch, caughtUp, verify };
  };
}
