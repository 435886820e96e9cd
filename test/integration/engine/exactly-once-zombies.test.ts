/**
 * Exactly-once against zombies on a real broker, with instances in child processes and input
 * arriving continuously:
 * - an instance paused (SIGSTOP) past its session timeout while the other takes its partitions over,
 *   then resumed (SIGCONT), must not commit anything for those partitions (it is fenced by the
 *   per-task transactional id);
 * - rounds of SIGKILL and SIGSTOP on either of two instances lose nothing and duplicate nothing in
 *   the read_committed output.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../../src/transport/kafka/index.ts';
import { continuousInput, outputReader, startWorker, waitFor, type WorkerProcess } from '../../support/app-processes.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../../support/services.ts';
import { createTopics } from '../../support/streams-harness.ts';

const WORKER = fileURLToPath(new URL('../../fixtures/workers/eos-worker.ts', import.meta.url));
const PARTITIONS = 4;







describe.skipIf(!hasKafka)('exactly-once with zombies on a real broker (child processes, continuous input)', () => {
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

  async function setUp() {
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
  }

  it('an instance paused past its session timeout and resumed commits nothing for partitions taken over', { timeout: 150_000 }, async () => {
    const { launch, caughtUp, verify } = await setUp();
    const a = await launch('a');
    const b = await launch('b');
    await caughtUp('both instances running');
    // `a` has records in an open transaction now (input keeps coming, commits every 100 ms).
    a.child.kill('SIGSTOP');
    // Only once `b` owns `a`'s partitions can everything written until now reach the output.
    await caughtUp('b took a over');
    a.child.kill('SIGCONT');
    await caughtUp('after a resumed');
    await verify([a, b]);
  });

  it('SIGKILL/SIGSTOP rounds on two instances: 0 lost, 0 duplicates in the read_committed output over 10 rounds', { timeout: 240_000 }, async () => {
    const { launch, caughtUp, verify } = await setUp();
    const workers = [await launch('w0'), await launch('w1')];
    await caughtUp('both instances running');
    for (let round = 0; round < 10; round++) {
      const index = Math.floor(Math.random() * workers.length);
      const victim = workers[index] as WorkerProcess;
      if (round % 2 === 0) {
        victim.child.kill('SIGKILL');
        await victim.exited;
        workers[index] = await launch(`w${index}`);
      } else {
        victim.child.kill('SIGSTOP');
        await caughtUp(`round ${round}: the other instance took over`);
        victim.child.kill('SIGCONT');
      }
      await caughtUp(`after round ${round}`);
    }
    await verify(workers);
  });
});
