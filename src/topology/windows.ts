/**
 * Time windows, as in Kafka Streams' `TimeWindows`: the plain data an aggregate node carries and the
 * two pure functions the runtime decides with.
 *
 * Semantics, precisely:
 * - Windows are aligned to the epoch: window starts are the multiples of `advanceMs` (0, advance,
 *   2 * advance, ...), whatever the first record's timestamp.
 * - A window covers `[start, start + sizeMs)`: the start is inclusive, the end exclusive.
 * - Tumbling windows have `advanceMs === sizeMs`; hopping windows `advanceMs < sizeMs`, and a record
 *   belongs to every window that contains its timestamp (`sizeMs / advanceMs` of them, fewer near 0).
 * - A window closes when the task's stream time (the highest record timestamp it has seen) reaches
 *   `end + graceMs`. A record arriving for a closed window does not update it; a record all of whose
 *   windows are closed is dropped and counted as late.
 * - Timestamps are milliseconds since the epoch and must not be negative (Kafka Streams drops such
 *   records too): `windowsFor` gives none for them.
 */

export interface WindowSpec {
  /** Length of a window in milliseconds; > 0. */
  readonly sizeMs: number;
  /** Distance between window starts; 0 < advance <= size (equal: tumbling). */
  readonly advanceMs: number;
  /** How long after its end a window still takes late records; >= 0. */
  readonly graceMs: number;
}

/** A window's bounds: `start` inclusive, `end` exclusive, in milliseconds since the epoch. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** The key of a windowed aggregation's result: the grouping key and its window. */
export interface Windowed<K> {
  readonly key: K;
  readonly window: TimeWindow;
}

/**
 * The starts of every window containing `timestamp`, earliest first.
 *
 * @example windowsFor(12_000, { sizeMs: 10_000, advanceMs: 5_000, graceMs: 0 }) // [5000, 10000]
 */
export function windowsFor(timestamp: number, spec: WindowSpec): number[] {
  if (!Number.isFinite(timestamp) || timestamp < 0) return [];
  const { sizeMs, advanceMs } = spec;
  // The earliest window still containing the timestamp starts after timestamp - size.
  const earliest = Math.max(0, timestamp - sizeMs + advanceMs);
  const starts: number[] = [];
  for (let start = Math.floor(earliest / advanceMs) * advanceMs; start <= timestamp; start += advanceMs) {
    if (start + sizeMs > timestamp) starts.push(start);
  }
  return starts;
}

/** The window starting at `start`. */
export function windowAt(start: number, spec: WindowSpec): TimeWindow {
  return { start, end: start + spec.sizeMs };
}

/**
 * Whether the window starting at `windowStart` is closed at `streamTime`: its end plus the grace
 * period has been reached. A closed window takes no more records, and its final result can be
 * emitted.
 */
export function isClosed(windowStart: number, spec: WindowSpec, streamTime: number): boolean {
  return streamTime >= windowStart + spec.sizeMs + spec.graceMs;
}
