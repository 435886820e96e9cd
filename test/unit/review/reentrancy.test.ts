/**
 * Hostile review: a sink that synchronously feeds records back (TopologyTestDriver, where
 * pipeInput processes before it returns).
 */
import { bufferCount, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, combineRecords, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver, type TestInputTopic } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
type R = StreamRecord<string, string>;

describe('review: synchronous re-entrancy into a pipe() step', () => {
  // README "Custom RxJS steps": "Outputs keep epoch order", "nothing stalls, nothing is lost";
  // "Guarantees / No loss".
  // The step's drain() keeps the head epoch in a local and shifts `epochs` after emitting its queue.
  // When that emission re-enters the step (the forEach action pipes new input synchronously) and a
  // nested epoch fails and drains, the nested drain already shifted the head; the outer drain then
  // shifts the NEXT epoch (the one the re-entrant 'c' went into) out of the list. That epoch's
  // later output is queued behind a head that no longer exists: 'c' never comes out and the
  // partition never commits past it.
  it('records fed back synchronously by a sink are processed and committed', async () => {
    const seen: string[][] = [];
    const ref: { input?: TestInputTopic<string, string> } = {};
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, string>('in')
      .pipe(
        map((r: R) => {
          if (r.value.startsWith('bad')) throw new Error(`refused ${r.value}`);
          return r;
        }),
        bufferCount(100),
        map((batch: R[]) => combineRecords(batch, { key: 'k', value: batch.map((r) => r.value) })),
      )
      .forEach((_k, values) => {
        seen.push(values);
        if (values.includes('a')) {
          ref.input?.pipeInput('k', 'bad2'); // feedback: a follow-up record, processed synchronously
          ref.input?.pipeInput('k', 'c');
        }
        return Promise.resolve();
      });
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in', serdes);
    ref.input = input;
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'bad'); // the epoch fails; 'a' re-runs alone and drains, which feeds back
    await driver.settle();
    driver.advanceWallClockTime(5_000);
    await driver.settle();
    driver.advanceWallClockTime(60_000);
    await driver.settle();
    expect(seen).toEqual([['a'], ['c']]);
    expect(driver.deadLetters().map((d) => d.error.errorMessage?.includes('bad'))).toEqual([true, true]);
    expect(driver.committedOffset('in')).toBe(4);
  });
});
