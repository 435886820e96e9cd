/**
 * Exactly-once output: records wait here until a commit puts them into the same Kafka transaction
 * as the input offsets they were derived from. A record is acknowledged (its lineage released) as
 * soon as it is buffered, which lets its input offsets become committable; the commit then takes
 * exactly the records whose inputs all lie below the offsets it commits, so a transaction never
 * holds an output without its input offset, nor an offset without its outputs.
 */
import type { OutgoingRecord } from '../transport/transport.ts';
import { releaseLineage, type Lineage, type Origin } from './lineage.ts';
import type { RecordOutput } from './record-output.ts';

interface Buffered {
  readonly record: OutgoingRecord;
  readonly origins: readonly Origin[];
}

export class TransactionalOutput implements RecordOutput {
  private buffered: Buffered[] = [];

  write(record: OutgoingRecord, lineage: Lineage, _onError: (error: Error) => void): void {
    // Failures surface when the transaction commits; the whole transaction is then retried from the
    // last committed offsets, so there is no per-record error path here.
    this.buffered.push({ record, origins: [...lineage] });
    releaseLineage(lineage);
  }

  /**
   * Removes and returns the records whose every input offset is below `committable` of its
   * partition (as returned for the offsets about to be committed). Records of partitions that
   * were closed are dropped: their inputs will be read again by whoever owns them now.
   */
  takeCommittable(committable: (origin: Origin) => boolean): OutgoingRecord[] {
    const ready: OutgoingRecord[] = [];
    const keep: Buffered[] = [];
    for (const entry of this.buffered) {
      if (entry.origins.some((origin) => origin.progress.isClosed)) continue;
      if (entry.origins.every(committable)) ready.push(entry.record);
      else keep.push(entry);
    }
    this.buffered = keep;
    return ready;
  }

  /** Forgets everything buffered (after an aborted transaction). */
  discard(): void {
    this.buffered = [];
  }

  get size(): number {
    return this.buffered.length;
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.buffered = [];
  }
}
