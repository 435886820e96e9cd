/**
 * Hostile review: how long a failed epoch can hold its partition when the calls it makes hang.
 */
import { mergeMap, map, throwError, timer } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { StreamsBuilder, type StreamRecord } from '../../../src/index.ts';
import { TopologyTestDriver } from '../../../src/testing/index.ts';

const serdes = { keySerde: 'string', valueSerde: 'json' } as const;
type R = StreamRecord<string, string>;

describe('review: isolation after an error, with hung calls', () => {
  // README "Custom RxJS steps": "An epoch that has not completed completionTimeoutMs (default 30 s)
  // after it was ended (a hung call, mergeMap(() => NEVER)) is torn down and every record it still
  // holds goes to the error policy as timed out: nothing stalls".
  // Once one record of the epoch errors, the others are re-run ONE AT A TIME, each with its own
  // completionTimeoutMs: with a hung endpoint (calls in parallel in mergeMap) the partition is held
  // for N x completionTimeoutMs instead of completionTimeoutMs (1000 records x 30 s = 8 h with the
  // defaults), and through the window-based in-flight bound so is intake.
  it('a failed epoch of 20 hung calls is settled within ~completionTimeoutMs, not 20 x completionTimeoutMs', () => {
    const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
    builder
      .stream<string, string>('in')
      .transform(
        (context) => (source) =>
          source.pipe(
            mergeMap((r: R) => (r.value === 'bad' ? throwError(() => new Error('400 Bad Request')) : timer(3_600_000, context.scheduler).pipe(map(() => r)))), // a hung HTTP call
          ),
        { completionTimeoutMs: 1_000, maxHoldMs: 100 },
      )
      .to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in', serdes);
    for (let i = 0; i < 20; i++) input.pipeInput(`k${i}`, `v${i}`);
    input.pipeInput('kb', 'bad');
    driver.advanceWallClockTime(3_000); // maxHoldMs + completionTimeoutMs, with room to spare
    expect(driver.committedOffset('in')).toBe(21);
  });
});
