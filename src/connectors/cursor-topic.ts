/**
 * A source's cursor kept in a compacted Kafka topic: the latest committed value of one key. A
 * poller writes it in the same transaction as the records it covers, so the cursor read back after
 * a crash is exactly the one of the last records that became visible.
 */
import { randomBytes } from 'node:crypto';
import { StreamsError, toError } from '../errors/streams-error.ts';
import type { Transport } from '../transport/transport.ts';

/** Where a source stands: the last item it emitted, by the order the API sorts items in. */
export interface PollCursor {
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly id: string;
}

/**
 * What the cursor record holds: the cursor, and the ids of the latest items emitted without a
 * usable place in the order (an invalid item), so they are not emitted again after a restart.
 */
export interface CursorState {
  readonly cursor: PollCursor | undefined;
  /** Ids emitted at the cursor's timestamp (the API may order ids any way; these are dropped when served again). */
  readonly atCursor: readonly string[];
  readonly recent: readonly string[];
}

export function encodeCursor(state: CursorState): Buffer {
  const { cursor, atCursor, recent } = state;
  return Buffer.from(JSON.stringify({ ...(cursor === undefined ? {} : { timestamp: cursor.timestamp, id: cursor.id }), atCursor, recent }), 'utf8');
}

export function decodeCursor(data: Buffer | null): CursorState {
  if (data === null) return { cursor: undefined, atCursor: [], recent: [] };
  const parsed = JSON.parse(data.toString('utf8')) as { timestamp?: unknown; id?: unknown; recent?: unknown; atCursor?: unknown };
  const hasCursor = parsed.timestamp !== undefined || parsed.id !== undefined;
  if ((hasCursor && (typeof parsed.timestamp !== 'number' || typeof parsed.id !== 'string')) || (parsed.recent !== undefined && !Array.isArray(parsed.recent))) {
    throw new StreamsError(`cursor record ${data.toString('utf8').slice(0, 200)} is not { timestamp: number, id: string, recent: string[] }`, { code: 'DESERIALIZATION_FAILED' });
  }
  const strings = (value: unknown) => (Array.isArray(value) ? value : []).filter((id): id is string => typeof id === 'string');
  const cursor = hasCursor ? { timestamp: parsed.timestamp as number, id: parsed.id as string } : undefined;
  // A record without `atCursor` (older format) knows only the cursor's own id at its timestamp.
  const atCursor = parsed.atCursor === undefined && cursor !== undefined ? [cursor.id] : strings(parsed.atCursor);
  return { cursor, atCursor, recent: strings(parsed.recent) };
}

/** Creates the cursor topic (one partition, compacted) if it does not exist. */
export async function ensureCursorTopic(transport: Transport, topic: string): Promise<void> {
  const admin = transport.admin();
  await admin.connect();
  try {
    await admin.createTopics([{ topic, partitions: 1, config: { 'cleanup.policy': 'compact' } }]);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Reads the latest committed cursor of `key` (read_committed, up to the topic's end offset).
 * Call it after fencing the previous writer, so its open transaction is settled.
 */
export async function readCursor(transport: Transport, topic: string, key: string, timeoutMs = 60_000): Promise<CursorState> {
  return decodeCursor(await readLatestValue(transport, topic, key, timeoutMs));
}

/**
 * The latest committed value of `key` in a compacted topic (read_committed, up to the end
 * offsets), or null when the key has none; for cursors of other shapes than {@link CursorState}.
 */
export async function readLatestValue(transport: Transport, topic: string, key: string, timeoutMs = 60_000): Promise<Buffer | null> {
  const admin = transport.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = await admin.endOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if ([...ends.values()].every((end) => end === 0)) return null;
  const consumer = transport.consumer({ groupId: `${key}-cursor-reader-${randomBytes(4).toString('hex')}`, isolationLevel: 'read_committed' });
  let latest: Buffer | null | undefined;
  let failure: Error | undefined;
  const positions = new Map<number, number>();
  const caughtUp = () => [...ends].every(([partition, end]) => (positions.get(partition) ?? 0) >= end);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let wake: () => void = () => {};
    const done = new Promise<void>((resolve) => (wake = resolve));
    const advance = (partition: number, next: number) => {
      positions.set(partition, Math.max(next, positions.get(partition) ?? 0));
      if (caughtUp()) wake();
    };
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachBatch: async (batch) => {
        for (const record of batch.records) if (record.key?.toString('utf8') === key) latest = record.value;
        advance(batch.partition, batch.nextOffset);
      },
      onPosition: (tp, next) => advance(tp.partition, next),
      onStopped: (error) => {
        failure = error;
        wake();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (failure) throw failure;
    if (!caughtUp()) throw new StreamsError(`reading the cursor topic ${topic} did not reach its end offsets within ${timeoutMs} ms`, { code: 'TRANSPORT_FAILED', retriable: true });
  } catch (error) {
    throw error instanceof StreamsError ? error : new StreamsError(`reading the cursor topic ${topic} failed: ${toError(error).message}`, { code: 'TRANSPORT_FAILED', cause: error, retriable: true });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return latest ?? null;
}
