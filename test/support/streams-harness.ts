/**
 * Helpers for running topologies on a transport in tests: produce input, read output, wait for the
 * app to commit, all by waiting on events or data rather than sleeping.
 */
import { subscribeRuntimeEvents, type RuntimeEvent } from '../../src/runtime/instrumentation.ts';
import type { IncomingRecord, OutgoingRecord, Transport } from '../../src/transport/transport.ts';
import { uniqueName } from './names.ts';

export async function createTopics(transport: Transport, topics: ReadonlyArray<{ topic: string; partitions?: number }>): Promise<void> {
  const admin = transport.admin();
  await admin.connect();
  try {
    await admin.createTopics(topics);
  } finally {
    await admin.disconnect();
  }
}

export async function produce(transport: Transport, records: readonly OutgoingRecord[], batchSize = 500): Promise<void> {
  const producer = transport.producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += batchSize) await producer.send(records.slice(i, i + batchSize));
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads `topic` from the beginning with a fresh group until `done(records)` holds; fails after
 * `timeoutMs` saying how much arrived.
 */
export async function consumeUntil(
  transport: Transport,
  topic: string,
  done: (records: readonly IncomingRecord[]) => boolean,
  options: { timeoutMs?: number; isolationLevel?: 'read_committed' | 'read_uncommitted' } = {},
): Promise<IncomingRecord[]> {
  const records: IncomingRecord[] = [];
  const consumer = transport.consumer({ groupId: uniqueName('reader'), isolationLevel: options.isolationLevel ?? 'read_committed' });
  const timeoutMs = options.timeoutMs ?? 60_000;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${records.length} records from ${topic} in ${timeoutMs} ms; expected more`)), timeoutMs);
      const check = () => {
        if (done(records)) {
          clearTimeout(timer);
          resolve();
        }
      };
      check();
      consumer
        .run({
          eachBatch: async (batch) => {
            records.push(...batch.records);
            check();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

export function consumeCount(transport: Transport, topic: string, count: number, timeoutMs?: number): Promise<IncomingRecord[]> {
  return consumeUntil(transport, topic, (records) => records.length >= count, timeoutMs === undefined ? {} : { timeoutMs });
}

/** Resolves with the first runtime event that matches; rejects after `timeoutMs`. */
export function nextEvent<E extends RuntimeEvent>(match: (event: RuntimeEvent) => event is E, timeoutMs?: number, what?: string): Promise<E>;
export function nextEvent(match: (event: RuntimeEvent) => boolean, timeoutMs?: number, what?: string): Promise<RuntimeEvent>;
export function nextEvent(match: (event: RuntimeEvent) => boolean, timeoutMs = 60_000, what = 'event'): Promise<RuntimeEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = subscribeRuntimeEvents((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

/** Waits until the group's committed offsets reach the end of every partition of `topic`. */
export async function waitForCommitted(transport: Transport, groupId: string, topic: string, timeoutMs = 60_000): Promise<Map<number, number>> {
  const admin = transport.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ends = await admin.endOffsets(topic);
      const committed = await admin.committedOffsets(groupId, topic);
      if ([...ends].every(([partition, end]) => end === 0 || (committed.get(partition) ?? -1) >= end)) return committed;
      if (Date.now() > deadline) {
        throw new Error(`group ${groupId} committed ${JSON.stringify([...committed])} of ${topic}; end offsets ${JSON.stringify([...ends])}`);
      }
      // Commits are periodic; waiting for the next commit event keeps this from spinning.
      await nextEvent((event) => event.type === 'commit' && event.app === groupId, Math.max(1, Math.min(2_000, deadline - Date.now()))).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}
