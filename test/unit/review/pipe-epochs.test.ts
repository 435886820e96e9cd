/**
 * Hostile review: the epoch mechanism of pipe()/transform() on the TopologyTestDriver.
 * Each test fails while the README promise it names is broken.
 */
import { startWith, take, takeUntil, of, map, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type KStream, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
type R = StreamRecord<string, string>;

function setup(shape: (s: KStream<string, string>) => KStream<string, string>) {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  shape(builder.stream<string, string>('in')).to('out');
  const driver = new TopologyTestDriver(builder.build());
  return { driver, input: driver.createInputTopic<string, string>('in', serdes), output: driver.createOutputTopic<string, string>('out', serdes) };
}

describe('review: operators that act while the chain is being subscribed', () => {
  // README "Custom RxJS steps": "Each output must be derived from the epoch's inputs (...; anything
  // else is dead-lettered with how to fix it)" and "nothing stalls, nothing is lost".
  // startWith() emits a non-record synchronously during subscribe(): the chain fails before the
  // epoch is registered, the epoch is pushed already 'done', and the input is parked in it forever:
  // never dead-lettered, never committed, even after completionTimeoutMs.
  it('startWith(non-record): every input is dead-lettered (not parked forever)', () => {
    const { driver, input } = setup((s) => s.pipe(startWith('header' as unknown as R), map((r: R) => r)));
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    driver.advanceWallClockTime(120_000); // far past maxHoldMs (1 s) and completionTimeoutMs (30 s)
    driver.flush();
    expect(driver.deadLetters().length).toBe(2);
    expect(driver.committedOffset('in')).toBe(2);
  });

  // README: "An operator that completes on its own (take(n), first(), takeWhile) ends the step for
  // the life of the task: later records are dropped." Dropped records are committed ("dropped by a
  // filter" counts as finished). take(0) (or takeUntil of a notifier that fires at once) completes
  // during subscribe(): the first record is parked in a 'done' epoch and the partition never commits.
  it('take(0): the step ends, records are dropped and the partition still commits', () => {
    const { driver, input, output } = setup((s) => s.pipe(take(0)));
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    driver.advanceWallClockTime(120_000);
    driver.flush();
    expect(output.readValuesToList()).toEqual([]);
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('takeUntil(of(stop)) (notifier already fired): the partition still commits', () => {
    const stop: Observable<number> = of(1);
    const { driver, input } = setup((s) => s.pipe(takeUntil(stop)));
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    driver.advanceWallClockTime(120_000);
    driver.flush();
    expect(driver.committedOffset('in')).toBe(2);
  });
});
