import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClosed, StreamsBuilder, TimeWindows, TopologyError, windowsFor, type WindowSpec, type WindowsArgument } from '../../../src/index.ts';

const tumbling: WindowSpec = { sizeMs: 10_000, advanceMs: 10_000, graceMs: 0 };
const hopping: WindowSpec = { sizeMs: 10_000, advanceMs: 5_000, graceMs: 2_000 };

describe('windowsFor()', () => {
  it('puts a record in the one tumbling window containing it, aligned to the epoch', () => {
    expect(windowsFor(0, tumbling)).toEqual([0]);
    expect(windowsFor(9_999, tumbling)).toEqual([0]);
    expect(windowsFor(10_000, tumbling)).toEqual([10_000]);
    expect(windowsFor(123_456, tumbling)).toEqual([120_000]);
  });

  it('puts a record in every hopping window containing it (end exclusive), fewer near the epoch', () => {
    expect(windowsFor(12_000, hopping)).toEqual([5_000, 10_000]);
    expect(windowsFor(15_000, hopping)).toEqual([10_000, 15_000]);
    expect(windowsFor(3_000, hopping)).toEqual([0]);
    expect(windowsFor(12, { sizeMs: 10, advanceMs: 3, graceMs: 0 })).toEqual([3, 6, 9, 12]);
  });

  it('gives no window to a negative timestamp', () => {
    expect(windowsFor(-1, tumbling)).toEqual([]);
  });

  it('gives exactly the aligned windows that contain the timestamp (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 20 }), (timestamp, advance, factor) => {
        const spec = { sizeMs: advance * factor + (timestamp % advance), advanceMs: advance, graceMs: 0 };
        const starts = windowsFor(timestamp, spec);
        for (const start of starts) {
          expect(start % advance).toBe(0);
          expect(start <= timestamp && timestamp < start + spec.sizeMs).toBe(true);
        }
        const first = starts[0] ?? 0;
        // The window before the first one no longer contains the timestamp (or would start before the epoch).
        expect(first - advance < 0 || first - advance + spec.sizeMs <= timestamp).toBe(true);
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
      }),
    );
  });
});

describe('isClosed()', () => {
  it('closes a window when stream time reaches its end plus the grace period', () => {
    expect(isClosed(10_000, hopping, 21_999)).toBe(false);
    expect(isClosed(10_000, hopping, 22_000)).toBe(true);
    expect(isClosed(0, tumbling, 9_999)).toBe(false);
    expect(isClosed(0, tumbling, 10_000)).toBe(true);
  });
});

describe('TimeWindows', () => {
  it('describes tumbling and hopping windows as plain data', () => {
    expect(TimeWindows.ofSizeWithGrace(60_000, 5_000).spec).toEqual({ sizeMs: 60_000, advanceMs: 60_000, graceMs: 5_000 });
    expect(TimeWindows.ofSizeWithNoGrace(60_000).advanceBy(10_000).spec).toEqual({ sizeMs: 60_000, advanceMs: 10_000, graceMs: 0 });
  });
});

function windowError(windows: WindowsArgument): TopologyError {
  const builder = new StreamsBuilder({ defaultKeySerde: 'string', defaultValueSerde: 'json' });
  builder.stream('in').groupByKey().windowedBy(windows).count({ name: 'per-minute' });
  try {
    builder.build();
  } catch (error) {
    expect(error).toBeInstanceOf(TopologyError);
    return error as TopologyError;
  }
  throw new Error('build() did not throw');
}

describe('window validation at build()', () => {
  it('names the node and the option of a bad window', () => {
    expect(windowError(TimeWindows.ofSizeWithGrace(0, 0)).message).toMatch(/per-minute: option windows.size must be a positive number of milliseconds \(got 0\)/);
    expect(windowError(TimeWindows.ofSizeWithGrace(1000, -1)).message).toMatch(/per-minute: option windows.grace must be 0 or more milliseconds \(got -1\)/);
    expect(windowError(TimeWindows.ofSizeWithNoGrace(1000).advanceBy(2000)).message).toMatch(/per-minute: option windows.advance must not exceed the window size 1000 \(got 2000\)/);
    expect(windowError({ sizeMs: 1000, advanceMs: 0 }).message).toMatch(/per-minute: option windows.advance must be a positive number/);
  });
});
