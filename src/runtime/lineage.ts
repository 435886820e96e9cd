/**
 * Record lineage: which input offsets a record in flight came from, and when an input offset is
 * finished so that it may be committed.
 *
 * Every input record becomes an `Origin` with a reference count. Each record in flight that was
 * derived from it holds one reference. A step that drops a record releases; a step that turns one
 * record into N retains N-1 more; a sink releases when its output is acknowledged. An origin whose
 * count reaches zero is complete. `PartitionProgress` commits the highest contiguous completed
 * offset, so a slow record holds back the commit of everything after it, never the other way round.
 */
import type { IncomingRecord } from '../transport/transport.ts';

/** One input record, alive until everything derived from it is acknowledged. */
export class Origin {
  private refs = 1;
  private completed = false;

  constructor(
    readonly progress: PartitionProgress,
    readonly raw: IncomingRecord,
  ) {}

  get offset(): number {
    return this.raw.offset;
  }

  get isComplete(): boolean {
    return this.completed;
  }

  retain(count = 1): void {
    if (this.completed) return;
    this.refs += count;
  }

  release(): void {
    if (this.completed) return;
    this.refs -= 1;
    if (this.refs <= 0) {
      this.completed = true;
      this.progress.onOriginComplete(this);
    }
  }
}

/** The input offsets a record depends on; one reference per entry. */
export type Lineage = readonly Origin[];

export function retainLineage(lineage: Lineage, count = 1): void {
  if (count <= 0) return;
  for (const origin of lineage) origin.retain(count);
}

export function releaseLineage(lineage: Lineage): void {
  for (const origin of lineage) origin.release();
}

export interface ProgressListener {
  /** An origin of this partition completed (the in-flight count dropped by one). */
  onComplete(progress: PartitionProgress): void;
}

/**
 * Offsets of one input topic-partition that are in flight, in arrival order, and the offset up to
 * which everything is complete.
 */
export class PartitionProgress {
  private readonly pending: Origin[] = [];
  private head = 0;
  private nextToCommit: number | undefined;
  private closed = false;
  private tracked = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly listener?: ProgressListener,
  ) {}

  /** Starts tracking an input record; offsets must arrive in increasing order. */
  track(raw: IncomingRecord): Origin {
    const origin = new Origin(this, raw);
    this.pending.push(origin);
    this.tracked += 1;
    return origin;
  }

  /** Records tracked and not yet complete. */
  get inFlight(): number {
    return this.tracked;
  }

  /** The next offset to read that may be committed, or undefined when nothing completed yet. */
  committable(): number | undefined {
    return this.nextToCommit;
  }

  /** After a partition is revoked, completions no longer move the commit point. */
  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Origins still in flight (oldest first); used to dead-letter or report what a stall holds. */
  inFlightOrigins(): Origin[] {
    return this.pending.slice(this.head).filter((origin) => !origin.isComplete);
  }

  /** @internal called by Origin */
  onOriginComplete(_origin: Origin): void {
    this.tracked -= 1;
    if (!this.closed) {
      while (this.head < this.pending.length && this.pending[this.head]?.isComplete) {
        this.nextToCommit = (this.pending[this.head] as Origin).offset + 1;
        this.head += 1;
      }
      // Compact the array now and then so a long-running partition does not grow it forever.
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
    }
    this.listener?.onComplete(this);
  }
}
