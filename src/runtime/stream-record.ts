/**
 * The immutable record that flows through a topology. `withKey` / `withValue` / `withHeaders` /
 * `withTimestamp` derive a new record that keeps the lineage (the input offsets it came from), which
 * is what lets the runtime commit an input offset only once everything derived from it is done.
 *
 * In a custom RxJS step (`KStream.pipe`), derive outputs from inputs with these methods, or with
 * `combineRecords` when several inputs become one output (e.g. after `bufferCount`).
 */
import type { Headers } from '../transport/transport.ts';
import type { Lineage } from './lineage.ts';

export interface RecordSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export class StreamRecord<K, V> {
  constructor(
    readonly key: K | null,
    readonly value: V,
    readonly headers: Headers,
    readonly timestamp: number,
    /** Where the record's first input came from. */
    readonly source: RecordSource,
    /** @internal the origins this record holds a reference on. */
    readonly lineage: Lineage,
    /** @internal sequence numbers a custom step gave the inputs this record was derived from. */
    readonly stamps: readonly number[] = [],
  ) {}

  withKey<K2>(key: K2 | null): StreamRecord<K2, V> {
    return new StreamRecord(key, this.value, this.headers, this.timestamp, this.source, this.lineage, this.stamps);
  }

  withValue<V2>(value: V2): StreamRecord<K, V2> {
    return new StreamRecord(this.key, value, this.headers, this.timestamp, this.source, this.lineage, this.stamps);
  }

  withHeaders(headers: Headers): StreamRecord<K, V> {
    return new StreamRecord(this.key, this.value, headers, this.timestamp, this.source, this.lineage, this.stamps);
  }

  withTimestamp(timestamp: number): StreamRecord<K, V> {
    return new StreamRecord(this.key, this.value, this.headers, timestamp, this.source, this.lineage, this.stamps);
  }

  /** @internal */
  withLineage(lineage: Lineage, stamps: readonly number[] = this.stamps): StreamRecord<K, V> {
    return new StreamRecord(this.key, this.value, this.headers, this.timestamp, this.source, lineage, stamps);
  }
}

/**
 * One record made of several: it depends on every input's offsets, so none of them is committed
 * before the combined record is done. Takes the newest timestamp and the first record's headers.
 *
 * @example
 * stream.pipe(bufferCount(10), map((batch) => combineRecords(batch, { key: null, value: batch.map((r) => r.value) })))
 */
export function combineRecords<K, V>(
  records: readonly StreamRecord<unknown, unknown>[],
  output: { readonly key: K | null; readonly value: V; readonly headers?: Headers },
): StreamRecord<K, V> {
  const first = records[0];
  if (first === undefined) throw new RangeError('combineRecords needs at least one record');
  return new StreamRecord(
    output.key,
    output.value,
    output.headers ?? first.headers,
    Math.max(...records.map((r) => r.timestamp)),
    first.source,
    records.flatMap((r) => r.lineage),
    records.flatMap((r) => r.stamps),
  );
}

export function isStreamRecord(value: unknown): value is StreamRecord<unknown, unknown> {
  return value instanceof StreamRecord;
}
