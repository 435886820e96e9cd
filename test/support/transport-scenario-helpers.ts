/**
 * Helpers of the transport conformance scenarios (`test/conformance/transport-scenarios.ts`):
 * clients that disconnect when their test finishes, pass or fail, and ways to await conditions
 * with a deadline instead of sleeping.
 */
import { onTestFinished } from 'vitest';
import type {
  BatchContext,
  ConsumedBatch,
  ConsumerOptions,
  ConsumerRunOptions,
  IncomingRecord,
  OutgoingRecord,
  ProducerOptions,
  TopicPartition,
  TopicSpec,
  Transport,
  TransportAdmin,
  TransportConsumer,
  TransportProducer,
} from '../../src/transport/transport.ts';
import { uniqueName } from './names.ts';

/** Per awaited condition inside a scenario. */
export const CONDITION_TIMEOUT_MS = 20_000;
/** Short heartbeats so a real broker notices joins and leaves quickly (6 s is the broker's minimum session). */
export const FAST_GROUP: Partial<ConsumerOptions> = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000 };

export async function connectedAdmin(transport: Transport): Promise<TransportAdmin> {
  const admin = transport.admin();
  onTestFinished(() => admin.disconnect());
  await admin.connect();
  return admin;
}

export async function connectedProducer(transport: Transport, options?: ProducerOptions): Promise<TransportProducer> {
  const producer = transport.producer(options);
  onTestFinished(() => producer.disconnect());
  await producer.connect();
  return producer;
}

export async function connectedConsumer(transport: Transport, options: ConsumerOptions): Promise<TransportConsumer> {
  const consumer = transport.consumer({ ...FAST_GROUP, ...options });
  onTestFinished(() => consumer.disconnect());
  await consumer.connect();
  return consumer;
}

export async function createTopic(admin: TransportAdmin, spec: TopicSpec): Promise<string> {
  await admin.createTopics([spec]);
  return spec.topic;
}

/** A group member that commits each batch before recording it, and notes its rebalance callbacks. */
export async function startMember(transport: Transport, groupId: string, topic: string) {
  const consumer = await connectedConsumer(transport, { groupId });
  const seen = new Collector();
  const assigned: TopicPartition[] = [];
  const revoked: TopicPartition[] = [];
  const options: ConsumerRunOptions = {
    eachBatch: async (batch, context) => {
      const last = batch.records[batch.records.length - 1];
      if (last !== undefined) await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1 }]);
      await seen.handler()(batch, context);
    },
    onAssigned: (partitions) => {
      assigned.push(...partitions);
    },
    onRevoked: (partitions) => {
      revoked.push(...partitions);
    },
  };
  await consumer.subscribe({ topics: [topic] });
  await consumer.run(options);
  return { consumer, seen, assigned, revoked };
}

/** A fresh group reading the whole topic with the given isolation level. */
export async function readAll(transport: Transport, topic: string, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<Collector> {
  const consumer = await connectedConsumer(transport, { groupId: uniqueName('conf-reader'), isolationLevel });
  const seen = new Collector();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({ eachBatch: seen.handler() });
  return seen;
}

/** Gathers what a consumer delivers and lets a test await a condition on it, event-driven. */
export class Collector {
  readonly records: IncomingRecord[] = [];
  readonly batches: ConsumedBatch[] = [];
  private readonly waiters = new Set<() => void>();

  handler(): (batch: ConsumedBatch, context: BatchContext) => Promise<void> {
    return async (batch) => {
      this.batches.push(batch);
      this.records.push(...batch.records);
      for (const waiter of this.waiters) waiter();
    };
  }

  /** Resolves once `done(records)` holds; rejects after the deadline saying what was awaited and what arrived. */
  until(done: (records: readonly IncomingRecord[]) => boolean, what: string, timeoutMs = CONDITION_TIMEOUT_MS): Promise<void> {
    if (done(this.records)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done(this.records)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.records.length} records arrived`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }
}

/**
 * Re-evaluates `probe` until `done` holds, for state with no event to await (assignments, admin
 * reads). The pause between probes only spaces the polls; the deadline is what bounds the wait.
 */
export async function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = CONDITION_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${describeValue(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function withDeadline<T>(promise: Promise<T>, what: string, timeoutMs = CONDITION_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to reject, but it resolved');
}

export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function text(topic: string, key: string, value: string): OutgoingRecord {
  return { topic, key: Buffer.from(key), value: Buffer.from(value) };
}

/** `count` records `<prefix>-0..` to one partition, keyed by their value. */
export function recordsTo(topic: string, partition: number, prefix: string, count: number): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({ ...text(topic, `${prefix}-${i}`, `${prefix}-${i}`), partition }));
}

export function str(bytes: Buffer | null): string {
  return bytes === null ? '<null>' : bytes.toString('utf8');
}

export function values(records: readonly IncomingRecord[]): string[] {
  return records.map((r) => str(r.value));
}

export function groupBy<K>(records: readonly IncomingRecord[], keyOf: (record: IncomingRecord) => K): Map<K, IncomingRecord[]> {
  const groups = new Map<K, IncomingRecord[]>();
  for (const record of records) {
    const key = keyOf(record);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [record]);
    else group.push(record);
  }
  return groups;
}

export function firstOffsetByPartition(records: readonly IncomingRecord[]): Map<number, number> {
  const first = new Map<number, number>();
  for (const record of records) if (!first.has(record.partition)) first.set(record.partition, record.offset);
  return first;
}

export function partitionsOf(tps: readonly TopicPartition[]): number[] {
  return [...new Set(tps.map((tp) => tp.partition))].sort((x, y) => x - y);
}

export function intersect(a: readonly number[], b: readonly number[]): number[] {
  return a.filter((x) => b.includes(x));
}

export function sameSet(actual: readonly number[], expected: readonly number[]): boolean {
  const set = new Set(actual);
  return set.size === expected.length && expected.every((x) => set.has(x));
}

export function describeValue(value: unknown): string {
  if (value instanceof Map) return JSON.stringify([...value.entries()]);
  if (value instanceof Set) return JSON.stringify([...value].slice(0, 20));
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
