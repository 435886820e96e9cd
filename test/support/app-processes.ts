/**
 * Helpers for fault tests that run stream-processing apps as child processes against a real
 * broker: start a worker and wait until it runs, feed input continuously, and count every id that
 * reaches a read_committed output (to prove "none lost, none twice").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { KafkaTransport } from '../../src/transport/kafka/index.ts';
import type { IncomingRecord, OutgoingRecord, TransportConsumer } from '../../src/transport/transport.ts';
import { uniqueName } from './names.ts';

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves when the worker printed RUNNING; rejects (with its stderr) if it exits first. */
  readonly running: Promise<void>;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/** Starts `worker` (a TypeScript file run with tsx) with `env` added to this process's environment. */
export function startWorker(worker: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', worker], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('RUNNING')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before it ran: ${stderr.slice(-2_000)}`)));
  });
  return { child, running, exited, stderr: () => stderr };
}

/** Waits for a condition about child processes or the log; `what` explains a timeout. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const idOf = (record: IncomingRecord) => (JSON.parse(record.value?.toString() ?? '{}') as { id: number }).id;

export interface ContinuousInputOptions {
  /** Records per send; default 8. */
  readonly batch?: number;
  /** Keys `k0` .. `k<keys - 1>` of the default records; default 37. */
  readonly keys?: number;
  /** Pause between sends; default 20 ms. */
  readonly intervalMs?: number;
  /** Stop by itself once ids 0 .. limit - 1 are written; default: run until stopped. */
  readonly limit?: number;
  /** The record of one id; default `{ key: k<id % keys>, value: { id } }`. Its value must carry `id` for `outputReader`. */
  readonly record?: (id: number) => OutgoingRecord;
}

/** Writes ids 0, 1, 2, ... to `topic` in small batches until stopped (or until `limit`). */
export function continuousInput(transport: KafkaTransport, topic: string, options: ContinuousInputOptions = {}) {
  const batch = options.batch ?? 8;
  const keys = options.keys ?? 37;
  const intervalMs = options.intervalMs ?? 20;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const record = options.record ?? ((id: number): OutgoingRecord => ({ topic, key: Buffer.from(`k${id % keys}`), value: Buffer.from(JSON.stringify({ id })) }));
  let next = 0;
  let stopped = false;
  const producer = transport.producer();
  const done = (async () => {
    await producer.connect();
    while (!stopped && next < limit) {
      const ids = Array.from({ length: Math.min(batch, limit - next) }, () => next++);
      await producer.send(ids.map(record));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await producer.disconnect();
  })();
  return {
    /** Ids written so far are all below this. */
    written: () => next,
    /** Resolves once `limit` ids are written (or after `stop()`). */
    finished: done,
    stop: async () => {
      stopped = true;
      await done;
      return next;
    },
  };
}

/**
 * Reads `topic` read_committed from the beginning for the whole test, counting every id in the
 * topic. A record is counted once per offset: kafkajs delivers a batch again after some heartbeat
 * or fetch errors, which is this reader's repeat, not a duplicate in the topic.
 */
export async function outputReader(transport: KafkaTransport, topic: string) {
  const counts = new Map<number, number>();
  const seen = new Set<string>();
  let redelivered = 0;
  let lastArrival = Date.now();
  const consumer: TransportConsumer = transport.consumer({ groupId: uniqueName('output-reader'), isolationLevel: 'read_committed' });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const record of batch.records) {
        const at = `${record.partition}:${record.offset}`;
        if (seen.has(at)) {
          redelivered += 1;
          continue;
        }
        seen.add(at);
        counts.set(idOf(record), (counts.get(idOf(record)) ?? 0) + 1);
      }
      lastArrival = Date.now();
    },
  });
  return {
    counts,
    hasAllBelow: (end: number) => {
      for (let id = 0; id < end; id++) if (!counts.has(id)) return false;
      return true;
    },
    quietFor: (ms: number) => Date.now() - lastArrival >= ms,
    /** Records this reader was handed again at an offset it had already read. */
    redelivered: () => redelivered,
    close: () => consumer.disconnect(),
  };
}
