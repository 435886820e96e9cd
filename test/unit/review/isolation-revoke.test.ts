/**
 * Hostile review: a task closed while a failed pipe() epoch is re-running its inputs one by one.
 */
import { mergeMap, of, throwError, timer } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger, type StreamRecord, type Topology } from '../../../src/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
}, 30_000);

const until = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};

describe('review: pipe() isolation and task close', () => {
  // README "Backpressure and bounded memory": "At most maxInFlight input records are in flight,
  // counted as each partition's uncommitted window ... Records of a revoked task keep their slots
  // until they are really gone."
  // When the operators fail, the epoch's inputs are re-run alone; the one being re-run sits in
  // neither `held` nor `isolation`, so the teardown of a closing task never releases it (nor the
  // probe's queued outputs). Its in-flight slot is never given back: after the revocation the app
  // counts a record in flight that is gone, for ever. Enough of these and intake stops.
  it('after a revocation during isolation, the in-flight count returns to 0 once all is committed', async () => {
    const transport = new MemoryTransport();
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(transport, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const build = (): Topology => {
      const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
      builder
        .stream<string, string>(input)
        .pipe(mergeMap((r: StreamRecord<string, string>) => timer(400).pipe(mergeMap(() => (r.value.startsWith('bad') ? throwError(() => new Error('bad')) : of(r))))))
        .to(output);
      return builder.build();
    };
    const records = [0, 1].flatMap((partition) => ['good-a', 'bad', 'good-b'].map((v) => ({ topic: input, partition, key: Buffer.from(`k${partition}`), value: Buffer.from(JSON.stringify(`${v}-${partition}`)) })));
    await produce(transport, records);
    const applicationId = uniqueName('app');
    const a = new StreamsApp(build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 20, maxInFlight: 100, shutdownTimeoutMs: 3_000 });
    apps.push(a);
    await a.start();
    await until(() => a.inFlight === 6, 5_000);
    // The epoch fails ~400 ms in; then each input is re-run alone for 400 ms. Revoke in the middle.
    await new Promise((r) => setTimeout(r, 600));
    const b = new StreamsApp(build(), { applicationId, transport, logger: silentLogger(), commitIntervalMs: 20, maxInFlight: 100, shutdownTimeoutMs: 3_000 });
    apps.push(b);
    await b.start();
    await waitForCommitted(transport, applicationId, input, 15_000);
    await b.stop();
    // a owns both partitions again; every input is committed.
    await produce(transport, [{ topic: input, partition: 0, key: Buffer.from('k'), value: Buffer.from(JSON.stringify('good-late')) }]);
    await waitForCommitted(transport, applicationId, input, 15_000);
    await until(() => a.inFlight === 0, 3_000);
    expect(a.inFlight).toBe(0);
  }, 60_000);
});
