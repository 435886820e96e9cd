/**
 * The commit rule through ordinary RxJS operators inside `pipe()` / `transform()`: an input offset
 * is committed only once everything derived from it is acknowledged, whatever the operators do
 * (reorder, multiply, drop, hold, fail), and errors land on the record that caused them.
 */
import { EMPTY, asapScheduler, bufferCount, catchError, concat, delay, filter, from, groupBy, map, mergeMap, of, repeat, retry, subscribeOn, throwError, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, combineRecords, type KStream, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

/** A forEach sink whose calls finish only when the test says so. */
function controlledSink() {
  const pending = new Map<string, Array<() => void>>();
  const calls: string[] = [];
  return {
    attach(stream: KStream<string, string>) {
      stream.forEach(
        (_key, value) =>
          new Promise<void>((resolve) => {
            calls.push(value);
            pending.set(value, [...(pending.get(value) ?? []), resolve]);
          }),
        { concurrency: 100 },
      );
    },
    async finish(driver: TopologyTestDriver, value: string) {
      const resolvers = pending.get(value);
      if (!resolvers) throw new Error(`no pending call for ${value}; pending: ${[...pending.keys()].join(', ')}`);
      pending.delete(value);
      for (const resolve of resolvers) resolve();
      await driver.tick();
    },
    async finishAll(driver: TopologyTestDriver) {
      for (const value of [...pending.keys()]) await this.finish(driver, value);
    },
    get pending() {
      return [...pending.keys()].sort();
    },
    calls,
  };
}

function setup(shape: (input: KStream<string, string>) => KStream<string, string>, options: { processing?: 'dead-letter' | 'continue' } = {}) {
  const sink = controlledSink();
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  sink.attach(shape(builder.stream<string, string>('in')));
  const driver = new TopologyTestDriver(builder.build(), options.processing ? { errorPolicy: { processing: options.processing } } : {});
  return { driver, sink, input: driver.createInputTopic<string, string>('in', serdes) };
}

describe('pipe(): reordering operators (defect 1)', () => {
  it('mergeMap with async work: a later output does not release an earlier input still inside', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.pipe(mergeMap((r: StreamRecord<string, string>) => of(r).pipe(delay(r.value === 'slow' ? 500 : 10, driver.scheduler)))),
    );
    input.pipeInput('k', 'slow');
    input.pipeInput('k', 'fast');
    driver.advanceWallClockTime(10);
    await sink.finish(driver, 'fast');
    driver.flush();
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.advanceWallClockTime(490);
    expect(sink.pending).toEqual(['slow']);
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'slow');
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('groupBy + bufferCount: a group still buffering holds its inputs, even behind an emitted one', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.pipe(
        groupBy((r: StreamRecord<string, string>) => r.key),
        mergeMap((group) => group.pipe(bufferCount(2))),
        map((batch) => combineRecords(batch, { key: batch[0]?.key ?? null, value: batch.map((r) => r.value).join('+') })),
      ),
    );
    input.pipeInput('k1', 'a');
    input.pipeInput('k2', 'b');
    input.pipeInput('k1', 'c');
    expect(sink.pending).toEqual(['a+c']);
    await sink.finish(driver, 'a+c');
    // 'b' (offset 1) is still in k2's buffer.
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.flush();
    expect(sink.pending).toEqual(['b']);
    // 'a' (offset 0) is done; 'b' waits for its sink.
    expect(driver.committedOffset('in')).toBe(1);
    await sink.finish(driver, 'b');
    expect(driver.committedOffset('in')).toBe(3);
  });
});

describe('pipe(): several outputs of one input (defect 2)', () => {
  it('mergeMap to two outputs, then a filter that drops the first: the input waits for the second', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.pipe(
        mergeMap((r: StreamRecord<string, string>) => from([r.withValue(`${r.value}-x`), r.withValue(`${r.value}-y`)])),
        filter((r) => !r.value.endsWith('-x')),
      ),
    );
    input.pipeInput('k', 'a');
    driver.flush();
    expect(sink.pending).toEqual(['a-y']);
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a-y');
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('mergeMap to two outputs, then a filter step after pipe() that drops the first: the input waits for the second', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream
        .pipe(mergeMap((r: StreamRecord<string, string>) => from([r.withValue(`${r.value}-x`), r.withValue(`${r.value}-y`)])))
        .filter((_key, value) => !value.endsWith('-x')),
    );
    input.pipeInput('k', 'a');
    driver.flush();
    expect(sink.pending).toEqual(['a-y']);
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a-y');
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('a step that emits twice over time: the input waits for the second output', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.transform((context) => (source) =>
        source.pipe(mergeMap((r) => concat(of(r.withValue(`${r.value}-1`)), timer(100, context.scheduler).pipe(map(() => r.withValue(`${r.value}-2`)))))),
      ),
    );
    input.pipeInput('k', 'a');
    await sink.finish(driver, 'a-1');
    driver.flush();
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.advanceWallClockTime(100);
    expect(sink.pending).toEqual(['a-2']);
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finish(driver, 'a-2');
    expect(driver.committedOffset('in')).toBe(1);
  });
});

