/**
 * Review 2: exactly-once with three instances joining and leaving (gracefully and by SIGKILL)
 * under continuous input, on 12 partitions.
 *
 * README, Guarantees, "Exactly-once": "A task starts only after that producer was initialised,
 * which fences the partition's previous owner ... a transaction holds exactly the outputs of the
 * offsets it commits." and "Rebalances. Revoked partitions flush their outputs ..., commit what is
 * done and stop". Expected: 0 missing and 0 duplicate ids in the read_committed output; every
 * instance stopped with SIGTERM exits 0.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../../src/transport/kafka/index.ts';
import { continuousInput, outputReader, startWorker, waitFor, type WorkerProcess } from '../support/app-processes.ts';
import { hasKafka, kafkaBrokers, uniqueName } from '../support/services.ts';
import { createTopics } from '../support/streams-harness.ts';

const WORKER = fileURLToPath(new URL('../fixtures/workers/eos-worker.ts', import.meta.url));
const PARTITIONS = Number(process.env.R2_PARTITIONS ?? 12);







describe.skipIf(!hasKafka)('review2: three exactly-once instances join and leave under continuous input', () => {
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

  it('graceful leaves, joins and a SIGKILL across three instances: 0 lost, 0 duplicates, clean exits', { timeout: 300_000 }, async () => {
    const transport = new KafkaTransport({ brokers: kafkaBrokers(), clientId: 'r2-three', logLevel: 'nothing' });
    const input = uniqueName('r2-in');
    const output = uniqueName('r2-out');
    await createTopics(transport, [
      { topic: input, partitions: PARTITIONS },
      { topic: output, partitions: PARTITIONS },
    ]);
    const env = { BROKERS: kafkaBrokers().join(','), INPUT: input, OUTPUT: output, APP_ID: uniqueName('r2-app') };
    const all: WorkerProcess[] = [];
    const launch = async (instance: string) => {
      const worker = startWorker(WORKER, { ...env, INSTANCE_ID: instance });
      children.push(worker.child);
      all.push(worker);
      await worker.running;
      return worker;
    };
    const reader = await outputReader(transport, output);
    cleanups.push(() => reader.close());
    const inputs = continuousInput(transport, input, { batch: 12, keys: 53 });
    cleanups.push(() => inputs.stop());
    const log: string[] = [];
    const caughtUp = async (what: string) => {
      const fresh = inputs.written() + 240;
      await waitFor(() => inputs.written() >= fresh, 30_000, () => 'fresh input');
      const mark = inputs.written();
      const t0 = Date.now();
      await waitFor(() => reader.hasAllBelow(mark), 90_000, () => `ids below ${mark} in the output (${what}); have ${reader.counts.size}`);
      log.push(`${what}: caught up in ${Date.now() - t0} ms`);
    };
    const graceful = async (worker: WorkerProcess) => {
      worker.child.kill('SIGTERM');
      const code = await worker.exited;
      expect(code, `graceful exit: ${worker.stderr().slice(-1500)}`).toBe(0);
    };

    let a = await launch('a');
    await caughtUp('a alone');
    let b = await launch('b');
    const c = await launch('c');
    await caughtUp('a, b, c');
    await graceful(b);
    await caughtUp('b left');
    b = await launch('b');
    await caughtUp('b back');
    await graceful(a);
    await caughtUp('a left');
    c.child.kill('SIGKILL');
    await c.exited;
    await caughtUp('c killed');
    a = await launch('a');
    const c2 = await launch('c');
    await caughtUp('a, c back');

    const total = await inputs.stop();
    await waitFor(() => reader.hasAllBelow(total), 90_000, () => `all ${total} ids in the output; have ${reader.counts.size}`);
    await waitFor(() => reader.quietFor(3_000), 60_000, () => 'the output to go quiet');
    const duplicates = [...reader.counts].filter(([, n]) => n > 1);
    const missing = Array.from({ length: total }, (_, id) => id).filter((id) => !reader.counts.has(id));
    console.log(log.join('\n'));
    expect({ missing: missing.length, duplicates: duplicates.length, firstDuplicates: duplicates.slice(0, 5) }).toEqual({
      missing: 0,
      duplicates: 0,
      firstDuplicates: [],
    });
    for (const worker of [a, b, c2]) await graceful(worker);
  });
});
