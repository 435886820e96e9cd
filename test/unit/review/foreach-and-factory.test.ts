/**
 * Hostile review: forEach concurrency after timeouts; how often a transform() factory is built.
 */
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

describe('review: forEach concurrency and timeouts', () => {
  // README DSL table: forEach(async action, { concurrency, timeoutMs }) — "concurrency" bounds the
  // calls running at once (the source says "Runs the action with at most `concurrency` records at
  // once"). A call that times out frees its slot although it is still running, so against a hung
  // endpoint the number of calls actually running grows without bound (one more per timeoutMs).
  // Resolution: a timed-out call cannot be cancelled by the runtime; it is abandoned, its slot goes to
  // the next record (or a hung endpoint would stall the partition for good), and its signal aborts,
  // so a client that honours it stops. Calls that honour the signal never exceed `concurrency`.
  it('with concurrency 1, a timed-out call is told to stop, and calls that honour it never overlap', () => {
    let running = 0;
    let highest = 0;
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, string>('in').forEach(
      (_key, _value, _record, { signal }) => {
        running += 1;
        highest = Math.max(highest, running);
        // A hung call that stops when told to, as axios or fetch do with the signal.
        return new Promise<void>((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            running -= 1;
            reject(signal.reason);
          }),
        );
      },
      { concurrency: 1, timeoutMs: 100 },
    );
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in', serdes);
    for (let i = 0; i < 5; i++) input.pipeInput(`k${i}`, `v${i}`);
    driver.advanceWallClockTime(1_000);
    expect(driver.deadLetters().length).toBe(5);
    expect(driver.deadLetters()[0]?.error.errorMessage).toMatch(/did not settle within 100 ms/);
    expect(highest).toBe(1);
    expect(running).toBe(0);
  });
});

describe('review: transform() factory lifetime', () => {
  // README DSL table: "transform(context => operator, ...) like pipe, built per task with the node
  // context". The factory is actually called for every epoch and again for every record re-run
  // alone after an error, so anything the factory sets up "per task" (a client, a cache, a
  // counter) is rebuilt every maxHoldMs.
  it('the factory is called once per task', () => {
    let built = 0;
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, string>('in')
      .transform(() => {
        built += 1;
        return (source) => source.pipe(map((r: StreamRecord<string, string>) => r));
      })
      .to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in', serdes);
    for (let i = 0; i < 3; i++) {
      input.pipeInput(`k${i}`, `v${i}`);
      driver.advanceWallClockTime(2_000); // each record in its own epoch
    }
    expect(built).toBe(1); // one task (partition 0)
  });
});
