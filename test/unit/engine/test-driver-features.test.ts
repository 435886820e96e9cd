import { bufferTime, filter, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, combineRecords, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;

describe('TopologyTestDriver features', () => {
  it('runs time-based steps on virtual wall-clock time', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, number>('in')
      .transform((context) => (source) =>
        source.pipe(
          bufferTime(1_000, context.scheduler),
          filter((batch) => batch.length > 0),
          map((batch: StreamRecord<string, number>[]) => combineRecords(batch, { key: 'window', value: batch.map((r) => r.value) })),
        ),
      )
      .to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('in', serdes);
    const out = driver.createOutputTopic<string, number[]>('out', serdes);
    input.pipeInput('a', 1);
    input.pipeInput('b', 2);
    driver.advanceWallClockTime(999);
    expect(out.isEmpty()).toBe(true);
    expect(driver.committedOffset('in')).toBeUndefined();
    driver.advanceWallClockTime(1);
    expect(out.readKeyValuesToList()).toEqual([{ key: 'window', value: [1, 2] }]);
    expect(driver.committedOffset('in')).toBe(2);
    expect(driver.wallClockTime).toBe(1_000);
  });

  it('tracks stream time from record timestamps', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>('in').to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('in', serdes);
    input.pipeInput('a', 1, { timestamp: 5_000 });
    input.pipeInput('a', 2, { timestamp: 3_000 });
    expect(driver.streamTime).toBe(5_000);
  });

  it('dead-letters a record whose mapper throws, naming the node, and keeps going', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, { n: number }>('in')
      .mapValues(
        (value) => {
          if (value.n === 2) throw new TypeError('two is not allowed');
          return value.n * 10;
        },
        { name: 'times-ten' },
      )
      .to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, { n: number }>('in', serdes);
    for (const n of [1, 2, 3]) input.pipeInput(`k${n}`, { n });
    expect(driver.createOutputTopic<string, number>('out', serdes).readValuesToList()).toEqual([10, 30]);
    const [dead] = driver.deadLetters();
    expect(dead?.error).toMatchObject({ errorClass: 'ProcessingError', causeClass: 'TypeError', node: 'times-ten', sourceOffset: '1', errorStage: 'processing' });
    expect(dead?.error.errorMessage).toContain('two is not allowed');
    expect(JSON.parse(dead?.value?.toString() ?? '{}')).toEqual({ n: 2 });
    expect(driver.committedOffset('in')).toBe(3);
  });

  it('with the fail policy, throws from pipeInput and commits nothing past the failed record', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, number>('in')
      .filter((_k, n) => {
        if (n === 3) throw new Error('boom');
        return true;
      })
      .to('out');
    const driver = new TopologyTestDriver(builder.build(), { errorPolicy: { processing: 'fail' } });
    const input = driver.createInputTopic<string, number>('in', serdes);
    input.pipeInput('a', 1);
    input.pipeInput('a', 2);
    expect(() => input.pipeInput('a', 3)).toThrow(/boom/);
    expect(driver.committedOffset('in')).toBe(2);
    expect(driver.deadLetters()).toEqual([]);
  });

  it('with the continue policy, skips the failed record without a dead letter', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, number>('in')
      .mapValues((n) => {
        if (n === 1) throw new Error('skip me');
        return n;
      })
      .to('out');
    const driver = new TopologyTestDriver(builder.build(), { errorPolicy: { processing: 'continue' } });
    const input = driver.createInputTopic<string, number>('in', serdes);
    input.pipeInput('a', 1);
    input.pipeInput('a', 2);
    expect(driver.createOutputTopic<string, number>('out', serdes).readValuesToList()).toEqual([2]);
    expect(driver.deadLetters()).toEqual([]);
    expect(driver.committedOffset('in')).toBe(2);
  });

  it('acknowledges forEach records when their promise resolves and dead-letters rejections', async () => {
    const seen: number[] = [];
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, number>('in').forEach(
      async (_key, n) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (n === 2) throw new Error('endpoint said 400');
        seen.push(n);
      },
      { name: 'agent', concurrency: 2 },
    );
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('in', serdes);
    for (const n of [1, 2, 3, 4]) input.pipeInput('k', n);
    expect(driver.committedOffset('in')).toBeUndefined();
    await driver.settle();
    expect(seen.sort()).toEqual([1, 3, 4]);
    expect(driver.deadLetters().map((d) => d.error)).toEqual([expect.objectContaining({ node: 'agent', errorCode: 'SINK_FAILED', errorStage: 'production' })]);
    driver.advanceWallClockTime(0);
    expect(driver.committedOffset('in')).toBe(4);
  });

  it('feeds repartition topics back in, so records regroup by their new key', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, { user: string }>('in')
      .selectKey((_k, v) => v.user)
      .repartition({ name: 'by-user', partitions: 4 })
      .mapValues((v, record) => ({ ...v, partition: record.source.partition }))
      .to('out');
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const input = driver.createInputTopic<string, { user: string }>('in', serdes);
    for (let i = 0; i < 20; i++) input.pipeInput(`r${i}`, { user: `u${i % 5}` });
    const out = driver.createOutputTopic<string, { user: string; partition: number }>('out', serdes).readKeyValuesToList();
    expect(out).toHaveLength(20);
    const partitionOf = new Map<string, number>();
    for (const { key, value } of out) {
      expect(key).toBe(value?.user);
      expect(partitionOf.get(key as string) ?? value?.partition).toBe(value?.partition);
      partitionOf.set(key as string, value?.partition as number);
    }
    expect(driver.broker.hasTopic('app-by-user-repartition')).toBe(true);
  });
});
