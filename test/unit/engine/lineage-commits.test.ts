import { concatMap, from, map, mergeMap, takeWhile, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type KStream } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

/** A forEach sink whose calls finish only when the test says so. */
function controlledSink() {
  // Calls by value; a value may be called more than once (at-least-once replays after an error).
  const pending = new Map<string, Array<() => void>>();
  return {
    attach(stream: KStream<string, string>) {
      stream.forEach((_key, value) => new Promise<void>((resolve) => pending.set(value, [...(pending.get(value) ?? []), resolve])), { concurrency: 100 });
    },
    async finish(driver: TopologyTestDriver, value: string) {
      const resolvers = pending.get(value);
      if (!resolvers) throw new Error(`no pending call for ${value}; pending: ${[...pending.keys()].join(', ')}`);
      pending.delete(value);
      for (const resolve of resolvers) resolve();
      await driver.tick();
    },
    get pending() {
      return [...pending.keys()].sort();
    },
  };
}

function setup(shape: (input: KStream<string, string>, sink: ReturnType<typeof controlledSink>) => void) {
  const sink = controlledSink();
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  shape(builder.stream<string, string>('in'), sink);
  const driver = new TopologyTestDriver(builder.build());
  return { driver, sink, input: driver.createInputTopic<string, string>('in', serdes) };
}

describe('an input offset is committed only when everything derived from it is done', () => {
  it('flatMap: all of the outputs of a record', async () => {
    const { driver, sink, input } = setup((stream, s) => s.attach(stream.flatMapValues((v) => [`${v}-1`, `${v}-2`])));
    input.pipeInput('k', 'a');
    await sink.finish(driver, 'a-1');
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a-2');
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('fan-out: a stream with two sinks', async () => {
    const { driver, sink, input } = setup((stream, s) => {
      s.attach(stream.mapValues((v) => `${v}-left`));
      s.attach(stream.mapValues((v) => `${v}-right`));
    });
    input.pipeInput('k', 'a');
    await sink.finish(driver, 'a-right');
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a-left');
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('split and merge: the branch a record took', async () => {
    const { driver, sink, input } = setup((stream, s) => {
      const { upper, lower } = stream
        .split()
        .branch((_k, v) => v === v.toUpperCase(), { name: 'upper' })
        .defaultBranch({ name: 'lower' });
      s.attach(upper.mapValues((v) => `${v}!`).merge(lower));
    });
    input.pipeInput('k', 'A');
    input.pipeInput('k', 'b');
    expect(sink.pending).toEqual(['A!', 'b']);
    await sink.finish(driver, 'b');
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'A!');
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('a slow record holds back the commit of later ones, never the other way round', async () => {
    const { driver, sink, input } = setup((stream, s) => s.attach(stream));
    for (const v of ['a', 'b', 'c']) input.pipeInput('k', v);
    await sink.finish(driver, 'b');
    await sink.finish(driver, 'c');
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a');
    expect(driver.committedOffset('in')).toBe(3);
  });

  it('filtered-out records count as done', async () => {
    const { driver, sink, input } = setup((stream, s) => s.attach(stream.filter((_k, v) => v !== 'drop')));
    input.pipeInput('k', 'drop');
    expect(driver.committedOffset('in')).toBe(1);
    input.pipeInput('k', 'keep');
    expect(driver.committedOffset('in')).toBe(1);
    await sink.finish(driver, 'keep');
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('pipe() with an order-keeping async operator keeps its inputs until the epoch has completed', async () => {
    const { driver, sink, input } = setup((stream, s) =>
      s.attach(stream.transform((context) => (source) => source.pipe(concatMap((r) => timer(100, context.scheduler).pipe(map(() => r.withValue(`${r.value}+`))))))),
    );
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'b');
    driver.advanceWallClockTime(100);
    expect(sink.pending).toEqual(['a+']);
    await sink.finish(driver, 'a+');
    // The operators could still emit more for 'a' until their epoch completes.
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.advanceWallClockTime(100);
    await sink.finish(driver, 'b+');
    driver.flush();
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('pipe() operators that throw: the culprit is dead-lettered, the records they held are fed again', async () => {
    const { driver, sink, input } = setup((stream, s) =>
      s.attach(
        stream.pipe(
          mergeMap((r) => {
            if (r.value === 'bad') throw new Error('cannot handle bad');
            return from([r]);
          }),
        ),
      ),
    );
    for (const v of ['a', 'bad', 'c']) input.pipeInput('k', v);
    expect(sink.pending).toEqual(['a', 'c']);
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([expect.stringContaining('cannot handle bad')]);
    await sink.finish(driver, 'a');
    await sink.finish(driver, 'c');
    driver.flush();
    expect(driver.committedOffset('in')).toBe(3);
  });

  it('pipe() operators that complete on their own (takeWhile) end their epoch: what they did not pass on is dropped, the next record starts afresh', async () => {
    const { driver, sink, input } = setup((stream, s) => s.attach(stream.pipe(takeWhile((r) => r.value !== 'stop'))));
    for (const v of ['a', 'stop', 'c']) input.pipeInput('k', v);
    expect(sink.pending).toEqual(['a', 'c']);
    await sink.finish(driver, 'a');
    expect(driver.committedOffset('in')).toBe(2);
    await sink.finish(driver, 'c');
    driver.flush();
    expect(driver.committedOffset('in')).toBe(3);
  });

  it('pipe() operators that emit something other than a derived record: the input is dead-lettered with how to fix it', () => {
    const { driver, input } = setup((stream, s) => s.attach(stream.pipe(map((r) => ({ value: r.value }) as unknown as typeof r))));
    input.pipeInput('k', 'a');
    const [dead] = driver.deadLetters();
    expect(dead?.error.errorMessage).toMatch(/emitted object, not a record; derive outputs with record.withValue\(\)\/withKey\(\) or combineRecords\(\)/);
    expect(driver.committedOffset('in')).toBe(1);
  });
});
