import { bufferCount, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, combineRecords } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

interface Rating {
  id: string;
  score: number;
}

describe('TopologyTestDriver', () => {
  it('runs map/filter/to synchronously and commits the input offsets', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, Rating>('ratings')
      .filter((_key, rating) => rating.score >= 3)
      .mapValues((rating) => ({ ...rating, good: true }))
      .to('good');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, Rating>('ratings', { keySerde: 'string', valueSerde: 'json' });
    const output = driver.createOutputTopic<string, Rating & { good: boolean }>('good', { keySerde: 'string', valueSerde: 'json' });
    input.pipeInput('a', { id: 'a', score: 5 });
    input.pipeInput('b', { id: 'b', score: 1 });
    input.pipeInput('c', { id: 'c', score: 3 });
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: { id: 'a', score: 5, good: true } },
      { key: 'c', value: { id: 'c', score: 3, good: true } },
    ]);
    expect(driver.committedOffset('ratings')).toBe(3);
  });

  it('dead-letters a record whose bytes are not JSON and goes on with the next', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder.stream<string, Rating>('ratings').to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, Rating>('ratings', { keySerde: 'string', valueSerde: 'json' });
    input.pipeInput('a', { id: 'a', score: 5 });
    input.pipeRaw(Buffer.from('bad'), Buffer.from('{not json'), { headers: { trace: Buffer.from('t-1') } });
    input.pipeInput('c', { id: 'c', score: 3 });
    const out = driver.createOutputTopic<string, Rating>('out', { keySerde: 'string', valueSerde: 'json' });
    expect(out.readValuesToList().map((v) => v?.id)).toEqual(['a', 'c']);
    const [dead] = driver.deadLetters();
    expect(driver.deadLetters()).toHaveLength(1);
    expect(dead?.value?.toString()).toBe('{not json');
    expect(dead?.key?.toString()).toBe('bad');
    expect(dead?.headers['trace']?.toString()).toBe('t-1');
    expect(dead?.error).toMatchObject({
      errorClass: 'DeserializationError',
      errorCode: 'DESERIALIZATION_FAILED',
      errorStage: 'deserialization',
      sourceTopic: 'ratings',
      sourcePartition: '0',
      sourceOffset: '1',
      node: 'KSTREAM-SOURCE-0000000000',
    });
    expect(driver.committedOffset('ratings')).toBe(3);
  });

  it('holds the commit while a buffering pipe() step holds records, until its epoch completes', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, number>('numbers')
      .pipe(
        bufferCount(3),
        map((batch) => combineRecords(batch, { key: 'sum', value: batch.reduce((sum, r) => sum + (r.value as number), 0) })),
      )
      .to('sums');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('numbers', { keySerde: 'string', valueSerde: 'json' });
    const sums = driver.createOutputTopic<string, number>('sums', { keySerde: 'string', valueSerde: 'json' });
    input.pipeInput('k', 1);
    input.pipeInput('k', 2);
    expect(sums.isEmpty()).toBe(true);
    expect(driver.committedOffset('numbers')).toBeUndefined();
    input.pipeInput('k', 3);
    input.pipeInput('k', 4);
    expect(sums.readValuesToList()).toEqual([6]);
    // The operators could still emit something derived from 1..4 until their epoch completes.
    expect(driver.committedOffset('numbers')).toBeUndefined();
    // Ending the epoch completes the operators: bufferCount emits the partial batch it holds.
    driver.flush();
    expect(sums.readValuesToList()).toEqual([4]);
    expect(driver.committedOffset('numbers')).toBe(4);
  });
});
