/**
 * A fix for kafkajs 2.2.4: a read_committed consumer can be handed records of ABORTED transactions.
 *
 * kafkajs filters aborted records with the fetch response's list of aborted transactions, assuming
 * it is sorted by first offset and activating at most one entry per record. The broker does not
 * sort it: with several transactional producers writing one partition (every exactly-once task
 * writing the same output topic does), an aborted transaction starting at offset 121 listed after
 * one starting at 143 is only noticed at 143, and its records in between are delivered as
 * committed. Found by a crash test: a record of a task killed mid-transaction showed up twice for
 * kafkajs readers while librdkafka (kcat, read_committed) saw it once.
 *
 * The fix filters as Kafka's Java consumer does: aborted transactions in first-offset order, every
 * one whose first offset has been reached is active, an abort marker ends its producer's. It runs
 * on the decoded fetch response: an aborted record is marked as a control record, which kafkajs
 * never delivers but still counts when it moves the consumer's position past it, and the list is
 * emptied so kafkajs' own filter does nothing. It wraps `decode` of kafkajs' internal Fetch
 * response modules (versions 4 to 11, those that carry aborted transactions); if a kafkajs release
 * changes that shape, nothing is patched and `installed()` says so (the transport logs a warning).
 */
import { createRequire } from 'node:module';

interface FetchMessage {
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}

interface FetchPartition {
  abortedTransactions?: Array<{ producerId: string; firstOffset: string }>;
  messages?: FetchMessage[];
}

interface FetchResponse {
  responses?: Array<{ partitions?: FetchPartition[] }>;
}

type ResponseModule = { decode?: (rawData: Buffer) => Promise<FetchResponse> };

/** The key of an abort marker: version 0, type 0 (a commit marker is type 1). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/**
 * Marks the records of aborted transactions in one partition's fetched messages as control records
 * (so kafkajs skips them) and empties the aborted list. Exported for tests.
 */
export function hideAbortedRecords(partition: FetchPartition): number {
  const aborted = partition.abortedTransactions;
  const messages = partition.messages;
  if (!aborted || aborted.length === 0 || !messages) return 0;
  const pending = [...aborted].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const active = new Set<string>();
  let hidden = 0;
  for (const message of messages) {
    while (pending.length > 0 && compareOffsets((pending[0] as { firstOffset: string }).firstOffset, message.offset) <= 0) {
      active.add((pending.shift() as { producerId: string }).producerId);
    }
    const producerId = message.batchContext?.producerId;
    if (producerId === undefined) continue;
    if (message.isControlRecord) {
      if (message.key && Buffer.from(message.key).equals(ABORT_MARKER_KEY)) active.delete(producerId);
      continue;
    }
    if (message.batchContext?.inTransaction && active.has(producerId)) {
      message.isControlRecord = true;
      hidden += 1;
    }
  }
  partition.abortedTransactions = [];
  return hidden;
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

let state: 'untried' | 'installed' | 'unavailable' = 'untried';

/** Patches kafkajs' Fetch responses once per process; returns whether the fix is in place. */
export function installAbortedFilterFix(): boolean {
  if (state !== 'untried') return state === 'installed';
  state = 'unavailable';
  try {
    const require = createRequire(import.meta.url);
    const modules: ResponseModule[] = [];
    for (let version = 4; version <= 11; version++) modules.push(require(`kafkajs/src/protocol/requests/fetch/v${version}/response.js`) as ResponseModule);
    if (modules.some((module) => typeof module.decode !== 'function')) return false;
    for (const module of modules) {
      const original = module.decode as (rawData: Buffer) => Promise<FetchResponse>;
      module.decode = async (rawData: Buffer) => {
        const response = await original(rawData);
        for (const topic of response.responses ?? []) for (const partition of topic.partitions ?? []) hideAbortedRecords(partition);
        return response;
      };
    }
    state = 'installed';
  } catch {
    state = 'unavailable';
  }
  return state === 'installed';
}
