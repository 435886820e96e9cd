/**
 * Hostile review: a record that belongs to another task's epoch is accepted as an output.
 */
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
type R = StreamRecord<string, string>;

describe('review: outputs not derived from the epoch inputs', () => {
  // README "Custom RxJS steps": "Each output must be derived from the epoch's inputs
  // (record.withValue() / withKey() / combineRecords(); anything else is dead-lettered with how to
  // fix it)" and "Not supported: keeping records across epochs in your own variables and emitting
  // them later (refused as "not derived from the inputs it holds")".
  // The check compares per-step sequence numbers ("stamps"), which every task numbers from 0, and
  // that the lineage is alive; a record kept from partition 0's task passes as an output of
  // partition 1's task (same stamp 0): it is written with partition 0's data and lineage, while the
  // partition-1 input it replaced is silently committed with no output and no dead letter.
  it('a record kept from another partition is refused, not written in place of this one', () => {
    let kept: R | undefined;
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, string>('in')
      .pipe(map((r: R) => (r.source.partition === 0 ? (kept = r) : (kept ?? r))))
      .to('out');
    const driver = new TopologyTestDriver(builder.build(), { defaultPartitions: 2 });
    const input = driver.createInputTopic<string, string>('in', serdes);
    const output = driver.createOutputTopic<string, string>('out', serdes);
    input.pipeInput('a', 'from-p0', { partition: 0 });
    input.pipeInput('b', 'from-p1', { partition: 1 });
    driver.flush();
    // p1's output is the p0 record: expected a dead letter for the p1 input instead.
    expect(output.readValuesToList()).toEqual(['from-p0']);
    expect(driver.deadLetters().map((d) => d.error.sourcePartition)).toEqual(['1']);
  });
});
