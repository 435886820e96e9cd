/**
 * kafkajs, loaded with the transport's speed fixes in place. Every module of this folder takes
 * kafkajs' values from here (types may come from 'kafkajs' directly: they are erased), so the fixes
 * that must precede kafkajs' own loading always do.
 *
 * - Grouping a send's messages by partition: kafkajs copies a partition's array once per message
 *   (`[...current, message]`), quadratic in the size of one send; replaced by a linear grouping
 *   with the same result. kafkajs' producer captures the function when it loads, so it is swapped
 *   in the module cache before that, which only works if nothing loaded kafkajs earlier in the
 *   process.
 * - Produce requests (versions 3 to 7, uncompressed) are written by `produce-encoder.ts` in one
 *   pass; anything else (compression, unusual message shapes) keeps kafkajs' encoder.
 * - Fetched record batches (uncompressed) are read by `record-batch-decoder.ts` in place; kafkajs'
 *   decoder is captured by its Fetch response modules when they load, so it is swapped in the
 *   module cache before that, as the grouping is.
 *
 * `fastPaths()` says which fixes are in place; the transport warns when one is not.
 */
import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { encodable, encodeProduceRequest, type ProduceRequestBody, type ProduceTopic } from './produce-encoder.ts';
import { fastRecordBatchDecoder, type BatchDecoder } from './record-batch-decoder.ts';

const require = createRequire(import.meta.url);

interface Partitioned {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly unknown[];
  readonly partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: unknown }) => number;
}

/** kafkajs' grouping, in one pass: the messages of each partition in their order, keyed by partition. */
export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: Partitioned): Record<number, unknown[]> {
  const grouped: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

function installLinearGrouping(): boolean {
  try {
    const sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
    if (require.cache[sendMessages] !== undefined) return false;
    const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    require(path);
    const cached = require.cache[path];
    if (cached === undefined || typeof cached.exports !== 'function') return false;
    cached.exports = groupMessagesPerPartition;
    return true;
  } catch {
    return false;
  }
}

interface KafkaRequest {
  readonly apiVersion: number;
  encode(): Promise<{ readonly buf: Buffer }>;
}

interface ProduceArgs {
  readonly acks: number;
  readonly timeout: number;
  readonly compression?: number;
  readonly topicData: readonly ProduceTopic[];
  readonly transactionalId?: string | null;
  readonly producerId?: ProduceRequestBody['producerId'];
  readonly producerEpoch?: number;
}

type ProduceProtocol = (args: ProduceArgs) => { request: KafkaRequest; response: unknown };

/**
 * What kafkajs' `request.js` needs of an encoded body: an Encoder, which it recognises by a
 * Buffer in `buf` and copies from `buffer`.
 */
function asEncoder(buffer: Buffer): { buf: Buffer; offset: number; readonly buffer: Buffer; size(): number } {
  return { buf: buffer, offset: buffer.length, buffer, size: () => buffer.length };
}

function installFastEncoding(): boolean {
  try {
    const produce = require('kafkajs/src/protocol/requests/produce/index.js') as { protocol?: (options: { version: number }) => ProduceProtocol };
    const original = produce.protocol;
    if (typeof original !== 'function') return false;
    produce.protocol = ({ version }) => {
      const build = original({ version });
      if (version < 3 || version > 7) return build;
      return (args) => {
        const built = build(args);
        const body: ProduceRequestBody = {
          transactionalId: args.transactionalId ?? null,
          acks: args.acks,
          timeout: args.timeout,
          producerId: args.producerId ?? -1,
          producerEpoch: args.producerEpoch ?? 0,
          topicData: args.topicData,
        };
        if ((args.compression ?? 0) !== 0 || !encodable(body)) return built;
        const request = Object.create(built.request) as KafkaRequest;
        Object.assign(request, built.request, { encode: async () => asEncoder(encodeProduceRequest(body)) });
        return { ...built, request };
      };
    };
    return true;
  } catch {
    return false;
  }
}

/** kafkajs' own record batch decoder, as it was before the fast path went in front of it (for tests). */
export let originalRecordBatchDecoder: BatchDecoder | undefined;

function installFastDecoding(): boolean {
  try {
    const decodeMessages = require.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js');
    if (require.cache[decodeMessages] !== undefined) return false;
    const path = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
    require(path);
    const cached = require.cache[path];
    if (cached === undefined || typeof cached.exports !== 'function') return false;
    originalRecordBatchDecoder = cached.exports as BatchDecoder;
    cached.exports = fastRecordBatchDecoder(originalRecordBatchDecoder);
    return true;
  } catch {
    return false;
  }
}

const grouping = installLinearGrouping();
const decoding = installFastDecoding();
const kafkajs = require('kafkajs') as typeof KafkaJs;
const encoding = installFastEncoding();

/** Which of the speed fixes are in place in this process. */
export function fastPaths(): { readonly grouping: boolean; readonly encoding: boolean; readonly decoding: boolean } {
  return { grouping, encoding, decoding };
}

export const { Kafka, logLevel, PartitionAssigners, AssignerProtocol, ConfigResourceTypes } = kafkajs;
// The classes and enums are types too.
export type Kafka = KafkaJs.Kafka;
export type logLevel = KafkaJs.logLevel;
