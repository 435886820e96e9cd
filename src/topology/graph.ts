/**
 * The topology graph: plain nodes with names, parents and what they do. The DSL builds it; the
 * runtime compiles one pipeline per input partition from it; `describe()` prints it.
 *
 * A processor node carries a factory that builds its RxJS operator for one task, so the graph stays
 * free of I/O and the same topology can run many tasks side by side.
 */
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { ErrorStage } from '../errors/dead-letter.ts';
import type { StreamRecord } from '../runtime/stream-record.ts';

/** Records as the wiring sees them: types are checked by the DSL, not here. */
export type AnyRecord = StreamRecord<unknown, unknown>;

/** What a node's operator can reach while it runs inside a task. */
export interface NodeContext {
  readonly nodeName: string;
  readonly taskId: string;
  /** Scheduler for time-based steps; virtual in the test driver. */
  readonly scheduler: SchedulerLike;
  /** Highest record timestamp this task has seen. */
  streamTime(): number;
  /**
   * Hands a record whose processing failed to the stage's error policy (dead-letter, continue or
   * fail). The record's lineage is released by the policy, so the caller must not release it.
   */
  fail(record: AnyRecord, error: unknown, stage?: ErrorStage): void;
  /**
   * Registers what to do when the task asks its steps to stop holding records (before a commit
   * under exactly-once, when the in-flight bound is reached, when the task closes): a step that
   * holds inputs emits or releases them. Returns the unregister function.
   */
  onFlush(callback: () => void): () => void;
  /**
   * True under exactly-once: a step must not pass on outputs it might have to take back (after an
   * error, its inputs are processed again), so it holds them until its inputs are settled.
   */
  readonly transactional: boolean;
}

export type { SerdeSpec } from '../serdes/serde-registry.ts';
import type { SerdeSpec } from '../serdes/serde-registry.ts';

interface NodeBase {
  readonly name: string;
  /** e.g. `map`, `filter`, `split`, `to`, `forEach`. */
  readonly type: string;
  readonly parents: readonly string[];
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly topic: string;
  /** Repartition topics are named `<applicationId>-<topic>` at run time. */
  readonly internal: boolean;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
}

export interface ProcessorNode extends NodeBase {
  readonly kind: 'processor';
  readonly build: (context: NodeContext) => OperatorFunction<AnyRecord, AnyRecord>;
}

/** Sends each record to exactly one of its children (by index), or to none (-1). */
export interface RouterNode extends NodeBase {
  readonly kind: 'router';
  readonly route: (record: AnyRecord) => number;
  /** Child node names, in the order `route` indexes them. */
  readonly routes: readonly string[];
}

export interface TopicSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'topic';
  readonly topic: string;
  readonly internal: boolean;
  readonly keySerde: SerdeSpec | undefined;
  readonly valueSerde: SerdeSpec | undefined;
  /** Partitions of an internal topic; default: as many as the topology's widest input topic. */
  readonly partitions?: number;
}

export interface ForEachSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'forEach';
  readonly action: (record: AnyRecord, call: { readonly signal: AbortSignal }) => Promise<void>;
  readonly concurrency: number;
  /** A call still running after this long counts as failed (production error policy). */
  readonly timeoutMs: number;
}

/** Sends every record that reaches it to the dead-letter topic, in the standard format, whatever the error policy. */
export interface DeadLetterSinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly sink: 'deadLetter';
  /** Why the record is dead-lettered; shown in `dlq.error.message`. */
  readonly reason: (record: AnyRecord) => string;
}

export type SinkNode = TopicSinkNode | ForEachSinkNode | DeadLetterSinkNode;
export type TopologyNode = SourceNode | ProcessorNode | RouterNode | SinkNode;
