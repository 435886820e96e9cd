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

/** Orders cursors by timestamp, then id (plain string order). */
export function compareCursors(a: PollCursor, b: PollCursor): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function encodeCursor(cursor: PollCursor): Buffer {
  return Buffer.from(JSON.stringify({ timestamp: cursor.timestamp, id: cursor.id }), 'utf8');
}

export function decodeCursor(data: Buffer | null): PollCursor | undefined {
  if (data === null) return undefined;
  const parsed = JSON.parse(data.toString('utf8')) as { timestamp?: unknown; id?: unknown };
  if (typeof parsed.timestamp !== 'number' || typeof parsed.id !== 'string') {
    throw new StreamsError(`cursor record ${data.toString('utf8').slice(0, 200)} is not { timestamp: number, id: string }`, { code: 'DESERIALIZATION_FAILED' });
  }
  return { timestamp: parsed.timestamp, id: parsed.id };
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
export async function readCursor(transport: Transport, topic: string, key: string, timeoutMs = 60_000): Promise<PollCursor | undefined> {
  const admin = transport.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    ends = await admin.endOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  if ([...ends.values()].every((end) => end === 0)) return undefined;
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
  return latest === undefined ? undefined : decodeCursor(latest);
}
