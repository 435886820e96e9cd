/**
 * Hostile review: attacks that did NOT break a promise (these pass; kept as evidence).
 */
import { EMPTY, bufferCount, exhaustMap, expand, filter, map, mergeMap, of, pairwise, share, merge, timer, toArray, windowCount } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, combineRecords, type KStream, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
type R = StreamRecord<string, unknown>;

function setup(shape: (s: KStream<string, unknown>) => KStream<string, unknown>, errorPolicy?: { processing: 'fail' | 'continue' | 'dead-letter' }) {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  shape(builder.stream<string, unknown>('in')).to('out');
  const driver = new TopologyTestDriver(builder.build(), errorPolicy ? { errorPolicy } : {});
  return { driver, input: driver.createInputTopic<string, unknown>('in', serdes), output: driver.createOutputTopic<string, unknown>('out', serdes) };
}

describe('review: held up', () => {
  it('the same record emitted twice: two outputs, committed after both', () => {
    const { driver, input, output } = setup((s) => s.pipe(mergeMap((r: R) => [r, r])));
    input.pipeInput('k', 'a');
    driver.flush();
    expect(output.readValuesToList()).toEqual(['a', 'a']);
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('windowCount + mergeMap(toArray) + combineRecords, pairwise, expand, share/merge, exhaustMap', () => {
    const shapes: Array<(s: KStream<string, unknown>) => KStream<string, unknown>> = ([
      (s) => s.pipe(windowCount(2), mergeMap((w) => w.pipe(toArray())), filter((b: R[]) => b.length > 0), map((b: R[]) => combineRecords(b, { key: 'w', value: b.map((r) => r.value) }))),
      (s) => s.pipe(pairwise(), map(([a, b]: [R, R]) => combineRecords([a, b], { key: 'p', value: [a.value, b.value] }))),
      (s) => s.pipe(expand((r: R) => ((r.value as number) > 0 ? of(r.withValue((r.value as number) - 1)) : EMPTY))),
      (s) => s.pipe((src) => { const sh = src.pipe(share()); return merge(sh.pipe(filter((r: R) => r.value === 1)), sh.pipe(filter((r: R) => r.value !== 1))); }),
      (s) => s.transform((ctx) => (src) => src.pipe(exhaustMap((r: R) => timer(10, ctx.scheduler).pipe(map(() => r)))) as never),
      (s) => s.pipe(bufferCount(100), map((b: R[]) => combineRecords([...b, ...b], { key: 'dup', value: b.length }))),
    ] as Array<(s: KStream<string, unknown>) => KStream<string, unknown[] | number | unknown>>) as never;
    for (const shape of shapes) {
      const { driver, input, output } = setup(shape);
      for (const v of [1, 2, 3]) input.pipeInput('k', v);
      driver.advanceWallClockTime(60_000);
      driver.flush();
      expect(driver.committedOffset('in')).toBe(3);
      expect(driver.deadLetters()).toEqual([]);
      expect(output.readValuesToList().length).toBeGreaterThan(0);
    }
  });

  it('null keys and values pass through pipe()', () => {
    const { driver, input, output } = setup((s) => s.pipe(map((r: R) => r.withValue(r.value))));
    input.pipeInput(null, null);
    driver.flush();
    expect(output.readKeyValuesToList()).toEqual([{ key: null, value: null }]);
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('deadLetter() dead-letters whatever the processing policy (continue)', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>('in').deadLetter({ reason: (_k, v) => `value ${v} rejected` });
    const driver = new TopologyTestDriver(builder.build(), { errorPolicy: { processing: 'continue' } });
    driver.createInputTopic<string, number>('in', serdes).pipeInput('k', 7);
    expect(driver.deadLetters().map((d) => [d.error.errorCode, d.error.errorMessage])).toEqual([['RECORD_REJECTED', 'KSTREAM-DEADLETTER-0000000001: value 7 rejected']]);
    expect(driver.committedOffset('in')).toBe(1);
  });

  it('an error thrown for one record inside a batch lands on that record only', () => {
    const { driver, input, output } = setup((s) =>
      s.pipe(bufferCount(3), mergeMap((b: R[]) => b.map((r) => { if (r.value === 'bad') throw new Error('bad'); return r; }))),
    );
    for (const v of ['a', 'bad', 'c']) input.pipeInput('k', v);
    driver.flush();
    expect(output.readValuesToList()).toEqual(['a', 'c']);
    expect(driver.deadLetters().map((d) => d.error.sourceOffset)).toEqual(['1']);
    expect(driver.committedOffset('in')).toBe(3);
  });
});
