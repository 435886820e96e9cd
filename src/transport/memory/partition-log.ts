import type { Headers, IncomingRecord } from '../transport.ts';
import type { TransactionMark } from './transaction-mark.ts';

/** What one partition keeps per offset: a record, or a transaction control marker (no record). */
interface LogEntry {
  readonly offset: number;
  /** Absent for a control marker, which takes an offset but is never delivered (as in Kafka). */
  readonly record?: IncomingRecord;
  /** Present when the record was written inside a transaction. */
  readonly mark?: TransactionMark;
}

/** A record to store; the log gives it its offset. */
export type UnplacedRecord = Omit<IncomingRecord, 'offset'>;

export type IsolationLevel = 'read_committed' | 'read_uncommitted';

export interface FetchOptions {
  readonly isolationLevel?: IsolationLevel;
  /** Stop once this many records are collected. */
  readonly maxRecords?: number;
  /** Stop once the records' bytes reach this; the first record is always returned whole. */
  readonly maxBytes?: number;
}

export interface FetchResult {
  readonly records: IncomingRecord[];
  /** Where the next fetch should start: past the records returned and any markers, aborted records or gaps skipped. */
  readonly nextOffset: number;
  /** The end of what this isolation level may read: the last stable offset for read_committed, else the high watermark. */
  readonly highWatermark: number;
}

/**
 * One partition's append-only log. Offsets only grow; compaction removes entries but never renumbers
 * the rest, so readers must expect gaps, exactly as on a compacted Kafka topic.
 */
export class PartitionLog {
  private entries: LogEntry[] = [];
  private next = 0;
  /** First offset each still-open transaction wrote here: the last stable offset is the smallest. */
  private readonly openTransactions = new Map<TransactionMark, number>();

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The offset the next record will get (Kafka's high watermark on a single replica). */
  get endOffset(): number {
    return this.next;
  }

  /** The first offset still in the log; above 0 once compaction removed the head. */
  get startOffset(): number {
    return this.entries[0]?.offset ?? this.next;
  }

  /** Offsets below this are decided: no open transaction wrote at or before them. */
  get lastStableOffset(): number {
    let stable = this.next;
    for (const first of this.openTransactions.values()) stable = Math.min(stable, first);
    return stable;
  }

  /** Stores a record at the next offset and returns it; `mark` when it belongs to a transaction. */
  append(record: UnplacedRecord, mark?: TransactionMark): number {
    const offset = this.next++;
    if (mark !== undefined && !this.openTransactions.has(mark)) this.openTransactions.set(mark, offset);
    this.entries.push({ offset, record: { ...record, offset }, ...(mark === undefined ? {} : { mark }) });
    return offset;
  }

  /** Writes the commit or abort marker that closes `mark` here; it takes an offset, like Kafka's. */
  appendMarker(mark: TransactionMark): number {
    const offset = this.next++;
    this.openTransactions.delete(mark);
    this.entries.push({ offset });
    return offset;
  }

  /** Reads from `fromOffset` (or the first entry after it) up to what the isolation level may see. */
  fetch(fromOffset: number, options: FetchOptions = {}): FetchResult {
    const committedOnly = (options.isolationLevel ?? 'read_committed') === 'read_committed';
    const limit = committedOnly ? this.lastStableOffset : this.next;
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const records: IncomingRecord[] = [];
    let bytes = 0;
    let nextOffset = Math.max(fromOffset, 0);
    for (let i = this.indexOf(nextOffset); i < this.entries.length; i++) {
      const entry = this.entries[i];
      if (entry === undefined || entry.offset >= limit) break;
      const record = entry.record;
      if (record !== undefined && !(committedOnly && entry.mark?.status === 'aborted')) {
        const size = recordBytes(record);
        if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes)) return { records, nextOffset, highWatermark: limit };
        records.push(record);
        bytes += size;
      }
      nextOffset = entry.offset + 1;
    }
    // Nothing more is readable below the limit, so a reader can skip straight to it.
    return { records, nextOffset: Math.max(nextOffset, limit), highWatermark: limit };
  }

  /**
   * Keeps only the latest record per key below the last stable offset; a key whose latest value is
   * null (a tombstone) disappears entirely, and aborted records and markers go too. Returns how many
   * entries were removed.
   */
  compact(): number {
    const stable = this.lastStableOffset;
    const latest = new Map<string, number>();
    for (const entry of this.entries) {
      if (entry.offset >= stable) break;
      if (entry.record?.key != null && entry.mark?.status !== 'aborted') latest.set(entry.record.key.toString('latin1'), entry.offset);
    }
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => {
      if (entry.offset >= stable) return true;
      const record = entry.record;
      if (record === undefined || entry.mark?.status === 'aborted') return false;
      // Kafka refuses keyless records on compacted topics; any that predate the policy stay put.
      if (record.key === null) return true;
      return latest.get(record.key.toString('latin1')) === entry.offset && record.value !== null;
    });
    return before - this.entries.length;
  }

  /**
   * Removes the entries below `offset`, never past the last stable offset (an open transaction's
   * records stay), as Kafka's DeleteRecords moves a partition's log start offset. Offsets are kept;
   * a reader positioned below the new start continues at the first entry left. Returns how many
   * entries were removed.
   */
  deleteBefore(offset: number): number {
    const removed = this.indexOf(Math.min(offset, this.lastStableOffset));
    this.entries.splice(0, removed);
    return removed;
  }

  /** Index of the first entry at or after `offset` (entries are sorted, possibly with gaps). */
  private indexOf(offset: number): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.entries[middle]?.offset ?? Number.POSITIVE_INFINITY) < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Rough wire size of a record, enough to bound a fetch the way `maxBytesPerPartition` does on Kafka. */
export function recordBytes(record: { readonly key: Buffer | null; readonly value: Buffer | null; readonly headers: Headers }): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) size += Buffer.byteLength(name) + value.length;
  return size;
}
