/**
 * The runtime's one instrumentation channel, on `node:diagnostics_channel`: publishing costs a
 * property check when nobody subscribes. Metrics, health checks and tests subscribe to it.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ErrorStage } from '../errors/dead-letter.ts';
import type { TopicPartition, TopicPartitionOffset } from '../transport/transport.ts';

export const RUNTIME_CHANNEL = 'rating-streams.runtime';

/** `restoring`: running, but some table or store is still being rebuilt; records waiting for it are held. */
export type AppState = 'created' | 'starting' | 'restoring' | 'running' | 'stopping' | 'stopped' | 'failed';

export type RuntimeEvent =
  | { readonly type: 'records.in'; readonly app: string; readonly topic: string; readonly partition: number; readonly count: number }
  | { readonly type: 'node.out'; readonly app: string; readonly node: string; readonly count: number }
  | { readonly type: 'records.written'; readonly app: string; readonly count: number }
  /**
   * One input record is done (everything derived from it was written, dead-lettered or dropped):
   * milliseconds since it was taken in. Only for records taken in while someone listened.
   */
  | { readonly type: 'record.completed'; readonly app: string; readonly topic: string; readonly partition: number; readonly latencyMs: number }
  | { readonly type: 'commit'; readonly app: string; readonly offsets: readonly TopicPartitionOffset[] }
  | { readonly type: 'commit.failed'; readonly app: string; readonly error: Error }
  | { readonly type: 'rebalance'; readonly app: string; readonly change: 'assigned' | 'revoked'; readonly partitions: readonly TopicPartition[] }
  | {
      readonly type: 'dead-letter';
      readonly app: string;
      readonly node: string;
      readonly stage: ErrorStage;
      readonly code: string;
      readonly topic: string;
      readonly partition: number;
      readonly offset: number;
    }
  | { readonly type: 'record.skipped'; readonly app: string; readonly node: string; readonly stage: ErrorStage; readonly code: string }
  | { readonly type: 'lag'; readonly app: string; readonly topic: string; readonly partition: number; readonly lag: number }
  | { readonly type: 'in-flight'; readonly app: string; readonly inFlight: number; readonly paused: boolean }
  | { readonly type: 'state'; readonly app: string; readonly from: AppState; readonly to: AppState }
  | { readonly type: 'error'; readonly app: string; readonly error: Error }
  /** How far a table, global table or aggregation store is rebuilt: offsets read and to read in one partition. */
  | {
      readonly type: 'restore';
      readonly app: string;
      readonly store: string;
      readonly topic: string;
      readonly partition: number;
      readonly restored: number;
      readonly total: number;
      readonly done: boolean;
    };

const channel = diagnostics.channel(RUNTIME_CHANNEL);

/** True when someone listens; check it before building an event that costs something to make. */
export function instrumentationEnabled(): boolean {
  return channel.hasSubscribers;
}

export function publish(event: RuntimeEvent): void {
  if (channel.hasSubscribers) channel.publish(event);
}

/** Calls `listener` with every runtime event of every app in this process; returns the unsubscribe. */
export function subscribeRuntimeEvents(listener: (event: RuntimeEvent) => void): () => void {
  const handler = (message: unknown) => listener(message as RuntimeEvent);
  diagnostics.subscribe(RUNTIME_CHANNEL, handler);
  return () => {
    diagnostics.unsubscribe(RUNTIME_CHANNEL, handler);
  };
}
