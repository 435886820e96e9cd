/**
 * Tumbling and hopping time windows for `groupByKey().windowedBy(...)`, as Kafka Streams'
 * `TimeWindows`. The exact semantics (epoch alignment, exclusive end, grace, late records) are
 * written down in `topology/windows.ts`. Checked at `build()`: size > 0, grace >= 0,
 * 0 < advance <= size.
 *
 * @example TimeWindows.ofSizeWithGrace(60_000, 5_000)                  // tumbling 1 min, 5 s grace
 * @example TimeWindows.ofSizeWithGrace(60_000, 0).advanceBy(10_000)    // hopping: 1 min every 10 s
 */
import type { WindowSpec } from '../topology/windows.ts';

export class TimeWindows {
  private constructor(readonly spec: WindowSpec) {}

  /** Tumbling windows of `sizeMs` that take records up to `graceMs` after they end. */
  static ofSizeWithGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows({ sizeMs, advanceMs: sizeMs, graceMs });
  }

  /** Tumbling windows of `sizeMs` that close as soon as stream time passes their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeWithGrace(sizeMs, 0);
  }

  /** Hopping windows: a new window starts every `advanceMs` (at most the size). */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows({ ...this.spec, advanceMs });
  }
}
