/**
 * Hostile review: operators that subscribe to the step's source later than at once.
 */
import { asyncScheduler, subscribeOn } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransport, StreamsApp, StreamsBuilder, silentLogger } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';
import { uniqueName } from '../../support/names.ts';
import { createTopics, produce, waitForCommitted } from '../../support/streams-harness.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

const apps: StreamsApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
}, 20_000);

describe('review: subscribeOn inside pipe()', () => {
  // README "Custom RxJS steps": "Any RxJS operator that passes records through can sit in pipe()"
  // and "Every input stays uncommitted ... until the chain that took it has completed, whatever the
  // operators did with it"; "Guarantees / No loss".
  // The step pushes an input into a plain Subject right after subscribing the chain. subscribeOn()
  // (or delaySubscription) subscribes to that Subject later, so the inputs pushed before then reach
  // nobody: they vanish, the chain completes normally, and their offsets are committed with no
  // output and no dead letter. The same happens to every record re-run alone after an error.
  it('driver: subscribeOn(scheduler) passes every record through', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, string>('in')
      .transform((context) => (source) => source.pipe(subscribeOn(context.scheduler)))
      .to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in', serdes);
    const output = driver.createOutputTopic<string, string>('out', serdes);
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    driver.advanceWallClockTime(5_000);
    driver.flush();
    expect(driver.committedOffset('in')).toBe(2);
    expect({ out: output.readValuesToList(), deadLetters: driver.deadLetters().length }).toEqual({ out: ['a', 'b'], deadLetters: 0 });
  });

  it('StreamsApp: pipe(subscribeOn(asyncScheduler)) loses no committed record', async () => {
    const transport = new MemoryTransport();
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics(transport, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    await produce(transport, Array.from({ length: 20 }, (_, i) => ({ topic: input, key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify(`v${i}`)) })));
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, string>(input).pipe(subscribeOn(asyncScheduler)).to(output);
    const app = new StreamsApp(builder.build(), { applicationId: uniqueName('app'), transport, logger: silentLogger(), commitIntervalMs: 20, shutdownTimeoutMs: 2_000 });
    apps.push(app);
    await app.start();
    await waitForCommitted(transport, app.applicationId, input, 10_000);
    // every input is committed; all 20 must have been written (or dead-lettered)
    const written = transport.broker.read(output, 0, 0).length;
    const deadLettered = transport.broker.hasTopic(`${app.applicationId}-dlq`) ? transport.broker.read(`${app.applicationId}-dlq`, 0, 0).length : 0;
    expect({ written, deadLettered }).toEqual({ written: 20, deadLettered: 0 });
  }, 20_000);
});
