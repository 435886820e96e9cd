/**
 * Record lineage: which input offsets a record in flight came from, and when an input offset is
 * finished so that it may be committed.
 *
 * Every input record becomes an `Origin` with a reference count. Each record in flight that was
 * derived from it holds one reference, and so does a step that holds the input itself (a `pipe()`
 * step until its operators can no longer emit anything derived from it). A step that drops a record
 * releases; a step that turns one record into N retains N-1 more; a sink releases when its output
 * is acknowledged. An origin whose count reaches zero is complete, and can never be retained again:
 * doing so is a bug in the runtime, and throws.
 *
 * `PartitionProgress` commits the highest contiguous completed offset. The records between that
 * point and the newest one taken in form the partition's window: they are what a crash re-reads, and
 * what the in-flight bound counts. A slow record holds back the commit of everything after it (and
 * so, through the bound, intake), never the other way round.
 */
import type { IncomingRecord } from '../transport/transport.ts';
import { instrumentationEnabled, publish } from './instrumentation.ts';

/** One input record, alive until everything derived from it is acknowledged. */
export class Origin {
  private refs = 1;
  private completed = false;

  constructor(
    readonly progress: PartitionProgress,
    readonly raw: IncomingRecord,
    /** `performance.now()` when it was taken in, if someone listened to runtime events then; else 0 (not measured). */
    readonly intakeAt = 0,
  ) {}

  get offset(): number {
    return this.raw.offset;
  }

  get isComplete(): boolean {
    return this.completed;
  }

  /** Takes `count` more references; the origin must still be alive. */
  retain(count = 1): void {
    if (this.completed) {
      throw new Error(`lineage bug: ${this.raw.topic}[${this.raw.partition}]@${this.raw.offset} was retained after it completed`);
    }
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

/** Whether every origin of the lineage is still alive (may be retained). */
export function isAlive(lineage: Lineage): boolean {
  return lineage.every((origin) => !origin.isComplete);
}

export interface ProgressListener {
  /** `count` records left this partition's window (the contiguous completed point moved past them, or the task closed). */
  onFreed(count: number): void;
}

/**
 * Offsets of one input topic-partition that are in the window (taken in, not yet passed by the
 * contiguous completed point), in arrival order, and the offset up to which everything is complete.
 */
export class PartitionProgress {
  private readonly pending: Origin[] = [];
  private head = 0;
  private nextToCommit: number | undefined;
  private closed = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly listener?: ProgressListener,
    /** The app whose records these are; with it, each record's processing latency is published when someone listens. */
    private readonly app?: string,
  ) {}

  /** Starts tracking an input record; offsets must arrive in increasing order. */
  track(raw: IncomingRecord): Origin {
    // The clock is read only when someone listens: without subscribers the hot path stays as it was.
    const origin = new Origin(this, raw, this.app !== undefined && instrumentationEnabled() ? performance.now() : 0);
    this.pending.push(origin);
    return origin;
  }

  /** Records in the window: taken in and not yet passed by the committable point. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** The next offset to read that may be committed, or undefined when nothing completed yet. */
  committable(): number | undefined {
    return this.nextToCommit;
  }

  /**
   * After a partition is revoked, completions no longer move the commit point. The completed records
   * of the window leave it now; the others leave it as they complete.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let freed = 0;
    for (let i = this.head; i < this.pending.length; i++) if (this.pending[i]?.isComplete) freed += 1;
    this.pending.length = 0;
    this.head = 0;
    if (freed > 0) this.listener?.onFreed(freed);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Origins still in flight (oldest first); used to dead-letter or report what a stall holds. */
  inFlightOrigins(): Origin[] {
    return this.pending.slice(this.head).filter((origin) => !origin.isComplete);
  }

  /** @internal called by Origin */
  onOriginComplete(origin: Origin): void {
    if (this.closed) {
      this.listener?.onFreed(1);
      return;
    }
    if (origin.intakeAt > 0 && this.app !== undefined && instrumentationEnabled()) {
      publish({ type: 'record.completed', app: this.app, topic: this.topic, partition: this.partition, latencyMs: performance.now() - origin.intakeAt });
    }
    const before = this.head;
    while (this.head < this.pending.length && this.pending[this.head]?.isComplete) {
      this.nextToCommit = (this.pending[this.head] as Origin).offset + 1;
      this.head += 1;
    }
    const freed = this.head - before;
    // Compact the array now and then so a long-running partition does not grow it forever.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (freed > 0) this.listener?.onFreed(freed);
  }
}
