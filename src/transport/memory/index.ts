/**
 * The in-memory transport: an in-process Kafka for the embedded run and the test driver, held to
 * the same conformance suite as the kafka transport (`test/conformance/transport-scenarios.ts`).
 *
 * ```ts
 * const broker = new MemoryBroker({ defaultPartitions: 4 });
 * const instanceA = new MemoryTransport({ broker }); // two app instances,
 * const instanceB = new MemoryTransport({ broker }); // one log and one set of groups
 * broker.append({ topic: 'ratings', key: Buffer.from('r1'), value: Buffer.from('{}') }); // synchronous core
 * ```
 *
 * Where it knowingly differs from a Kafka broker reached through kafkajs:
 * - Rebalances are incremental: only partitions that move are revoked (kafkajs's eager protocol
 *   revokes everything). A loser's in-flight batches settle and its `onRevoked` runs before the
 *   winner's `onAssigned`, always; `rebalanceTimeoutMs` bounds the wait.
 * - A member's commit is checked as Kafka's classic coordinator checks it (member of the group,
 *   partition exists; not who owns it), but a missing partition is refused at once, where kafkajs
 *   retries for seconds before giving up.
 * - Session timeouts are modelled (a batch silent for longer than `sessionTimeoutMs` gets its member
 *   evicted), but Kafka's minimum session (`group.min.session.timeout.ms`, 6 s) is not enforced, and
 *   an evicted member's `isRunning()` turns false at once (kafkajs tells it on its next heartbeat).
 * - A rejected `eachBatch` is delivered again from its first offset after `retryBackoffMs`,
 *   doubling per failure (kafkajs retries from the last resolved offset, then restarts).
 * - `disconnect` aborts a producer's open transaction at once (Kafka waits for the transaction
 *   timeout); a fenced producer's plain `send` is refused too (kafkajs lets it through).
 * - Producers and consumers never create topics (the kafka transport disables auto-creation); a
 *   send waits up to `missingTopicWaitMs` for a missing topic, as kafkajs' metadata retries do.
 *   `MemoryBroker.append` still creates topics on first use: that is the test driver's API.
 * - A send is cut into requests below `maxRequestBytes` where the kafka producer cuts it, and a
 *   record too large for any request fails with RECORD_TOO_LARGE before anything is written. Within
 *   a request, a partition's record batch over `max.message.bytes` (topic) or `messageMaxBytes`
 *   (broker) is refused as the broker's MESSAGE_TOO_LARGE (RECORD_TOO_LARGE, as the kafka transport
 *   maps it), its size computed as kafkajs encodes it, uncompressed; one with keyless records on a
 *   compacted topic with INVALID_RECORD. As on Kafka, the other partitions of that request are
 *   written.
 * - Compaction runs only when `compact(topic)` is called, and drops tombstones at once.
 * - Like Kafka, transaction markers take offsets and compaction leaves gaps: never assume dense offsets.
 */
export { MemoryTransport, type MemoryTransportOptions } from './memory-transport.ts';
export { MemoryBroker, type AppendResult, type MemoryBrokerOptions, type RecordPosition, type TopicCreatedListener, type TopicListener } from './memory-broker.ts';
export type { FetchOptions, FetchResult, IsolationLevel } from './partition-log.ts';
export type { MemoryErrorContext, MemoryErrorReporter } from './error-reporter.ts';
export { murmur2, partitionForKey, toPositive } from '../murmur2.ts';