describe('pipe(): errors belong to the record that caused them (defects 3 and 11)', () => {
  const asyncFailure = (stream: KStream<string, string>, scheduler: () => TopologyTestDriver['scheduler']) =>
    stream.pipe(
      mergeMap((r: StreamRecord<string, string>) =>
        timer(10, scheduler()).pipe(mergeMap(() => (r.value === 'bad' ? throwError(() => new Error('bad is bad')) : of(r)))),
      ),
    );

  it('an async error in mergeMap over a, bad, c dead-letters only bad', async () => {
    const ref: { driver?: TopologyTestDriver } = {};
    const { driver, sink, input } = setup((stream) => asyncFailure(stream, () => (ref.driver as TopologyTestDriver).scheduler));
    ref.driver = driver;
    for (const v of ['a', 'bad', 'c']) input.pipeInput('k', v);
    // bad fails at 10 ms; then each input runs alone (10 ms each).
    driver.advanceWallClockTime(10);
    driver.advanceWallClockTime(30);
    expect(driver.deadLetters().map((d) => d.error.sourceOffset)).toEqual(['1']);
    expect(driver.deadLetters()[0]?.error.errorMessage).toMatch(/bad is bad/);
    expect(sink.pending).toEqual(['a', 'c']);
    await sink.finishAll(driver);
    expect(driver.committedOffset('in')).toBe(3);
  });

  it("with processing: 'continue' the innocent records still come out", async () => {
    const ref: { driver?: TopologyTestDriver } = {};
    const { driver, sink, input } = setup((stream) => asyncFailure(stream, () => (ref.driver as TopologyTestDriver).scheduler), { processing: 'continue' });
    ref.driver = driver;
    for (const v of ['a', 'bad', 'c']) input.pipeInput('k', v);
    driver.advanceWallClockTime(10);
    driver.advanceWallClockTime(30);
    expect(driver.deadLetters()).toEqual([]);
    expect(sink.pending).toEqual(['a', 'c']);
    // Until the innocent outputs are acknowledged, nothing is committed.
    expect(driver.committedOffset('in')).toBeUndefined();
    await sink.finishAll(driver);
    expect(driver.committedOffset('in')).toBe(3);
  });

  it('a failing batch: the culprit is dead-lettered once, the good records after it flow and commit', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.pipe(
        bufferCount(3),
        map((batch: StreamRecord<string, string>[]) => {
          if (batch.some((r) => r.value === 'bad')) throw new Error('a batch with bad in it');
          return combineRecords(batch, { key: 'batch', value: batch.map((r) => r.value).join('+') });
        }),
      ),
    );
    for (const v of ['a', 'bad', 'c', 'd', 'e', 'f']) input.pipeInput('k', v);
    expect(driver.deadLetters().map((d) => d.error.sourceOffset)).toEqual(['1']);
    // Run alone, 'a' and 'c' come out as batches of one; the later records batch as usual.
    expect(sink.calls).toEqual(['a', 'c', 'd+e+f']);
    await sink.finishAll(driver);
    driver.flush();
    expect(driver.committedOffset('in')).toBe(6);
    for (const v of ['g', 'h', 'i']) input.pipeInput('k', v);
    expect(sink.calls.at(-1)).toBe('g+h+i');
    expect(driver.deadLetters()).toHaveLength(1);
  });
});

