/**
 * Hostile review: StreamsApp on the memory transport, pipe()/transform() epochs meeting stop() and
 * the in-flight bound. Each test fails while the README promise it names is broken.
 */
import { bufferCount, map, take } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, combineRecords, silentLogger, type StreamRecord, type StreamsAppOptions } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
}, 20_000);

async function run(build: (builder: StreamsBuilder, input: string, output: string) => void, count: number, app: Partial<StreamsAppOptions> = {}) {
  const transport = new MemoryTransport();
  const input = uniqueName('in');
  const output = uniqueName('out');
  await createTopics(transport, [
    { topic: input, partitions: 1 },
    { topic: output, partitions: 1 },
  ]);
  await produce(transport, Array.from({ length: count }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify(`v${i}`)) })));
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  build(builder, input, output);
  const streams = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), commitIntervalMs: 20, ...app });
  apps.push(streams);
  await streams.start();
  return { app: streams, transport, input, output };
}

const until = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

describe('review: StreamsApp and pipe() epochs', () => {
  // README "Backpressure": "At the bound, steps that hold records end their epoch, intake waits ...",
  // "Custom RxJS steps": take(n) "ends the step for the life of the task: later records are dropped",
  // and "Bad records never stop the pipeline" / "nothing stalls".
  // take(0) completes while its chain is being subscribed; the first input is parked in an epoch
  // already marked done, its offset never completes, and once maxInFlight records pile up behind it
  // intake stops for good: the partition stalls.
  it('take(0) in pipe(): the app keeps consuming and commits every input', async () => {
    const { transport, app, input } = await run((b, i, o) => b.stream<string, string>(i).pipe(take(0)).to(o), 50, { maxInFlight: 8, shutdownTimeoutMs: 1_000 });
    await expect(waitForCommitted(transport, app.applicationId, input, 5_000)).resolves.toBeDefined();
  }, 15_000);

  // README "Graceful shutdown": "in-flight records get up to shutdownTimeoutMs (30 s) to finish, what
  // is done is committed", and "Custom RxJS steps": "An epoch ends ... when the task closes".
  // stop() waits for the in-flight count to drain but never ends the epochs of pipe()/transform()
  // steps; the held records cannot finish before maxHoldMs, so stop() sits out the whole
  // shutdownTimeoutMs, the task closes by discarding the chain (not completing it), and nothing is
  // emitted or committed: every record is processed again after the restart.
  it('stop() ends the open epoch: held records finish and are committed', async () => {
    const { transport, app, input, output } = await run(
      (b, i, o) =>
        b
          .stream<string, string>(i)
          .transform(() => (source) => source.pipe(bufferCount(10), map((batch: StreamRecord<string, string>[]) => combineRecords(batch, { key: 'all', value: batch.map((r) => r.value) }))), {
            maxHoldMs: 60_000,
          })
          .to(o),
      3,
      { shutdownTimeoutMs: 2_000 },
    );
    await until(() => app.inFlight === 3, 5_000);
    expect(app.inFlight).toBe(3);
    const started = Date.now();
    await app.stop();
    const took = Date.now() - started;
    const written = transport.broker.read(output, 0, 0).length;
    const committed = transport.broker.committed(app.applicationId, { topic: input, partition: 0 });
    expect({ written, committed, stopWaitedFullTimeout: took >= 1_900 }).toEqual({ written: 1, committed: 3, stopWaitedFullTimeout: false });
  }, 15_000);
});