describe('pipe(): what the operators drop or hold never stalls (defect 6, in the driver)', () => {
  it('a filter inside pipe(): dropped inputs are committed once the epoch ends', () => {
    const { driver, input } = setup((stream) => stream.pipe(filter(() => false)));
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'b');
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.advanceWallClockTime(1_000);
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('a transform that drops with mergeMap(() => EMPTY)', () => {
    const { driver, input } = setup((stream) => stream.transform(() => (source) => source.pipe(mergeMap(() => EMPTY)), { maxHoldMs: 50 }));
    input.pipeInput('k', 'a');
    driver.advanceWallClockTime(50);
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('an operator that never completes: after completionTimeoutMs its records are dead-lettered as timed out', () => {
    const { driver, sink, input } = setup((stream) =>
      stream.transform(() => (source) => source.pipe(mergeMap((r) => (r.value === 'hang' ? timer(1e9, driver.scheduler).pipe(map(() => r)) : of(r)))), {
        maxHoldMs: 100,
        completionTimeoutMs: 500,
      }),
    );
    input.pipeInput('k', 'hang');
    driver.advanceWallClockTime(100);
    expect(driver.deadLetters()).toEqual([]);
    driver.advanceWallClockTime(500);
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([expect.stringMatching(/still held this record 500 ms after/)]);
    expect(sink.pending).toEqual([]);
    expect(driver.committedOffset('in')).toBe(1);
  });
});

describe('transform(): a factory that throws (defect 16)', () => {
  it('does not crash: each record goes to the error policy with the factory error', () => {
    const { driver, input } = setup((stream) =>
      stream.transform(() => {
        throw new Error('factory is broken');
      }),
    );
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'b');
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([
      expect.stringMatching(/building the pipe\(\) operators failed: factory is broken/),
      expect.stringMatching(/building the pipe\(\) operators failed: factory is broken/),
    ]);
    expect(driver.committedOffset('in')).toBe(2);
  });
});

describe('exactly-once mode: an epoch passes its outputs on only once it completed', () => {
  it('outputs taken back after an async error are not passed on twice', async () => {
    const sink = controlledSink();
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    const ref: { driver?: TopologyTestDriver } = {};
    sink.attach(
      builder.stream<string, string>('in').pipe(
        mergeMap((r: StreamRecord<string, string>) =>
          r.value === 'bad' ? timer(10, (ref.driver as TopologyTestDriver).scheduler).pipe(mergeMap(() => throwError(() => new Error('late failure')))) : of(r),
        ),
      ),
    );
    const driver = new TopologyTestDriver(builder.build(), { transactional: true });
    ref.driver = driver;
    const input = driver.createInputTopic<string, string>('in', serdes);
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'bad');
    expect(sink.calls).toEqual([]);
    driver.advanceWallClockTime(10);
    // 'bad' failed; run alone, 'a' comes out, once; 'bad' fails again alone at 20 ms.
    expect(sink.calls).toEqual([]);
    driver.advanceWallClockTime(10);
    expect(sink.calls).toEqual(['a']);
    expect(driver.deadLetters().map((d) => d.error.sourceOffset)).toEqual(['1']);
    await sink.finishAll(driver);
    expect(driver.committedOffset('in')).toBe(2);
  });
});

describe('pipe(): operators that subscribe to the step input in unusual ways', () => {
  it('subscribeOn: records pushed before the operators subscribe are not lost', async () => {
    const { driver, sink, input } = setup((stream) => stream.pipe(subscribeOn(asapScheduler)));
    input.pipeInput('k', 'a');
    input.pipeInput('k', 'b');
    await driver.tick();
    expect(sink.pending).toEqual(['a', 'b']);
    await sink.finishAll(driver);
    driver.flush();
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('an unbounded retry() over a record that always fails ends, dead-lettering it with the fix', () => {
    const { driver, input } = setup((stream) =>
      stream.pipe(
        map((r: StreamRecord<string, string>) => {
          if (r.value === 'bad') throw new Error('boom');
          return r;
        }),
        retry(),
      ),
    );
    input.pipeInput('k', 'bad');
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([expect.stringMatching(/subscribed to the step's input 100 times.*retry the inner work/)]);
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('repeat() on the whole step ends the epoch instead of looping', () => {
    const { driver, sink, input } = setup((stream) => stream.pipe(repeat()));
    input.pipeInput('k', 'a');
    expect(sink.pending).toEqual(['a']);
    driver.flush();
    expect(driver.deadLetters().map((d) => d.error.errorMessage)).toEqual([expect.stringMatching(/subscribed to the step's input again after it completed \(repeat/)]);
  });

  it('catchError(() => EMPTY) drops what it replaces, as in RxJS, and the next record still gets through', async () => {
    const { driver, sink, input } = setup((stream) =>
      stream.pipe(
        map((r: StreamRecord<string, string>) => {
          if (r.value === 'bad') throw new Error('boom');
          return r;
        }),
        catchError(() => EMPTY),
      ),
    );
    for (const v of ['a', 'bad', 'c']) input.pipeInput('k', v);
    expect(sink.pending).toEqual(['a', 'c']);
    await sink.finishAll(driver);
    driver.flush();
    expect(driver.committedOffset('in')).toBe(3);
  });
});
